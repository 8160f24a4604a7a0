"""The estimator contract, over every estimator trajml defines: discovered, not listed.

Every module of the ``trajml`` package is imported (``pkgutil``), and every concrete
:class:`~trajml.base.Estimator` recorded in :func:`trajml.base.registered` is checked, the way
deeptime and scikit-learn do it:

- ``fit(data)`` returns ``self`` and leaves ``data`` as it was;
- ``fetch_model()`` is pure (two calls give the same model), the model pickles, and fitting again
  replaces the fit without touching a model fetched before;
- ``fetch_model()`` before ``fit`` raises :class:`~trajml.errors.NotFittedError`;
- every declared parameter given a value outside its declaration raises
  :class:`~trajml.errors.InvalidParameterError` reading ``The '<name>' parameter of <Class> must be ...``;
- ``type(est)(**est.get_params())`` gives the same parameters, and ``repr`` is one short line.

Data come from one small generator per *kind* of input, not per class: each estimator states the
kind it fits in ``_fit_input`` and a quick, valid parameter set in ``_quick`` (few epochs, few
trees), next to its ``_parameters``. A new estimator without them fails here with a message saying
what to add.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from typing import Any, Callable

import numpy as np
import pytest

from tests.contracts._discover import MODULES, bad_values, equal
from trajml.base import Estimator, registered
from trajml.errors import InvalidParameterError, NotFittedError

# ----------------------------------------------------------------------------------------------------------------
# discovery
# ----------------------------------------------------------------------------------------------------------------

def _estimators() -> dict[str, type]:
    out = {}
    for qualname, cls in registered(Estimator).items():
        module = cls.__module__
        if cls is Estimator or not module.startswith("trajml.") or module.startswith("trajml.models"):
            continue
        out[qualname] = cls
    return dict(sorted(out.items()))


ESTIMATORS = _estimators()


def _declared(cls: type, name: str) -> Any:
    return getattr(cls, name, None)


def _quick(cls: type) -> dict[str, Any]:
    return dict(_declared(cls, "_quick") or {})


def _cases() -> list[Any]:
    return [pytest.param(cls, id=name.rsplit(".", 1)[-1]) for name, cls in ESTIMATORS.items()]


# ----------------------------------------------------------------------------------------------------------------
# one small, seeded input per kind
# ----------------------------------------------------------------------------------------------------------------

def _dtrajs(seed: int, workdir: str) -> list[np.ndarray]:
    """Two trajectories of a 3-state chain that stays put with probability 0.9."""
    rng = np.random.default_rng(seed)
    t = np.array([[0.9, 0.08, 0.02], [0.05, 0.9, 0.05], [0.02, 0.08, 0.9]])
    out = []
    for _ in range(2):
        s, traj = 0, []
        for u in rng.random(400):
            s = int(np.searchsorted(np.cumsum(t[s]), u))
            traj.append(min(s, 2))
        out.append(np.array(traj, dtype=np.int64))
    return out


def _features(seed: int, workdir: str) -> list[np.ndarray]:
    """Three trajectories of 2 features: a slowly switching two-state signal plus noise."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(3):
        state = np.cumsum(rng.random(200) < 0.05) % 2
        out.append(np.c_[2.0 * state, 0.5 * state] + rng.normal(size=(200, 2)))
    return out


def _cvs(seed: int, workdir: str) -> np.ndarray:
    """2000 samples of two CVs from two Gaussian basins."""
    rng = np.random.default_rng(seed)
    basin = rng.random(2000) < 0.4
    return np.where(basin[:, None], [-1.0, 0.5], [1.0, -0.5]) + 0.4 * rng.normal(size=(2000, 2))


def _msd(seed: int, workdir: str) -> Any:
    """A Brownian MSD (6 D t, D = 0.01 Å²/ps) of 20 particles over 100 lags of 1 ps."""
    from trajml.transport import MSDResults

    rng = np.random.default_rng(seed)
    lag = np.arange(101, dtype=np.float64)
    d = 0.01 * (1.0 + 0.1 * rng.normal(size=20))
    per = 6.0 * d[:, None] * lag[None, :] * (1.0 + 0.02 * rng.normal(size=(20, 101)))
    per[:, 0] = 0.0
    return MSDResults(lag_ps=lag, msd_A2=per.mean(0), msd_per_particle_A2=per, particle_ids=np.arange(20),
                      n_particles=20, n_frames=201, dt_ps=1.0, selection="name Li",
                      units={"lag_ps": "ps", "msd_A2": "Å^2"})


def _table(seed: int, workdir: str) -> Any:
    """24 coarse-grained systems of 6 chemistries, two tasks, every row with a short run, half with a long run."""
    from trajml.extrapolation import ExtrapolationTable

    rng = np.random.default_rng(seed)
    units = [("C", "O"), ("C", "C", "O"), ("C", "O", "O"), ("C", "C", "C", "O"), ("C", "N"), ("C", "C", "N")]
    n = 24
    graphs = tuple(units[i % len(units)] for i in range(n))
    temperature = rng.uniform(300.0, 400.0, size=n)
    frac_o = np.array([g.count("O") / len(g) for g in graphs])
    truth = np.c_[-3.0 + 2.0 * frac_o + 0.004 * (temperature - 350.0), -2.0 + frac_o]
    low = truth + 0.3 + 0.05 * rng.normal(size=truth.shape)
    high = np.where((np.arange(n) % 2 == 0)[:, None], truth + 0.02 * rng.normal(size=truth.shape), np.nan)
    return ExtrapolationTable(tuple(f"s{i}" for i in range(n)), graphs, "cg", ("temperature",), temperature[:, None],
                              ("log10_sigma", "log10_D_Li"), low, high)


def _graphs(seed: int, workdir: str) -> Any:
    """Neighbour graphs of the bundled sample: 24 frames (seed 0: frames 0-23, seed 1: frames 24-47)."""
    from trajml.data import sample_topology, sample_trajectory
    from trajml.io import open_source
    from trajml.store.graphs import GraphDataset

    src = open_source(sample_topology(), sample_trajectory())
    return GraphDataset.from_source(src, os.path.join(workdir, f"graphs{seed}"), "name Li", r_max=6.0,
                                    max_neighbors=6, start=24 * seed, stop=24 * (seed + 1))


#: One generator per kind of input: ``generator(seed, workdir)``; seeds 0 and 1 give different data.
INPUTS: dict[str, Callable[[int, str], Any]] = {
    "dtrajs": _dtrajs, "features": _features, "cvs": _cvs, "msd": _msd, "table": _table, "graphs": _graphs,
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("estimator-inputs"))


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------

def _snapshot(data: Any) -> bytes:
    """Bytes that change when ``data`` changes: its pickle, plus the files of an on-disk dataset."""
    digest = hashlib.sha1(pickle.dumps(data))
    directory = getattr(data, "directory", None)
    if isinstance(directory, (str, os.PathLike)) and os.path.isdir(directory):
        for root, _, files in sorted(os.walk(directory)):
            for f in sorted(files):
                with open(os.path.join(root, f), "rb") as fh:
                    digest.update(f.encode() + fh.read())
    return digest.digest()


def _missing_input(cls: type) -> str:
    return (f"{cls.__module__}.{cls.__name__} declares no '_fit_input': add `_fit_input: ClassVar[str] = \"<kind>\"` "
            f"(one of {sorted(INPUTS)}, or a new kind with a generator in tests/contracts/test_estimators.py::INPUTS) "
            "and `_quick: ClassVar[dict] = {...}` (small but valid parameters: few epochs, few trees) next to its "
            "_parameters, so the estimator contract suite can fit it.")


def _fit(cls: type, seed: int, workdir: str) -> tuple[Any, Any]:
    kind = _declared(cls, "_fit_input")
    if kind not in INPUTS:
        pytest.fail(_missing_input(cls) if kind is None else f"{cls.__name__}._fit_input = {kind!r} has no generator")
    return cls(**_quick(cls)), INPUTS[kind](seed, workdir)


# ----------------------------------------------------------------------------------------------------------------
# the contract
# ----------------------------------------------------------------------------------------------------------------

def test_the_walk_finds_the_estimators():
    assert len(MODULES) > 50
    found = {c.__name__ for c in ESTIMATORS.values()}
    assert {"MarkovModel", "HistogramFES", "VAMPNet", "MultitaskExtrapolator"} <= found


@pytest.mark.parametrize("cls", _cases())
def test_declares_its_input_and_a_quick_parameter_set(cls):
    name = cls.__name__
    kind = _declared(cls, "_fit_input")
    assert kind is not None, _missing_input(cls)
    assert kind in INPUTS, (f"{name}._fit_input = {kind!r} has no generator; known kinds: {sorted(INPUTS)}. Add one "
                            "to INPUTS in tests/contracts/test_estimators.py.")
    declared = cls.parameters()
    quick = _quick(cls)
    unknown = set(quick) - set(declared)
    assert not unknown, f"{name}._quick names undeclared parameters {sorted(unknown)}"
    missing = [n for n, p in declared.items() if p.required and n not in quick]
    assert not missing, f"{name}._quick must give its required parameters {missing}"
    cls.validate_params(quick)


@pytest.mark.parametrize("cls", _cases())
def test_fit_returns_self_and_fetch_model_is_pure(cls, workdir):
    est, data = _fit(cls, 0, workdir)
    before = _snapshot(data)
    assert est.fit(data) is est, f"{cls.__name__}.fit must return self"
    assert _snapshot(data) == before, f"{cls.__name__}.fit modified its input"
    first = est.fetch_model()
    again = est.fetch_model()
    assert again is first or pickle.dumps(again) == pickle.dumps(first), f"{cls.__name__}.fetch_model is not pure"
    frozen = pickle.dumps(first)
    back = pickle.loads(frozen)
    assert type(back) is type(first)

    _, other = _fit(cls, 1, workdir)
    assert est.fit(other) is est
    assert est.fetch_model() is not first, f"{cls.__name__}.fit did not replace the earlier fit"
    assert pickle.dumps(first) == frozen, f"fitting {cls.__name__} again changed a model fetched before"


@pytest.mark.parametrize("cls", _cases())
def test_fetch_model_before_fit_raises_not_fitted(cls):
    est = cls(**_quick(cls))
    with pytest.raises(NotFittedError, match="fit"):
        est.fetch_model()


@pytest.mark.parametrize("cls", _cases())
def test_every_parameter_refuses_a_value_outside_its_declaration(cls):
    quick = _quick(cls)
    checked = 0
    for name, p in cls.parameters().items():
        for bad in bad_values(p):
            with pytest.raises(InvalidParameterError) as info:
                cls(**{**quick, name: bad})
            head = f"The '{name}' parameter of {cls.__name__} must be "
            assert str(info.value).startswith(head), f"{cls.__name__}({name}={bad!r}): {info.value}"
            assert info.value.parameter == name
            checked += 1
    assert checked or not cls.parameters()


@pytest.mark.parametrize("cls", _cases())
def test_get_params_round_trips_and_repr_is_short(cls):
    est = cls(**_quick(cls))
    params = est.get_params()
    assert list(params) == list(cls.parameters())
    again = type(est)(**params).get_params()
    assert equal(again, params), f"{cls.__name__}(**get_params()) changed the parameters: {again} != {params}"
    text = repr(est)
    assert text.startswith(cls.__name__ + "(") and len(text) < 200 and "\n" not in text, text
