"""The analysis contract, over every featurizer and particle analysis trajml defines: discovered, not listed.

Every module of the ``trajml`` package is imported (see :mod:`tests.contracts.test_estimators`), and
every concrete :class:`~trajml.features.base.Featurizer` and :class:`~trajml.parallel.analysis.ParticleAnalysis`
recorded in :func:`trajml.base.registered` is run on the bundled sample through the one engine,
:func:`trajml.parallel.run`, and checked:

- one chunk equals many chunks merged (``chunk_size=1000`` against ``chunk_size=7``, ``to_dict()`` exactly);
- the serial scheduler equals two worker processes;
- the inputs are left as they were (the chunk a featurizer updates with, the files of the source);
- results pickle;
- every declared parameter given a value outside its declaration raises
  :class:`~trajml.errors.InvalidParameterError` reading ``The '<name>' parameter of <Class> must be ...``.

Each class gives quick constructor arguments for the sample in ``_example: ClassVar[dict]``.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any

import numpy as np
import pytest

from tests.contracts._discover import MODULES, bad_values, equal
from trajml.base import registered
from trajml.errors import InvalidParameterError
from trajml.features.base import Featurizer
from trajml.parallel import run
from trajml.parallel.analysis import ParticleAnalysis

#: Frames of the sample every analysis runs over (a fit window of a time correlation fits in them).
STOP = 40

#: Known breaches of the contract, with the reason; the test is an xfail(strict) until the class is fixed.
KNOWN: dict[tuple[str, str], str] = {}


def _analyses() -> dict[str, type]:
    out = {}
    for kind in (Featurizer, ParticleAnalysis):
        for qualname, cls in registered(kind).items():
            module = cls.__module__
            if cls in (Featurizer, ParticleAnalysis) or not module.startswith("trajml.") \
                    or module.startswith("trajml.models"):
                continue
            out[qualname] = cls
    return dict(sorted(out.items()))


ANALYSES = _analyses()


def _cases() -> list[Any]:
    return [pytest.param(cls, id=name.rsplit(".", 1)[-1]) for name, cls in ANALYSES.items()]


def _example(cls: type) -> dict[str, Any]:
    if "_example" in vars(cls):
        return dict(cls._example)
    pytest.fail(f"{cls.__module__}.{cls.__name__} gives no example: add `_example: ClassVar[dict] = {{...}}` "
                    "(quick constructor arguments for the bundled sample, trajml.data) next to its _parameters, so "
                "the analysis contract suite can run it.")


def _holds(cls: type, check: str, ok: bool, message: str) -> None:
    """Assert ``ok``; a breach listed in :data:`KNOWN` is an xfail, and a listed breach that is fixed fails."""
    reason = KNOWN.get((cls.__name__, check))
    if reason and not ok:
        pytest.xfail(reason)
    assert not reason, f"{cls.__name__} now keeps the '{check}' contract: remove it from KNOWN"
    assert ok, message


def _same(a: Any, b: Any) -> bool:
    return equal(a.to_dict(), b.to_dict()) and a.units == b.units


@pytest.fixture(scope="module")
def source():
    from trajml.data import sample_topology, sample_trajectory
    from trajml.io import open_source

    src = open_source(sample_topology(), sample_trajectory())
    src._contract_files = _files()  # what the files held before any analysis ran
    return src


@pytest.fixture(scope="module")
def whole(source):
    """Each analysis' result in one chunk, serially (computed once per class)."""
    cache: dict[type, Any] = {}

    def get(cls: type) -> Any:
        if cls not in cache:
            cache[cls] = run(cls(**_example(cls)), source, chunk_size=1000, stop=STOP, progress=False)
        return cache[cls]
    return get


def _files() -> bytes:
    """A digest of the sample's files (the source reads them; nothing may write them)."""
    from trajml.data import sample_topology, sample_trajectory

    digest = hashlib.sha1()
    for path in (sample_topology(), sample_trajectory()):
        with open(path, "rb") as fh:
            digest.update(fh.read())
    return digest.digest()


def test_the_walk_finds_the_analyses():
    assert len(MODULES) > 50
    assert {"RDF", "Coordination", "MSD", "Conductivity"} <= {c.__name__ for c in ANALYSES.values()}


@pytest.mark.parametrize("cls", _cases())
def test_one_chunk_equals_many_chunks_merged(cls, source, whole):
    parts = run(cls(**_example(cls)), source, chunk_size=7, stop=STOP, progress=False)
    _holds(cls, "chunks", _same(parts, whole(cls)), f"{cls.__name__}: chunk_size=7 differs from one chunk")


@pytest.mark.parametrize("cls", _cases())
def test_serial_equals_processes(cls, source, whole):
    other = run(cls(**_example(cls)), source, chunk_size=1000, stop=STOP, scheduler="processes", n_workers=2,
                progress=False)
    _holds(cls, "schedulers", _same(other, whole(cls)), f"{cls.__name__}: two processes differ from serial")


@pytest.mark.parametrize("cls", _cases())
def test_inputs_are_left_alone_and_results_pickle(cls, source, whole):
    result = whole(cls)
    if issubclass(cls, Featurizer):
        bound = cls(**_example(cls)).bind(source)
        chunk = source.read(source.partition(6)[0], bound.atoms)
        arrays = (chunk.positions, chunk.boxes, chunk.times, chunk.frames)
        copies = [None if a is None else a.copy() for a in arrays]
        bound.update(bound.init_state(), chunk)
        for a, c in zip(arrays, copies):
            if a is not None:
                np.testing.assert_array_equal(a, c, err_msg=f"{cls.__name__}.update modified its chunk")
    assert _files() == source._contract_files, f"{cls.__name__} changed the files of its source"
    back = pickle.loads(pickle.dumps(result))
    assert type(back) is type(result) and _same(back, result)


@pytest.mark.parametrize("cls", _cases())
def test_every_parameter_refuses_a_value_outside_its_declaration(cls):
    example = _example(cls)
    checked = 0
    for name, p in cls.parameters().items():
        for bad in bad_values(p):
            with pytest.raises(InvalidParameterError) as info:
                cls(**{**example, name: bad})
            head = f"The '{name}' parameter of {cls.__name__} must be "
            assert str(info.value).startswith(head), f"{cls.__name__}({name}={bad!r}): {info.value}"
            checked += 1
    assert checked or not cls.parameters()
