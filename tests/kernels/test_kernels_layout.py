"""Layout rules of :mod:`trajml.kernels`: no import cycle, modules of a readable size, former homes kept.

The import graph is read from the source files (every ``import`` and ``from ...
import``, also inside functions, as lazy imports close cycles just the same),
so a new module is checked without being listed anywhere.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import trajml.kernels
from tests.import_graph import import_cycles, import_graph, module_files

KERNELS_DIR = Path(trajml.kernels.__file__).parent
PACKAGE = "trajml.kernels"
MAX_LINES = 600


def _kernels() -> dict[str, Path]:
    return module_files({PACKAGE: KERNELS_DIR})


def test_the_cycle_check_finds_a_cycle_closed_inside_a_function(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub.b import f\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import g\n")
    (pkg / "c.py").write_text("from . import a\n")
    graph = import_graph(module_files({"pkg": pkg}))
    assert graph["pkg.sub.b"] == {"pkg.a"} and graph["pkg.c"] == {"pkg", "pkg.a"}
    assert import_cycles(graph) == [["pkg.a", "pkg.sub.b"]]


def test_no_import_cycle_within_kernels():
    graph = import_graph(_kernels())
    assert "trajml.kernels.cuda.histograms" in graph  # the subpackages are read too
    assert import_cycles(graph) == []


def test_cuda_twins_import_no_dispatching_module():
    """The CUDA twins reach only pure helpers, never a module that dispatches to them."""
    graph = import_graph(_kernels())
    cuda = {m for m in graph if m.startswith(f"{PACKAGE}.cuda")}
    dispatchers = {m for m in graph if m not in cuda and graph[m] & cuda}
    for module in cuda:
        assert not graph[module] & dispatchers, (module, graph[module] & dispatchers)


@pytest.mark.parametrize("name", sorted(_kernels()))
def test_module_size(name):
    n_lines = len(_kernels()[name].read_text().splitlines())
    assert n_lines <= MAX_LINES, f"{name} has {n_lines} lines; split it by algorithm (at most {MAX_LINES})"


def test_every_kernel_has_a_numpy_reference():
    from trajml.kernels import reference

    no_reference = {"knn_to_csr"}  # compacts rows; checked against plain indexing in test_knn
    for name in ("histograms", "counts", "knn", "shells", "correlation", "unwrap"):
        module = importlib.import_module(f"{PACKAGE}.{name}")
        for kernel in set(module.__all__) - no_reference:
            assert callable(getattr(reference, f"{kernel}_reference", None)), f"{name}.{kernel} has no reference"


def test_the_former_homes_re_export_the_same_objects():
    from trajml.kernels import correlation, cuda, msd, neighbors, neighbors_cuda, neighbors_reference, reference, unwrap

    for name in neighbors.__all__:
        home = "reference" if name.endswith("_reference") else getattr(neighbors, name).__module__.rpartition(".")[2]
        assert getattr(neighbors, name) is getattr(importlib.import_module(f"{PACKAGE}.{home}"), name)
    # Private names the tests of the former module used.
    assert {"_per_frame", "_pruned_reach", "_PRUNED_ABOVE", "_PRUNED_REACH"} <= set(dir(neighbors))
    for name in neighbors_reference.__all__:
        assert getattr(neighbors_reference, name) is getattr(reference, name)
    for name in neighbors_cuda.__all__:
        assert getattr(neighbors_cuda, name) is getattr(cuda, name)
    for name in msd.__all__:
        assert getattr(msd, name) is getattr(reference if name.endswith("_reference") else correlation, name)
    for name in ("box_inverses", "fractional_coordinates", "image_shift", "image_jumps", "apply_images",
                 "nojump_unwrap"):
        assert getattr(unwrap, f"{name}_reference") is getattr(reference, f"{name}_reference")
