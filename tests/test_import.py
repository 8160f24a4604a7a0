"""`import trajml` stays light."""

import subprocess
import sys


def test_import_is_light_and_fast():
    code = (
        "import sys, time; t = time.perf_counter(); import trajml; dt = time.perf_counter() - t; "
        "heavy = [m for m in ('torch', 'torch_geometric', 'dask.distributed', 'distributed', 'MDAnalysis', "
        "'mdtraj', 'numba', 'openmm') if m in sys.modules]; print(heavy, dt)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    heavy, dt = out.rsplit(" ", 1)
    assert heavy == "[]", f"import trajml pulled in {heavy}"
    assert float(dt) < 0.5


def test_lazy_attributes_resolve():
    import trajml

    assert trajml.Box.__name__ == "Box"
    assert callable(trajml.open_source) and callable(trajml.run)
