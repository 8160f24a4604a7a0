"""The deprecated ``trajml.models`` paths: every old name and module resolves, with a DeprecationWarning, to the
very object at its new home. The only tests that use the old paths."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import warnings

import pytest

#: ``__all__`` of every module and package of ``trajml.models`` before the split (commit 88507b7).
OLD_EXPORTS: dict[str, tuple[str, ...]] = {
    'trajml.models': ('CKTestResults', 'CovarianceModel', 'CovarianceState', 'ImpliedTimescalesResults',
        'KineticAnalysis', 'KineticProjection', 'MSMModel', 'MarkovModel', 'ProjectionModel',
        'StateInterpretation', 'StateInterpretationResults', 'TICAMSMModel', 'TICAMarkovModel',
        'TimeLaggedCovariance', 'ck_test', 'implied_timescales', 'inv_sqrt', 'kinetic_analysis',
        'koopman_matrix', 'lagged_chunks', 'load_model', 'save_model', 'singular_values', 'soft_ck_test',
        'soft_implied_timescales', 'soft_koopman_matrix', 'soft_pcca', 'soft_populations',
        'stationary_distribution', 'vamp_score'),
    'trajml.models._torch_threads': ('torch_threads',),
    'trajml.models.deep': ('GraphDataset', 'GraphVAMPNet', 'GraphVAMPNetModel', 'MultitaskExtrapolator',
        'MultitaskModel', 'VAMPNet', 'VAMPNetModel', 'cg_graph', 'cg_graph_from_topology', 'chunk_to_batch',
        'frames_to_batch', 'lagged_pairs', 'masked_loss', 'pair_batches', 'smiles_graph', 'split_segments',
        'table_graphs', 'vamp_loss', 'vamp_score_torch'),
    'trajml.models.deep.graph_data': ('GraphDataset', 'chunk_to_batch', 'frames_to_batch', 'padded_from_chunk'),
    'trajml.models.deep.graph_vampnet': ('GraphVAMPNet', 'GraphVAMPNetModel'),
    'trajml.models.deep.multitask': ('MultitaskExtrapolator', 'MultitaskModel', 'PRIOR_GRID', 'masked_loss'),
    'trajml.models.deep.polymer_graph': ('cg_graph', 'cg_graph_from_topology', 'ring_data', 'smiles_graph',
        'table_graphs'),
    'trajml.models.deep.vampnet': ('SoftStateModel', 'VAMPNet', 'VAMPNetModel', 'lagged_pairs', 'pair_batches',
        'split_segments', 'vamp_loss', 'vamp_score_torch'),
    'trajml.models.extrapolation_baseline': ('CrossValidation', 'LinearCorrection', 'RandomForestBaseline',
        'ShortRunBaseline', 'cross_validate', 'graph_fingerprints', 'least_squares_lines'),
    'trajml.models.extrapolation_data': ('ExtrapolationPrediction', 'ExtrapolationTable', 'PIPELINE_TARGETS', 'TASKS',
        'TASK_UNITS', 'check_labels', 'check_task', 'kfold_indices', 'read_property_csv', 'read_table_csv',
        'table_from_csvs', 'table_from_pipeline', 'write_table_csv'),
    'trajml.models.extrapolation_descriptors': ('msd_descriptors', 'short_run_descriptors'),
    'trajml.models.fes': ('Basins', 'FESModel', 'GaussianProcessFES', 'HistogramFES', 'KB_KJ_MOL_K', 'KernelDensityFES',
        'Minima', 'MinimumPath', 'NeuralNetworkFES', 'basin_free_energies', 'estimator', 'find_minima',
        'load_fes', 'minimum_path', 'plot_fes', 'plot_path_profile', 'save_fes', 'stack_cvs'),
    'trajml.models.fes._base': ('FESEstimator',),
    'trajml.models.fes._factory': ('METHODS', 'estimator'),
    'trajml.models.fes._grid': ('BinnedSamples', 'Grid', 'bin_samples'),
    'trajml.models.fes._surfaces': ('GPSurface', 'GridSurface', 'KDESurface', 'MLPSurface', 'rbf'),
    'trajml.models.fes._validate': ('KB_KJ_MOL_K', 'check_bins', 'check_choice', 'check_cvs', 'check_int',
        'check_ranges', 'check_temperature', 'check_weights', 'cv_matrix'),
    'trajml.models.fes.cvs': ('stack_cvs',),
    'trajml.models.fes.gp': ('GaussianProcessFES', 'Hyperparameters', 'fit_hyperparameters', 'inducing_grid'),
    'trajml.models.fes.histogram': ('HistogramFES',),
    'trajml.models.fes.io': ('load_fes', 'save_fes'),
    'trajml.models.fes.kde': ('KernelDensityFES',),
    'trajml.models.fes.model': ('FESModel', 'make_model'),
    'trajml.models.fes.nn': ('NeuralNetworkFES',),
    'trajml.models.fes.paths': ('Basins', 'Minima', 'MinimumPath', 'basin_free_energies', 'find_minima',
        'minimum_path'),
    'trajml.models.fes.plots': ('plot_fes', 'plot_path_profile'),
    'trajml.models.interpret': ('DEFAULT_SHELL', 'StateInterpretation', 'StateInterpretationResults'),
    'trajml.models.io': ('FORMAT', 'FORMAT_VERSION', 'load_model', 'read_header', 'save_model'),
    'trajml.models.koopman': ('CovarianceModel', 'CovarianceState', 'TimeLaggedCovariance', 'as_trajectories',
        'inv_sqrt', 'koopman_matrix', 'lagged_chunks', 'singular_values', 'soft_koopman_matrix',
        'stationary_distribution', 'vamp_score'),
    'trajml.models.msm': ('CKTestResults', 'ImpliedTimescalesResults', 'MSMModel', 'MarkovModel', 'as_dtrajs',
        'ck_test', 'implied_timescales'),
    'trajml.models.polymer_rings': ('BOND_TYPES', 'ELEMENTS', 'RingGraph', 'cg_descriptors', 'cg_repeat_unit',
        'cg_ring_graph', 'morgan_fingerprints', 'require_rdkit', 'ring_molecule', 'smiles_ring_graph'),
    'trajml.models.soft_validation': ('soft_ck_test', 'soft_implied_timescales', 'soft_pcca', 'soft_populations'),
    'trajml.models.tica': ('KineticProjection', 'ProjectionModel', 'TICAMSMModel', 'TICAMarkovModel'),
    'trajml.models.workflow': ('KineticAnalysis', 'MODELS', 'kinetic_analysis'),
}

_KINETICS = "trajml.kinetics"
#: Where the names of the old packages live now (the package exporting them).
NEW_PACKAGE: dict[str, dict[str, str]] = {
    "trajml.models": {**{n: _KINETICS for n in OLD_EXPORTS["trajml.models"]},
                      "save_model": "trajml.store", "load_model": "trajml.store",
                      "kinetic_analysis": "trajml.workflows", "KineticAnalysis": "trajml.workflows"},
    "trajml.models.fes": {**{n: "trajml.fes" for n in OLD_EXPORTS["trajml.models.fes"]},
                          "plot_fes": "trajml.plotting", "plot_path_profile": "trajml.plotting",
                          "save_fes": "trajml.store", "load_fes": "trajml.store"},
    "trajml.models.deep": {**{n: "trajml.kinetics.deep" for n in OLD_EXPORTS["trajml.models.deep"]},
                           **{n: "trajml.store" for n in ("GraphDataset", "chunk_to_batch", "frames_to_batch")},
                           **{n: "trajml.extrapolation.deep" for n in (
                               "MultitaskExtrapolator", "MultitaskModel", "masked_loss", "smiles_graph", "cg_graph",
                               "cg_graph_from_topology", "table_graphs")}},
}

_DEEP = tuple(f"trajml.kinetics.deep.{m}" for m in ("losses", "data", "networks", "models", "training"))
#: Where the names of each old module live now.
NEW_MODULES: dict[str, tuple[str, ...]] = {
    "trajml.models._torch_threads": ("trajml._threads",),
    "trajml.models.koopman": ("trajml.kinetics.koopman",),
    "trajml.models.msm": ("trajml.kinetics.msm",),
    "trajml.models.tica": ("trajml.kinetics.tica",),
    "trajml.models.soft_validation": ("trajml.kinetics.soft_validation",),
    "trajml.models.interpret": ("trajml.kinetics.interpret", "trajml.kinetics.interpret_results"),
    "trajml.models.io": ("trajml.store.models",),
    "trajml.models.workflow": ("trajml.workflows.kinetics",),
    "trajml.models.deep.vampnet": _DEEP,
    "trajml.models.deep.graph_vampnet": _DEEP,
    "trajml.models.deep.graph_data": ("trajml.store.graphs",),
    "trajml.models.deep.multitask": ("trajml.extrapolation.deep.multitask", "trajml.extrapolation.deep.model",
                                     "trajml.extrapolation.deep.network"),
    "trajml.models.deep.polymer_graph": ("trajml.extrapolation.deep.polymer_graph",),
    "trajml.models.extrapolation_data": ("trajml.extrapolation.tables", "trajml.extrapolation.readers"),
    "trajml.models.extrapolation_baseline": ("trajml.extrapolation.baselines",),
    "trajml.models.extrapolation_descriptors": ("trajml.extrapolation.descriptors",),
    "trajml.models.polymer_rings": ("trajml.extrapolation.polymer_rings",),
    **{f"trajml.models.fes.{m}": (f"trajml.fes.{m}",) for m in (
        "_base", "_factory", "_grid", "_validate", "cvs", "gp", "histogram", "kde", "model", "nn", "paths")},
    "trajml.models.fes._surfaces": ("trajml.fes.surfaces",),
    "trajml.models.fes.io": ("trajml.store.fes",),
    "trajml.models.fes.plots": ("trajml.plotting.fes",),
}

PACKAGES = sorted(NEW_PACKAGE)
MODULES = sorted(NEW_MODULES)


def _needs(old: str) -> None:
    if old.startswith("trajml.models.deep"):
        pytest.importorskip("torch")
        pytest.importorskip("torch_geometric")


def _fresh_import(old: str):
    """Import ``old`` as a user would the first time (a proxy already made is dropped first)."""
    sys.modules.pop(old, None)
    return importlib.import_module(old)


def test_every_old_module_and_package_is_covered():
    assert set(OLD_EXPORTS) == set(NEW_PACKAGE) | set(NEW_MODULES)


@pytest.mark.parametrize("package", PACKAGES)
def test_old_packages_export_the_same_names(package):
    _needs(package)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert sorted(_fresh_import(package).__all__) == sorted(OLD_EXPORTS[package])


@pytest.mark.parametrize("package, name", [(p, n) for p in PACKAGES for n in OLD_EXPORTS[p]])
def test_old_package_names_warn_and_are_the_new_objects(package, name):
    _needs(package)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = importlib.import_module(package)
    new = NEW_PACKAGE[package][name]
    with pytest.warns(DeprecationWarning,
                      match=rf"{re.escape(package)}\.{name} is deprecated.*use {re.escape(new)}\.{name}") as record:
        value = getattr(old, name)
    assert value is getattr(importlib.import_module(new), name)
    assert record[0].filename == __file__  # attributed to the caller, not to the shim


@pytest.mark.parametrize("old", MODULES)
def test_old_module_paths_warn_on_import_and_resolve_to_the_new_objects(old):
    _needs(old)
    with pytest.warns(DeprecationWarning, match=rf"{re.escape(old)} is deprecated.*import trajml\.") as record:
        module = _fresh_import(old)
    assert any(r.filename == __file__ for r in record if str(r.message).startswith(old))
    assert set(OLD_EXPORTS[old]) <= set(module.__all__)
    for name in OLD_EXPORTS[old]:
        with pytest.warns(DeprecationWarning, match=rf"{re.escape(old)}\.{name} is deprecated.*use trajml\."):
            value = getattr(module, name)
        homes = [m for m in NEW_MODULES[old] if name in vars(importlib.import_module(m))]
        assert homes, f"{old}.{name} is in none of {NEW_MODULES[old]}"
        assert all(getattr(importlib.import_module(m), name) is value for m in homes)


def test_from_import_of_an_old_path_gives_the_new_object():
    from trajml.kinetics.msm import MSMModel as new

    with pytest.warns(DeprecationWarning, match="trajml.models.msm.MSMModel is deprecated"):
        from trajml.models.msm import MSMModel
    assert MSMModel is new


def test_unknown_old_names_fail_as_before():
    import trajml.models

    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        trajml.models.nothing  # noqa: B018
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("trajml.models.nothing")


def test_importing_the_shim_stays_light():
    code = ("import sys, warnings; warnings.simplefilter('ignore'); import trajml.models, trajml.models.fes; "
            "heavy = [m for m in ('torch', 'matplotlib.pyplot', 'trajml.kinetics', 'trajml.fes') if m in sys.modules]; "
            "trajml.models.MarkovModel, trajml.models.fes.HistogramFES; "
            "print(heavy, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[] False"


def test_old_deep_path_without_torch_names_the_deep_extra():
    code = ("import sys, warnings; warnings.simplefilter('ignore'); sys.modules['torch'] = None\n"
            "try:\n    import trajml.models.deep\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "pip install \"trajml[deep]\" -c constraints.txt" in out
