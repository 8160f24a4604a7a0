"""The deprecated ``trajml.models`` paths: where each old name and module lives now, and the import alias.

Two tables say it all: :data:`NAMES` maps the names the old packages exported to the package
that exports them now, and :data:`MODULES` maps each old module path to the new modules that
hold its names (searched in order). :func:`install` puts a finder on ``sys.meta_path`` that
answers an import of an old module path with a small proxy module: its attributes are looked up
in the new modules (the very same objects), and both the import and every attribute read give a
:class:`DeprecationWarning` naming the new location. Only strings name the new modules, so this
module imports nothing of trajml and ``import trajml.models`` stays light.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
import warnings
from typing import Any

__all__ = ["NAMES", "MODULES", "install", "moved_name"]

_KINETICS = ("TimeLaggedCovariance", "CovarianceModel", "CovarianceState", "lagged_chunks", "inv_sqrt",
             "koopman_matrix", "singular_values", "vamp_score", "soft_koopman_matrix", "stationary_distribution",
             "MarkovModel", "MSMModel", "implied_timescales", "ImpliedTimescalesResults", "ck_test", "CKTestResults",
             "KineticProjection", "ProjectionModel", "TICAMarkovModel", "TICAMSMModel", "soft_implied_timescales",
             "soft_ck_test", "soft_populations", "soft_pcca", "StateInterpretation", "StateInterpretationResults")

#: Old package -> {name it exported: the package exporting it now}.
NAMES: dict[str, dict[str, str]] = {
    "trajml.models": {**{n: "trajml.kinetics" for n in _KINETICS},
                      "save_model": "trajml.store", "load_model": "trajml.store",
                      "kinetic_analysis": "trajml.workflows", "KineticAnalysis": "trajml.workflows"},
    "trajml.models.fes": {**{n: "trajml.fes" for n in (
        "HistogramFES", "KernelDensityFES", "GaussianProcessFES", "NeuralNetworkFES", "FESModel", "Minima",
        "MinimumPath", "Basins", "find_minima", "minimum_path", "basin_free_energies", "estimator", "KB_KJ_MOL_K",
        "stack_cvs")},
        "plot_fes": "trajml.plotting", "plot_path_profile": "trajml.plotting",
        "save_fes": "trajml.store", "load_fes": "trajml.store"},
    "trajml.models.deep": {**{n: "trajml.kinetics.deep" for n in (
        "VAMPNet", "VAMPNetModel", "vamp_loss", "vamp_score_torch", "lagged_pairs", "pair_batches", "split_segments",
        "GraphVAMPNet", "GraphVAMPNetModel")},
        **{n: "trajml.store" for n in ("GraphDataset", "frames_to_batch", "chunk_to_batch")},
        **{n: "trajml.extrapolation.deep" for n in (
            "MultitaskExtrapolator", "MultitaskModel", "masked_loss", "smiles_graph", "cg_graph",
            "cg_graph_from_topology", "table_graphs")}},
}

#: Old module -> the new modules holding its names, searched in this order.
MODULES: dict[str, tuple[str, ...]] = {
    "trajml.models._torch_threads": ("trajml._threads",),
    "trajml.models.koopman": ("trajml.kinetics.koopman",),
    "trajml.models.msm": ("trajml.kinetics.msm",),
    "trajml.models.tica": ("trajml.kinetics.tica",),
    "trajml.models.soft_validation": ("trajml.kinetics.soft_validation",),
    "trajml.models.interpret": ("trajml.kinetics.interpret", "trajml.kinetics.interpret_results",
                                "trajml.kinetics._interpret_rows"),
    "trajml.models.io": ("trajml.store.models",),
    "trajml.models.extrapolation_data": ("trajml.extrapolation.tables", "trajml.extrapolation.readers"),
    "trajml.models.extrapolation_baseline": ("trajml.extrapolation.baselines",),
    "trajml.models.extrapolation_descriptors": ("trajml.extrapolation.descriptors",),
    "trajml.models.polymer_rings": ("trajml.extrapolation.polymer_rings",),
    "trajml.models.workflow": ("trajml.workflows.kinetics",),
    "trajml.models.deep.vampnet": ("trajml.kinetics.deep.losses", "trajml.kinetics.deep.data",
                                   "trajml.kinetics.deep.networks", "trajml.kinetics.deep.models",
                                   "trajml.kinetics.deep.training"),
    "trajml.models.deep.graph_vampnet": ("trajml.kinetics.deep.models", "trajml.kinetics.deep.training",
                                         "trajml.kinetics.deep.networks", "trajml.kinetics.deep.data"),
    "trajml.models.deep.graph_data": ("trajml.store.graphs",),
    "trajml.models.deep.multitask": ("trajml.extrapolation.deep.multitask", "trajml.extrapolation.deep.model",
                                     "trajml.extrapolation.deep.network"),
    "trajml.models.deep.polymer_graph": ("trajml.extrapolation.deep.polymer_graph",),
    **{f"trajml.models.fes.{m}": (f"trajml.fes.{m}",) for m in (
        "_base", "_factory", "_grid", "_validate", "cvs", "gp", "histogram", "kde", "model", "nn", "paths")},
    "trajml.models.fes._surfaces": ("trajml.fes.surfaces",),
    "trajml.models.fes.io": ("trajml.store.fes",),
    "trajml.models.fes.plots": ("trajml.plotting.fes",),
}

#: Old packages answered by a proxy (their submodules are in :data:`MODULES`).
_PACKAGES: frozenset[str] = frozenset({"trajml.models.fes", "trajml.models.deep"})

#: Modules an old package imported when imported: ``trajml.models.deep`` needed torch (an ImportError
#: naming the ``deep`` extra without it).
_REQUIRES: dict[str, tuple[str, ...]] = {"trajml.models.deep": ("trajml.kinetics.deep",)}

# Frames a warning is not attributed to: this shim, and importlib.import_module (the caller of it is the user).
_HERE = (__file__, __file__.replace("_shim.py", "__init__.py"), importlib.__file__)


def _warn(message: str) -> None:
    """A DeprecationWarning attributed to the first frame outside this shim and the import machinery."""
    frame, level = sys._getframe(1), 2
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith("<frozen importlib"):
            frame = frame.f_back  # not counted: warnings skips the import machinery's frames itself
        elif name in _HERE:
            frame, level = frame.f_back, level + 1
        else:
            break
    warnings.warn(message, DeprecationWarning, stacklevel=level)


def moved_name(package: str, name: str) -> Any:
    """Attribute ``name`` of the old ``package``: the object at its new home, with a DeprecationWarning."""
    new = NAMES.get(package, {}).get(name)
    if new is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    _warn(f"{package}.{name} is deprecated and will be removed in the next release; "
          f"use {new}.{name} (from {new} import {name}).")
    return getattr(importlib.import_module(new), name)


class _MovedModule(types.ModuleType):
    """An old module path: attributes are read from the new modules, each read with a DeprecationWarning."""

    def __getattr__(self, name: str) -> Any:
        old = self.__name__
        if name.startswith("__"):
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        if name in NAMES.get(old, {}):
            return moved_name(old, name)
        found: tuple[str, Any] | None = None
        for target in MODULES.get(old, ()):
            module = importlib.import_module(target)
            if name in vars(module) or name in getattr(module, "__all__", ()):
                value = getattr(module, name)
                if found is None or getattr(value, "__module__", None) == target:
                    found = (target, value)  # name the module that defines it, where one does
        if found is None:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        _warn(f"{old}.{name} is deprecated and will be removed in the next release; "
              f"use {found[0]}.{name} (from {found[0]} import {name}).")
        return found[1]

    def __dir__(self) -> list[str]:
        names = set(vars(self)) | set(NAMES.get(self.__name__, {}))
        for target in MODULES.get(self.__name__, ()):
            names |= set(dir(importlib.import_module(target)))
        return sorted(names)


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers imports of the old module paths with :class:`_MovedModule` proxies."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in MODULES or fullname in _PACKAGES:
            return importlib.util.spec_from_loader(fullname, self, is_package=fullname in _PACKAGES)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _MovedModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        name = module.__name__
        targets = MODULES.get(name, ())
        # The old modules imported their dependencies when imported (torch for the deep ones): so do these.
        for target in targets + _REQUIRES.get(name, ()):
            importlib.import_module(target)
        exported: set[str] = set(NAMES.get(name, {}))
        for target in targets:
            exported |= set(getattr(sys.modules[target], "__all__", ()))
        module.__all__ = sorted(exported)
        new = ", ".join(targets) if targets else ", ".join(sorted(set(NAMES.get(name, {}).values())))
        _warn(f"{name} is deprecated and will be removed in the next release; import {new} instead.")


def install() -> None:
    """Put the finder of the old module paths first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
