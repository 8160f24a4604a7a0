"""Model files through trajml.store: each model type round-trips in a fresh interpreter that has not
imported the model's module, and files written before trajml.models was split load unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trajml.store import MODEL_TYPES, load_model, model_class, save_model

DATA = Path(__file__).parent / "data"

#: Model type -> the module that defines it (where a file's type is looked up by name).
HOMES = {
    "CovarianceModel": "trajml.kinetics.koopman",
    "MSMModel": "trajml.kinetics.msm",
    "ProjectionModel": "trajml.kinetics.tica",
    "TICAMSMModel": "trajml.kinetics.tica",
    "VAMPNetModel": "trajml.kinetics.deep.models",
    "GraphVAMPNetModel": "trajml.kinetics.deep.models",
    "FESModel": "trajml.fes.model",
    "MultitaskModel": "trajml.extrapolation.deep.model",
}

CHILD = """
import sys
import trajml.store
assert {module!r} not in sys.modules, "the model's module was imported before the file was read"
model = trajml.store.load_model({src!r})
assert (type(model).__module__, type(model).__name__) == ({module!r}, {name!r}), type(model)
trajml.store.save_model(model, {dst!r})
"""


def _contents(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as f:
        return json.loads(str(f["__header__"])), {k: np.array(f[k]) for k in f.files if k != "__header__"}


def _assert_same_file(a: Path, b: Path) -> None:
    (ha, aa), (hb, ab) = _contents(a), _contents(b)
    assert ha == hb
    assert sorted(aa) == sorted(ab)
    for k in aa:
        np.testing.assert_array_equal(aa[k], ab[k], err_msg=k)


def _round_trip_in_fresh_interpreter(src: Path, dst: Path, name: str) -> None:
    code = CHILD.format(module=HOMES[name], name=name, src=str(src), dst=str(dst))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    _assert_same_file(src, dst)


# ----------------------------------------------------------------------------------------------
# one small fitted model of each type
# ----------------------------------------------------------------------------------------------

def _trajs() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [np.cumsum(rng.normal(size=(120, 3)), axis=0) * 0.1 for _ in range(2)]


def _covariance():
    from trajml.kinetics import TimeLaggedCovariance

    return TimeLaggedCovariance(2).fit(_trajs()).fetch_model()


def _msm():
    from trajml.kinetics import MarkovModel

    rng = np.random.default_rng(1)
    return MarkovModel(lag=1, dt_ps=2.0).fit([rng.integers(0, 3, size=100) for _ in range(2)]).fetch_model()


def _projection():
    from trajml.kinetics import KineticProjection

    return KineticProjection(lag=2, dim=2).fit(_trajs()).fetch_model()


def _tica_msm():
    from trajml.kinetics import TICAMarkovModel

    return TICAMarkovModel(lag=1, n_clusters=3, dt_ps=2.0, seed=0).fit(_trajs()).fetch_model()


def _fes():
    from trajml.fes import HistogramFES

    return HistogramFES(bins=(6, 5)).fit(np.random.default_rng(2).normal(size=(500, 2))).fetch_model()


def _vampnet():
    pytest.importorskip("torch")
    from trajml.kinetics.deep import VAMPNet

    return VAMPNet(2, hidden=(4,), lag=1, epochs=1, batch_size=32, validation_fraction=0.0, seed=0).fit(
        _trajs()).fetch_model()


def _graph_vampnet(tmp_path: Path):
    pytest.importorskip("torch")
    pytest.importorskip("torch_geometric")
    from trajml.data import sample_topology, sample_trajectory
    from trajml.io import open_source
    from trajml.kinetics.deep import GraphVAMPNet
    from trajml.store import GraphDataset

    source = open_source(sample_topology(), sample_trajectory())
    graphs = GraphDataset.from_source(source, tmp_path / "graphs", "name Li", r_max=6.0, max_neighbors=4, stop=12)
    return GraphVAMPNet(2, lag=2, dim=4, n_conv=1, n_gaussians=4, epochs=1, batch_size=4, validation_fraction=0.0,
                        seed=0).fit(graphs).fetch_model()


def _multitask():
    pytest.importorskip("torch")
    pytest.importorskip("torch_geometric")
    from trajml.extrapolation import ExtrapolationTable
    from trajml.extrapolation.deep import MultitaskExtrapolator

    rng = np.random.default_rng(3)
    n = 12
    table = ExtrapolationTable(ids=tuple(f"s{k}" for k in range(n)),
                               graphs=tuple(("A", "B") if k % 2 else ("A", "B", "B") for k in range(n)),
                               graph_kind="cg", feature_names=("T",), features=rng.uniform(300, 400, size=(n, 1)),
                               tasks=("log10_D_Li",), low=rng.normal(size=(n, 1)), high=rng.normal(size=(n, 1)))
    return MultitaskExtrapolator(hidden=8, n_layers=1, epochs=2, batch_size=4, n_models=1, correction_prior=10.0,
                                 validation_fraction=0.0, patience=None, seed=0).fit(table).fetch_model()


BUILDERS = {"CovarianceModel": _covariance, "MSMModel": _msm, "ProjectionModel": _projection,
            "TICAMSMModel": _tica_msm, "FESModel": _fes, "VAMPNetModel": _vampnet,
            "GraphVAMPNetModel": _graph_vampnet, "MultitaskModel": _multitask}


def test_every_builtin_model_type_is_registered_with_its_home():
    assert {k: v.partition(":")[0] for k, v in MODEL_TYPES.items() if k in HOMES} == HOMES
    assert set(BUILDERS) == set(HOMES)


@pytest.mark.parametrize("name", sorted(HOMES))
def test_model_file_round_trips_before_its_module_is_imported(name, tmp_path):
    build = BUILDERS[name]
    model = build(tmp_path) if name == "GraphVAMPNetModel" else build()
    assert type(model) is model_class(name) and type(model).__module__ == HOMES[name]
    src, dst = tmp_path / "model.npz", tmp_path / "again.npz"
    save_model(model, src)
    _round_trip_in_fresh_interpreter(src, dst, name)


@pytest.mark.parametrize("path", sorted(DATA.glob("*.npz")), ids=lambda p: p.stem)
def test_files_written_before_the_split_load_and_write_back_unchanged(path, tmp_path):
    if path.stem == "VAMPNetModel":
        pytest.importorskip("torch")
    _round_trip_in_fresh_interpreter(path, tmp_path / "again.npz", path.stem)
    model = load_model(path)
    assert type(model).__name__ == path.stem


def test_store_imports_no_model_and_refuses_unknown_types(tmp_path):
    code = ("import sys, trajml.store as s; s.load_model, s.save_model, s.GraphDataset, s.save_fes, s.ResultStore; "
            "print(sorted(m for m in sys.modules if m.split('.')[:2] in (['trajml', 'kinetics'], ['trajml', 'fes'], "
            "['trajml', 'extrapolation']) or m.split('.')[0] in ('torch', 'matplotlib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
    with pytest.raises(TypeError, match=r"'model' parameter of save_model must be one of \['CovarianceModel', "):
        save_model(object(), tmp_path / "x.npz")


def test_a_new_model_class_registers_itself_and_loads(tmp_path, monkeypatch):
    from dataclasses import dataclass

    import trajml.store.models as files
    from trajml.results import Results
    from trajml.store import StoredModel

    for table in ("MODEL_TYPES", "_CLASSES", "_OWN_FILE", "_PARTS"):  # register into copies, left behind here
        monkeypatch.setattr(files, table, type(getattr(files, table))(getattr(files, table)))

    @dataclass(frozen=True, eq=False, kw_only=True)
    class ToyStoredModel(Results, StoredModel):
        weights: np.ndarray
        scale: float

    model = ToyStoredModel(weights=np.arange(3.0), scale=2.0, units={"weights": ""})
    save_model(model, tmp_path / "toy.npz")
    back = load_model(tmp_path / "toy.npz", expected=ToyStoredModel)
    assert type(back) is ToyStoredModel and back.scale == 2.0
    np.testing.assert_array_equal(back.weights, model.weights)
    with pytest.raises(ValueError, match="already registered"):
        type("ToyStoredModel", (StoredModel,), {})
