"""Helpers of the pipeline tests: copies of the bundled sample and pipeline files over them."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import numpy as np

#: Stages used by most tests: every built-in stage, 8 frames each, fixed cut-offs where a first pass would be slow.
STAGES = """\
stages:
  - {stage: info, stop: 8}
  - {stage: rdf, id: rdf_li_o, select_a: name Li, select_b: name O, r_max: 12.0, n_bins: 60, stop: 8}
  - {stage: coordination, cutoff_from: rdf_li_o, stop: 8}
  - {stage: solvation, cutoff_o_from: rdf_li_o, cutoff_anion: 7.0, stop: 8}
"""


def make_systems(folder: Path, n: int, corrupt: tuple[int, ...] = ()) -> Path:
    """Write ``n`` simulation folders ``sims/sys{k}`` holding copies of the sample (PSF + XTC).

    Systems listed in ``corrupt`` get an XTC truncated to half its size.
    """
    from trajml.data import sample_topology, sample_trajectory

    sims = folder / "sims"
    for k in range(n):
        d = sims / f"sys{k}"
        d.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sample_topology(), d / "system.psf")
        shutil.copyfile(sample_trajectory(), d / "traj.xtc")
        if k in corrupt:
            size = os.path.getsize(d / "traj.xtc")
            with open(d / "traj.xtc", "r+b") as fh:
                fh.truncate(size // 2)
    return sims


def write_pipeline(folder: Path, body: str, name: str = "pipeline.yaml") -> Path:
    """Write a pipeline YAML (dedented) and return its path."""
    path = folder / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def batch_yaml(outputs: str, stages: str = STAGES) -> str:
    """A pipeline over every folder of ``sims/`` with a temperature and charges."""
    return ("version: 1\nname: batch\ninputs:\n  - glob: sims/sys*\n"
            "    metadata: {temperature: 300.0, charges: {Li: 1.0, TFSI: -1.0}}\n"
            f"{stages}outputs: {outputs}\n")


def run_serial(folder: Path, name: str, yaml_text: str):
    """Write ``yaml_text`` to ``folder/name`` and run that pipeline with the serial scheduler; return its summary."""
    from trajml.pipelines import run_pipeline

    path = folder / name
    path.write_text(yaml_text)
    return run_pipeline(str(path), scheduler="serial", progress=False)


def results_by_stage(outputs: Path, summary) -> dict[str, dict]:
    """Stage id -> stored result of every unit of a one-system run (result.json with its arrays.nc put back)."""
    from trajml.store.results import ResultStore

    store = ResultStore(outputs / "store")
    return {o.stage_id: store.get(o.key).data for o in summary.outcomes}


def arrays_content(path: Path) -> bytes:
    """What an arrays.nc holds, in a canonical byte form: every dimension with its length, every variable with
    its dimensions, dtype, shape, attributes and raw values, and the file's attributes.

    The HDF5 bytes of one content are not compared: how the library lays out its object headers is not part of
    a result, while a difference in any array, dtype, dimension or unit is.
    """
    import h5netcdf

    parts = []
    with h5netcdf.File(str(path), "r", locking=False) as f:
        parts.append(repr(sorted((k, str(v)) for k, v in f.attrs.items())))
        parts.append(repr(sorted((name, dim.size) for name, dim in f.dimensions.items())))
        for name in sorted(f.variables):
            var = f.variables[name]
            values = np.asarray(var[...])
            parts.append(repr((name, var.dimensions, values.dtype.str, values.shape,
                               sorted((k, str(v)) for k, v in var.attrs.items()))))
            # labels are Python objects: compare them, not their addresses
            parts.append(repr(values.tolist()) if values.dtype.kind in "OUS" else values.tobytes().hex())
    return "\n".join(parts).encode()


def stored_results(outputs: Path) -> dict[str, bytes]:
    """Key -> bytes of result.json and CSV tables, and the canonical content of arrays.nc, of every stored entry
    (figures and timings excluded)."""
    out = {}
    for entry in sorted((outputs / "store" / "objects").glob("*/*")):
        for f in sorted(entry.iterdir()):
            if f.name in ("result.json",) or f.suffix == ".csv":
                out[f"{entry.name}/{f.name}"] = f.read_bytes()
            elif f.name == "arrays.nc":
                out[f"{entry.name}/{f.name}"] = arrays_content(f)
    return out
