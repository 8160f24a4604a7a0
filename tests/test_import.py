"""`import trajml` stays light."""

import subprocess
import sys


def test_import_is_light_and_fast():
    code = (
        "import sys, time; t = time.perf_counter(); import trajml; dt = time.perf_counter() - t; "
        "heavy = [m for m in ('torch', 'torch_geometric', 'dask.distributed', 'distributed', 'MDAnalysis', "
        "'mdtraj', 'numba', 'openmm', 'xarray', 'pandas', 'h5py', 'h5netcdf') if m in sys.modules]; print(heavy, dt)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    heavy, dt = out.rsplit(" ", 1)
    assert heavy == "[]", f"import trajml pulled in {heavy}"
    assert float(dt) < 0.5


def test_lazy_attributes_resolve():
    import trajml

    assert trajml.Box.__name__ == "Box"
    assert callable(trajml.open_source) and callable(trajml.run)


def test_subject_packages_import_light():
    """The subject packages and their non-deep names load without torch, torch-geometric or pyplot."""
    code = (
        "import sys; import trajml, trajml.kinetics, trajml.fes, trajml.extrapolation, trajml.store, "
        "trajml.workflows, trajml.plotting; "
        "from trajml.kinetics import MarkovModel, StateInterpretation, TICAMarkovModel, vamp_score; "
        "from trajml.fes import GaussianProcessFES, HistogramFES, NeuralNetworkFES, find_minima; "
        "from trajml.extrapolation import ExtrapolationTable, cross_validate, table_from_csvs; "
        "from trajml.store import GraphDataset, ResultStore, load_fes, load_model, save_model; "
        "from trajml.workflows import kinetic_analysis; "
        "from trajml.plotting import plot_fes, plot_rdf, plot_state_rdf, use_offscreen_backend; "
        "print([m for m in ('torch', 'torch_geometric', 'matplotlib.pyplot', 'dask.distributed', 'xarray', 'h5py') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", f"the subject packages pulled in {out}"
