"""Scaling with system size and trajectory length: trajml against MDAnalysis, freud, kinisi and scipy.

Run by hand (not in CI)::

    python benchmarks/bench_scaling.py --workdir bench-out/scaling           # default grid, ~20 min on 2 cores
    python benchmarks/bench_scaling.py --workdir W --sizes 1,2 --frames 200 --repeats 1   # a few minutes
    python benchmarks/bench_scaling.py --workdir W --peers mdanalysis --analyses rdf,msd  # fewer peers

Inputs
------
Tiled copies of the bundled coarse-grained sample (``trajml.data``: 2 040 beads, 300 frames 5 ps
apart, cubic box of 66.9 Å). ``--sizes`` gives the tiles per box edge: n = 1, 2, 3, 4 give 2 040,
16 320, 55 080 and 130 560 beads in a box n times as wide. The sample is first unwrapped (no-jump,
molecules whole in frame 0); copy ``c`` of the n³ copies is that trajectory shifted by ``c`` box
lengths and wrapped into the big box, so at every frame the beads are exactly the periodic images
of the sample (g(r), neighbour shells and each bead's displacements are the sample's) and every
molecule of the topology is one connected copy. Frames beyond the sample's 300 are a forward-backward
replay (0 … 299, 298 … 0, 1 …): every frame is a real configuration and every step a real step, but
an MSD at lags past ~300 frames folds back, and averages over origins that straddle a turning point
are biased low; D and σ of replayed runs measure cost only. The copies move in lock step, so the
collective (Einstein–Helfand) conductivity of n³ copies is n³ times the sample's (σ is not intensive
here); D is unchanged. Inputs (PSF + XTC) are written to ``--workdir`` and reused; never commit them.

Analyses and methods (``--analyses``, ``--peers``)
-------------------------------------------------
- ``rdf``: Li–O partial g(r), 15 Å, 150 bins. trajml ``RDF`` (serial engine); MDAnalysis
  ``InterRDF``; ``freud.density.RDF`` (one ``compute(..., reset=False)`` per frame).
- ``msd``: MSD of every bead (``--msd-select``) over all time origins, and D = slope / 6 of a
  least-squares line over ``--fit-window`` ps. trajml ``MSD`` + ``Diffusion``; MDAnalysis
  ``EinsteinMSD(fft=True)`` with the ``NoJump`` transformation; ``freud.msd.MSD`` (window mode) on
  positions read with MDAnalysis and no-jump unwrapped in NumPy; kinisi ``DiffusionAnalyzer`` on an
  ``MDAnalysisParser`` (no drift correction, as the others) with its Bayesian ``diffusion`` from the
  window's start (its own estimator; the least-squares D of its MSD is stored beside it).
- ``conductivity``: Einstein–Helfand σ of Li and TFSI, 300 K, same window. trajml ``Conductivity``;
  kinisi ``ConductivityAnalyzer`` (Bayesian). kinisi 2.1.0 sums the ions' displacements before it
  applies ``ionic_charge`` (``calculate_mstd``), which cannot express a salt of +1 and −1 ions, so it
  is given displacements already weighted by each ion's charge (``ionic_charge=None``): its mean
  squared charge displacement is then ``|Σ qΔr|² / N`` and its σ the Einstein–Helfand one.
- ``graphs``: the 12 nearest neighbours within 7 Å of every bead, every frame. trajml
  ``NeighborGraphs.iter_graphs``; a ``scipy.spatial.cKDTree(boxsize=L)`` build + query per frame
  (``workers=2``); ``freud.locality.AABBQuery`` k-NN per frame.

Measurements
------------
Every measurement runs in its own fresh interpreter (:func:`_common.run_python_child`) with a
``--timeout``; inside it the method opens the files, reads every frame and computes. Recorded: wall
time and CPU time (user + system, all threads) of that part, the child's whole-process CPU time
(``getrusage(RUSAGE_CHILDREN)`` in the driver: interpreter start and imports included) and its peak
resident memory (``VmHWM``). Medians over ``--repeats`` (methods interleaved within a repeat). An
untimed warm-up of every method at the smallest point compiles numba kernels and fills caches.

The grid is every ``--sizes`` × ``--frames`` pair with at most ``--max-atom-frames`` beads × frames,
run from the smallest work up. A method is skipped, and recorded as skipped with the reason, where
its time predicted from its largest smaller run (scaled by its cost model: beads × frames, or beads ×
frames² for kinisi, whose MSD loops over every lag) exceeds ``--timeout``, where its peak memory
predicted the same way exceeds ``--max-memory``, or where it already timed out at a smaller point.

Outputs: ``--out`` (JSON: configuration, machine load, every measurement, skips, the agreement
check, the ratios at the largest point) and ``--figure`` (log-log wall time, CPU time and peak memory
against beads × frames, one column per analysis; on a loaded machine CPU time is the steadier one).
The agreement check (``--check``, a point without replayed frames) compares each peer's numbers with
trajml's on the same input: g(r) max |Δg|, the MSD's max relative difference, D and σ relative
differences, neighbour-graph edge counts and distance sums.
Threads: numba, freud and cKDTree use every core (2 here); MDAnalysis and kinisi are serial apart
from NumPy's BLAS.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import sys
import time
import warnings
from typing import Any, Callable

import numpy as np

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))

ANALYSES = ("rdf", "msd", "conductivity", "graphs")
PEERS = ("mdanalysis", "freud", "kinisi", "ckdtree")
#: Methods per analysis: (label, library for --peers or "trajml", cost model, memory model).
#: Cost and memory models say how time and peak memory grow: "NT" (beads × frames), "NT2" (beads ×
#: frames²), "N" (beads: per-frame working set).
METHODS: dict[str, list[tuple[str, str, str, str]]] = {
    "rdf": [("trajml RDF", "trajml", "NT", "N"), ("MDAnalysis InterRDF", "mdanalysis", "NT", "N"),
            ("freud density.RDF", "freud", "NT", "N")],
    "msd": [("trajml MSD + Diffusion", "trajml", "NT", "N"),
            ("MDAnalysis EinsteinMSD + NoJump", "mdanalysis", "NT", "NT"),
            ("freud msd.MSD", "freud", "NT", "NT"), ("kinisi DiffusionAnalyzer", "kinisi", "NT2", "NT")],
    "conductivity": [("trajml Conductivity", "trajml", "NT", "N"),
                     ("kinisi ConductivityAnalyzer", "kinisi", "NT2", "NT")],
    "graphs": [("trajml NeighborGraphs", "trajml", "NT", "N"), ("cKDTree loop", "ckdtree", "NT", "N"),
               ("freud AABBQuery k-NN", "freud", "NT", "N")],
}
TRAJML = {a: m[0][0] for a, m in METHODS.items()}

RDF_A, RDF_B, RDF_R_MAX, RDF_BINS = "name Li", "name O", 15.0, 150
ION_SELECTIONS = ("name Li", "name TFSI")
TEMPERATURE_K = 300.0  # the sample's
E_CHARGE_C, K_B_J_K = 1.602176634e-19, 1.380649e-23  # exact SI values (the peers' children do not import trajml)
GRAPH_M, GRAPH_R_MAX = 12, 7.0
SAMPLE_FRAMES_USED = 300


# ----------------------------------------------------------------------------------------------
# Inputs: tiled, replayed copies of the bundled sample
# ----------------------------------------------------------------------------------------------

def replay_index(n_frames: int, n_sample: int) -> np.ndarray:
    """Sample frame shown at each output frame: forward, backward, forward … (no frame repeated at a turn)."""
    period = 2 * (n_sample - 1)
    k = np.arange(n_frames) % period
    return np.where(k < n_sample, k, period - k)


def _sample() -> dict[str, Any]:
    """The bundled sample unwrapped: no-jump in time, molecules whole in frame 0 (Å, ps)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import MDAnalysis as mda

        from trajml import data

        u = mda.Universe(data.sample_topology(), data.sample_trajectory())
    dims = u.dimensions
    if not (np.allclose(dims[3:], 90.0) and np.allclose(dims[:3], dims[0])):
        raise ValueError(f"The bundled sample's box must be cubic to be tiled; got {dims}.")
    box = float(dims[0])
    wrapped = np.stack([ts.positions.astype(np.float64) for ts in u.trajectory])
    bonds = np.sort(np.asarray(u.bonds.indices, dtype=np.int64).reshape(-1, 2), axis=1)
    bonds = bonds[np.lexsort((bonds[:, 1], bonds[:, 0]))]
    whole0 = wrapped[0].copy()
    for i, j in bonds:  # chains are listed bead by bead: each bond's first bead is already placed
        d = whole0[j] - whole0[i]
        whole0[j] = whole0[i] + d - box * np.round(d / box)
    longest = np.max(np.linalg.norm(whole0[bonds[:, 0]] - whole0[bonds[:, 1]], axis=1))
    if longest > box / 4:
        raise RuntimeError(f"Could not make the sample's molecules whole (a bond of {longest:.1f} Å remains).")
    step = np.diff(wrapped, axis=0)
    step -= box * np.round(step / box)
    unwrapped = whole0 + np.concatenate([np.zeros((1,) + whole0.shape), np.cumsum(step, axis=0)])
    atoms = u.atoms
    return {"positions": unwrapped, "box": box, "dt": float(u.trajectory.dt), "n_atoms": len(atoms),
            "names": atoms.names, "types": atoms.types, "resnames": atoms.resnames, "resids": atoms.resids,
            "segids": atoms.segids, "charges": atoms.charges, "masses": atoms.masses,
            "bonds": bonds}


def make_inputs(workdir: str, tiles: int, n_frames: int, sample: Callable[[], dict[str, Any]],
                log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write (or reuse) the PSF and XTC of ``tiles``³ copies of the sample over ``n_frames`` frames."""
    from types import SimpleNamespace

    import _common
    from MDAnalysis.lib.formats.libmdaxdr import XTCFile

    os.makedirs(workdir, exist_ok=True)
    psf = os.path.join(workdir, f"tiled{tiles}.psf")
    xtc = os.path.join(workdir, f"tiled{tiles}_F{n_frames}.xtc")
    s = None
    if not os.path.exists(psf) or not os.path.exists(xtc):
        s = sample()
    n0 = None
    if not os.path.exists(psf):
        n0, k = s["n_atoms"], tiles ** 3
        rep = lambda a: np.tile(np.asarray(a), k)  # noqa: E731
        resid_step = int(np.max(s["resids"]))
        layout = SimpleNamespace(  # the fields _common.write_psf reads
            n_atoms=n0 * k, names=rep(s["names"]), types=rep(s["types"]), resnames=rep(s["resnames"]),
            segids=rep(s["segids"]), charges=rep(s["charges"]), masses=rep(s["masses"]),
            resids=np.concatenate([s["resids"] + c * resid_step for c in range(k)]),
            bonds=np.concatenate([s["bonds"] + c * n0 for c in range(k)]))
        _common.write_psf(psf + ".tmp", layout, title=f"{k} periodic copies of the trajml CG sample")
        os.replace(psf + ".tmp", psf)
    if not os.path.exists(xtc):
        t0 = time.perf_counter()
        pos, box = s["positions"], s["box"]
        n_sample = min(SAMPLE_FRAMES_USED, len(pos))
        shifts = box * np.array(list(itertools.product(range(tiles), repeat=3)), dtype=np.float64)
        big = tiles * box
        box_nm = np.eye(3, dtype=np.float32) * np.float32(big / 10.0)
        with XTCFile(xtc + ".tmp", "w") as fh:
            for f, idx in enumerate(replay_index(n_frames, n_sample)):
                frame = np.mod(pos[idx][None, :, :] + shifts[:, None, :], big).reshape(-1, 3)
                fh.write((frame / 10.0).astype(np.float32), box_nm, f, f * s["dt"], 1000.0)
        os.replace(xtc + ".tmp", xtc)
        log(f"  wrote {os.path.basename(xtc)}: {tiles ** 3 * s['n_atoms']} beads x {n_frames} frames, "
            f"box {big:.1f} Å ({time.perf_counter() - t0:.1f} s)")
    with warnings.catch_warnings():  # build MDAnalysis' offsets cache now, outside any timing
        warnings.simplefilter("ignore")
        import MDAnalysis as mda

        u = mda.Universe(psf, xtc)
        n_atoms, frames, dt, box_len = len(u.atoms), len(u.trajectory), float(u.trajectory.dt), float(u.dimensions[0])
    if frames != n_frames:
        raise RuntimeError(f"'{xtc}' holds {frames} frames, expected {n_frames}: delete it and rerun.")
    return {"topology": psf, "trajectory": xtc, "n_atoms": n_atoms, "n_frames": n_frames, "dt_ps": dt,
            "box_A": box_len, "tiles": tiles, "replayed": n_frames > SAMPLE_FRAMES_USED}


# ----------------------------------------------------------------------------------------------
# The methods, run inside a fresh interpreter (child); each returns plain numbers and small arrays
# ----------------------------------------------------------------------------------------------

def _universe(p: dict[str, Any]) -> Any:
    import MDAnalysis as mda

    return mda.Universe(p["topology"], p["trajectory"])


def _ols_d(lag: np.ndarray, msd: np.ndarray, window: list[float]) -> float:
    """D in Å²/ps: slope / 6 of the least-squares line through the MSD over the window (ends included)."""
    w = (lag >= window[0] - 1e-9) & (lag <= window[1] + 1e-9)
    return float(np.polyfit(lag[w], msd[w], 1)[0] / 6.0)


def _nojump(frames: list[np.ndarray], box: np.ndarray) -> np.ndarray:
    """(T, N, 3) unwrapped positions from wrapped frames in an orthorhombic box."""
    x = np.stack(frames).astype(np.float64)
    step = np.diff(x, axis=0)
    step -= box * np.round(step / box)
    x[1:] = x[0] + np.cumsum(step, axis=0)
    return x


def rdf_trajml(p: dict[str, Any]) -> dict[str, Any]:
    from trajml.features import RDF
    from trajml.io import open_source
    from trajml.parallel import run

    res = run(RDF(RDF_A, RDF_B, r_max=RDF_R_MAX, n_bins=RDF_BINS), open_source(p["topology"], p["trajectory"]),
              progress=False)
    return {"frames": res.n_frames, "g": res.g}


def rdf_mdanalysis(p: dict[str, Any]) -> dict[str, Any]:
    from MDAnalysis.analysis.rdf import InterRDF

    u = _universe(p)
    r = InterRDF(u.select_atoms(RDF_A), u.select_atoms(RDF_B), nbins=RDF_BINS, range=(0.0, RDF_R_MAX)).run()
    return {"frames": r.n_frames, "g": r.results.rdf}


def rdf_freud(p: dict[str, Any]) -> dict[str, Any]:
    import freud

    u = _universe(p)
    a, b = u.select_atoms(RDF_A).indices, u.select_atoms(RDF_B).indices
    rdf = freud.density.RDF(bins=RDF_BINS, r_max=RDF_R_MAX)
    n = 0
    for ts in u.trajectory:
        box = freud.box.Box.from_box(ts.dimensions[:3])
        centred = box.wrap(ts.positions - 0.5 * ts.dimensions[:3])  # freud boxes are centred on the origin
        rdf.compute(system=(box, centred[b]), query_points=centred[a], reset=False)
        n += 1
    return {"frames": n, "g": rdf.rdf}


def msd_trajml(p: dict[str, Any]) -> dict[str, Any]:
    from trajml.io import open_source
    from trajml.transport import MSD, Diffusion

    res = MSD(p["msd_select"], per_particle=False, time_blocks=0).run(open_source(p["topology"], p["trajectory"]))
    fit = Diffusion(*p["fit_window"]).fit(res).fetch_model()
    return {"frames": res.n_frames, "particles": res.n_particles, "msd": res.msd_A2, "D_A2_ps": fit.D_A2_ps}


def msd_mdanalysis(p: dict[str, Any]) -> dict[str, Any]:
    from MDAnalysis.analysis.msd import EinsteinMSD
    from MDAnalysis.transformations.nojump import NoJump

    u = _universe(p)
    u.trajectory.add_transformations(NoJump())
    m = EinsteinMSD(u, select=p["msd_select"], msd_type="xyz", fft=True).run()
    msd = np.asarray(m.results.timeseries)
    lag = np.arange(len(msd)) * u.trajectory.dt
    return {"frames": m.n_frames, "particles": m.n_particles, "msd": msd, "D_A2_ps": _ols_d(lag, msd, p["fit_window"])}


def msd_freud(p: dict[str, Any]) -> dict[str, Any]:
    import freud

    u = _universe(p)
    ag = u.select_atoms(p["msd_select"])
    frames = [ag.positions.copy() for _ in u.trajectory]
    x = _nojump(frames, u.dimensions[:3].astype(np.float64))
    msd = np.asarray(freud.msd.MSD(mode="window").compute(x).msd)
    lag = np.arange(len(msd)) * u.trajectory.dt
    return {"frames": len(frames), "particles": len(ag), "msd": msd, "D_A2_ps": _ols_d(lag, msd, p["fit_window"])}


def _kinisi_parser(p: dict[str, Any], indices: np.ndarray) -> Any:
    import scipp as sc
    from kinisi.mdanalysis import MDAnalysisParser

    u = _universe(p)
    return MDAnalysisParser(u, specie=None, specie_indices=sc.array(dims=["particle"], values=indices),
                            drift_indices=sc.array(dims=["particle"], values=np.zeros(0, dtype=np.int64)),
                            time_step=u.trajectory.dt * sc.Unit("ps"), step_skip=1 * sc.Unit("dimensionless"),
                            progress=False)


def msd_kinisi(p: dict[str, Any]) -> dict[str, Any]:
    import scipp as sc
    from kinisi.analyze import DiffusionAnalyzer
    from kinisi.displacement import calculate_msd

    indices = _universe(p).select_atoms(p["msd_select"]).indices
    analyzer = DiffusionAnalyzer(_kinisi_parser(p, indices))
    analyzer._dg = calculate_msd(analyzer.trajectory, progress=False)  # what from_universe does
    analyzer.diffusion(p["fit_window"][0] * sc.Unit("ps"), progress=False, random_state=np.random.RandomState(7))
    lag, msd = np.asarray(analyzer.dt.values), np.asarray(analyzer.msd.values)  # lags from 1 frame
    d_cm2_s = float(np.mean(analyzer.D.values))
    return {"frames": p["n_frames"], "particles": len(indices), "msd": np.concatenate([[0.0], msd]),
            "D_A2_ps": d_cm2_s * 1e4, "D_least_squares_A2_ps": _ols_d(lag, msd, p["fit_window"])}


def conductivity_trajml(p: dict[str, Any]) -> dict[str, Any]:
    from trajml.io import open_source
    from trajml.transport import Conductivity

    res = Conductivity(*ION_SELECTIONS, temperature=TEMPERATURE_K, fit_start=p["fit_window"][0],
                       fit_stop=p["fit_window"][1]).run(open_source(p["topology"], p["trajectory"]))
    return {"frames": p["n_frames"], "sigma_S_m": res.sigma_S_m,
            "charge_msd_per_ion": res.charge_msd_e2A2 / int(np.sum(res.n_ions))}


def conductivity_kinisi(p: dict[str, Any]) -> dict[str, Any]:
    import scipp as sc
    from kinisi.analyze import ConductivityAnalyzer
    from kinisi.displacement import calculate_mstd

    u = _universe(p)
    ions = u.select_atoms(" or ".join(ION_SELECTIONS))
    parser = _kinisi_parser(p, ions.indices)
    charges = sc.array(dims=["particle"], values=np.round(ions.charges).astype(np.float64), unit="e")
    parser.displacements = parser.displacements * charges  # see the module docstring
    analyzer = ConductivityAnalyzer(parser)
    analyzer._dg = calculate_mstd(parser, 1, None, progress=False)
    analyzer.conductivity(p["fit_window"][0] * sc.Unit("ps"), TEMPERATURE_K * sc.Unit("K"), progress=False,
                          random_state=np.random.RandomState(7))
    sigma_ms_cm = float(np.mean(analyzer.sigma.values))
    mscd = sc.to_unit(analyzer.mscd, "e**2*angstrom**2").values  # |Σ qΔr|² / N_ions, lags from 1 frame
    lag = np.asarray(analyzer.dt.values)
    volume = float(sc.to_unit(parser._volume, "angstrom**3").value)
    # Least squares over the window, as trajml fits: σ = N e² slope / (6 V k_B T); Å⁻¹ ps⁻¹ -> 1e22 m⁻¹ s⁻¹.
    slope = 6.0 * _ols_d(lag, mscd, p["fit_window"])
    sigma_ls = len(ions) * E_CHARGE_C ** 2 * slope * 1e22 / (6.0 * volume * K_B_J_K * TEMPERATURE_K)
    return {"frames": p["n_frames"], "sigma_S_m": sigma_ms_cm / 10.0, "sigma_least_squares_S_m": sigma_ls,
            "charge_msd_per_ion": np.concatenate([[0.0], mscd])}


def graphs_trajml(p: dict[str, Any]) -> dict[str, Any]:
    from trajml.features import NeighborGraphs
    from trajml.io import open_source

    edges, dsum, frames = 0, 0.0, 0
    for g in NeighborGraphs(r_max=GRAPH_R_MAX, max_neighbors=GRAPH_M).iter_graphs(
            open_source(p["topology"], p["trajectory"])):
        edges += int(g.offsets[-1])
        dsum += float(np.sum(g.distances, dtype=np.float64))
        frames += g.n_frames
    return {"frames": frames, "edges": edges, "distance_sum_A": dsum}


def graphs_ckdtree(p: dict[str, Any]) -> dict[str, Any]:
    from scipy.spatial import cKDTree

    u = _universe(p)
    edges, dsum, frames = 0, 0.0, 0
    for ts in u.trajectory:
        lengths = ts.dimensions[:3].astype(np.float64)
        pos = np.mod(ts.positions.astype(np.float64), lengths)
        d, _ = cKDTree(pos, boxsize=lengths).query(pos, k=GRAPH_M + 1, distance_upper_bound=GRAPH_R_MAX,
                                                   workers=p["workers"])
        d = d[:, 1:]  # column 0 is the bead itself
        found = np.isfinite(d)
        edges += int(found.sum())
        dsum += float(d[found].sum())
        frames += 1
    return {"frames": frames, "edges": edges, "distance_sum_A": dsum}


def graphs_freud(p: dict[str, Any]) -> dict[str, Any]:
    import freud

    u = _universe(p)
    edges, dsum, frames = 0, 0.0, 0
    query = {"num_neighbors": GRAPH_M, "r_max": GRAPH_R_MAX, "exclude_ii": True}
    for ts in u.trajectory:
        box = freud.box.Box.from_box(ts.dimensions[:3])
        centred = box.wrap(ts.positions - 0.5 * ts.dimensions[:3])
        nl = freud.locality.AABBQuery(box, centred).query(centred, query).toNeighborList()
        edges += len(nl.distances)
        dsum += float(np.sum(nl.distances, dtype=np.float64))
        frames += 1
    return {"frames": frames, "edges": edges, "distance_sum_A": dsum}


def _method_function(analysis: str, lib: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return globals()[f"{analysis}_{lib}"]


def child_main(p: dict[str, Any]) -> dict[str, Any]:
    """Run one method on one input in this (fresh) interpreter; time it and return its numbers as JSON types."""
    warnings.simplefilter("ignore")
    fn = _method_function(p["analysis"], p["lib"])
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    out = fn(p)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    out["wall_s"] = wall
    out["cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in out.items()}


CHILD = """
import bench_scaling
_before = rss_now()
_out = bench_scaling.child_main(PAYLOAD)
_out["rss_before_bytes"] = _before
_out["peak_rss_bytes"] = rss_peak()
print(json.dumps(_out))
"""


# ----------------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------------

def _ints(text: str) -> list[int]:
    return sorted({int(x) for x in text.split(",") if x.strip()})


def _names(text: str, allowed: tuple[str, ...], flag: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    bad = [n for n in names if n not in allowed]
    if bad:
        raise SystemExit(f"{flag}: unknown {bad}; choose from {', '.join(allowed)}.")
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1,2,4",
                   help="tiles per box edge, comma-separated (n³ copies of 2 040 beads; default 1,2,4: "
                        "2 040, 16 320, 130 560 beads)")
    p.add_argument("--frames", default="200,600,2000", help="frame counts, comma-separated (default 200,600,2000)")
    p.add_argument("--max-atom-frames", type=float, default=2.7e7,
                   help="largest beads × frames of a grid point (default 2.7e7: 130 560 beads × 200 frames)")
    p.add_argument("--repeats", type=int, default=3, help="runs per method and point; medians reported (default 3)")
    p.add_argument("--analyses", default=",".join(ANALYSES), help=f"comma-separated subset of {', '.join(ANALYSES)}")
    p.add_argument("--peers", default=",".join(PEERS),
                   help=f"comma-separated subset of {', '.join(PEERS)} (empty: trajml alone)")
    p.add_argument("--timeout", type=float, default=240.0,
                   help="seconds one measurement may take, whole process (default 240)")
    p.add_argument("--max-memory", type=float, default=6.0, help="largest predicted peak memory in GiB (default 6)")
    p.add_argument("--msd-select", default="all", help="MSD selection, MDAnalysis syntax (default: all beads)")
    p.add_argument("--fit-window", default="25,250", help="D and σ fit window in ps, START,STOP (default 25,250)")
    p.add_argument("--check", default="2x200",
                   help="TILESxFRAMES point of the agreement check (default 2x200: 16 320 beads, no replay)")
    p.add_argument("--workers", type=int, default=2, help="cKDTree workers (default 2)")
    p.add_argument("--workdir", default=os.path.join(os.getcwd(), "bench-out", "scaling"),
                   help="folder for the generated inputs (default bench-out/scaling)")
    p.add_argument("--out", default=os.path.join(BENCH_DIR, "results", "bench_scaling.json"),
                   help="JSON results (default benchmarks/results/bench_scaling.json)")
    p.add_argument("--figure", default=os.path.join(BENCH_DIR, "results", "bench_scaling.png"),
                   help="figure (default benchmarks/results/bench_scaling.png; empty: none)")
    args = p.parse_args(argv)
    args.sizes, args.frames = _ints(args.sizes), _ints(args.frames)
    args.analyses = _names(args.analyses, ANALYSES, "--analyses")
    args.peers = _names(args.peers, PEERS, "--peers")
    try:
        start, stop = (float(x) for x in args.fit_window.split(","))
        tiles, frames = (int(x) for x in args.check.lower().split("x"))
    except ValueError:
        p.error("--fit-window takes START,STOP in ps (e.g. 25,250) and --check TILESxFRAMES (e.g. 2x200)")
    if not 0 <= start < stop:
        p.error(f"--fit-window: need 0 <= START < STOP; got {args.fit_window}")
    if frames > SAMPLE_FRAMES_USED:
        p.error(f"--check: the agreement check needs unreplayed frames (at most {SAMPLE_FRAMES_USED}); got {frames}")
    args.fit_window, args.check = [start, stop], (tiles, frames)
    if args.repeats < 1 or not args.sizes or not args.frames:
        p.error("--repeats must be >= 1 and --sizes/--frames non-empty")
    return args


def grid(args: argparse.Namespace, n_sample_atoms: int) -> list[tuple[int, int]]:
    """Grid points (tiles, frames), smallest work first; the check point is always included."""
    pts = {(n, f) for n in args.sizes for f in args.frames if n ** 3 * n_sample_atoms * f <= args.max_atom_frames}
    pts.add(args.check)
    return sorted(pts, key=lambda t: (t[0] ** 3 * t[1], t[0]))


def _work(model: str, n_atoms: int, n_frames: int) -> float:
    return {"NT": n_atoms * n_frames, "NT2": n_atoms * n_frames ** 2, "N": n_atoms}[model]


def skip_reason(history: list[dict[str, Any]], cost: str, mem: str, n_atoms: int, n_frames: int,
                args: argparse.Namespace) -> str | None:
    """Why a method should not run at this point, from its runs at smaller points (None: run it)."""
    if any(h.get("status") == "timeout" for h in history):
        return "timed out at a smaller point"
    done = [h for h in history if h.get("status") == "ok"]
    if not done:
        return None
    last = max(done, key=lambda h: _work(cost, h["n_atoms"], h["n_frames"]))
    scale = _work(cost, n_atoms, n_frames) / _work(cost, last["n_atoms"], last["n_frames"])
    wall = last["process_wall_s"]["median"] * scale
    if wall > args.timeout:
        return (f"predicted {wall:.0f} s (> --timeout {args.timeout:g} s) from "
                f"{last['process_wall_s']['median']:.1f} s at {last['n_atoms']} beads x {last['n_frames']} frames")
    mscale = _work(mem, n_atoms, n_frames) / _work(mem, last["n_atoms"], last["n_frames"])
    peak = last["peak_rss_bytes"]["max"] * max(mscale, 1.0)
    if peak > args.max_memory * 2 ** 30:
        return (f"predicted peak memory {peak / 2 ** 30:.1f} GiB (> --max-memory {args.max_memory:g} GiB) from "
                f"{last['peak_rss_bytes']['max'] / 2 ** 30:.2f} GiB at {last['n_atoms']} beads x "
                f"{last['n_frames']} frames")
    return None


def measure(payload: dict[str, Any], timeout: float) -> dict[str, Any]:
    """One method in a fresh interpreter: its own timings plus the whole process's wall and CPU time."""
    import subprocess

    import _common

    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        out = _common.run_python_child(CHILD, payload, timeout=timeout)
        out["status"] = "ok"
    except subprocess.TimeoutExpired:
        out = {"status": "timeout"}
    except RuntimeError as exc:
        out = {"status": "failed", "error": str(exc)[-1500:]}
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["process_wall_s"] = time.perf_counter() - t0
    out["process_cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return out


def _summary(xs: list[float]) -> dict[str, float]:
    return {"median": float(statistics.median(xs)), "min": float(min(xs)), "max": float(max(xs)), "n": len(xs)}


def run_point(inputs: dict[str, Any], methods: list[tuple[str, str, str, str]], analysis: str,
              history: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> dict[str, Any]:
    """Every method of one analysis at one point, interleaved over the repeats."""
    n_atoms, n_frames = inputs["n_atoms"], inputs["n_frames"]
    base = {"analysis": analysis, "topology": inputs["topology"], "trajectory": inputs["trajectory"],
            "n_frames": n_frames, "msd_select": args.msd_select, "fit_window": args.fit_window,
            "workers": args.workers}
    rows: dict[str, dict[str, Any]] = {}
    todo = []
    for label, lib, cost, mem in methods:
        reason = skip_reason(history[label], cost, mem, n_atoms, n_frames, args)
        if reason:
            rows[label] = {"status": "skipped", "reason": reason}
            print(f"    {label:<34s} skipped: {reason}")
        else:
            todo.append((label, lib))
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in todo}
    for r in range(args.repeats):
        for label, lib in todo:
            if runs[label] and runs[label][-1]["status"] != "ok":
                continue  # a timeout or failure is not retried
            out = measure({**base, "lib": lib}, args.timeout)
            runs[label].append(out)
            note = (f"{out['wall_s']:7.2f} s (cpu {out['cpu_s']:6.1f} s) peak "
                    f"{out['peak_rss_bytes'] / 2 ** 20:7.0f} MiB" if out["status"] == "ok" else out["status"])
            print(f"    repeat {r + 1}/{args.repeats} {label:<34s} {note}")
            if out["status"] == "failed":
                print("      " + out["error"].strip().splitlines()[-1])
    for label, outs in runs.items():
        ok = [o for o in outs if o["status"] == "ok"]
        if len(ok) < len(outs) or not ok:
            bad = outs[-1]
            rows[label] = {"status": bad["status"], "process_wall_s": bad["process_wall_s"],
                           **({"error": bad["error"]} if "error" in bad else {})}
            continue
        row = {"status": "ok", "n_atoms": n_atoms, "n_frames": n_frames}
        for key in ("wall_s", "cpu_s", "process_wall_s", "process_cpu_s", "peak_rss_bytes", "rss_before_bytes"):
            row[key] = _summary([o[key] for o in ok])
        row["result"] = {k: v for k, v in ok[0].items() if k not in row and k not in ("status",)}
        rows[label] = row
    for label, row in rows.items():
        history[label].append({**row, "n_atoms": n_atoms, "n_frames": n_frames})
    return rows


# ----------------------------------------------------------------------------------------------
# Agreement, ratios, figure
# ----------------------------------------------------------------------------------------------

def _rel(a: float, b: float) -> float:
    return float(abs(a - b) / abs(b)) if b else float("nan")


#: Why kinisi's MSDs differ from the others by up to ~1/(T - lag) (measured: 0.5 % at one lag of 200 frames).
KINISI_MSD_NOTE = ("kinisi's MDAnalysisParser repeats the first frame (coords_l.insert(0, ...)), so each lag's "
                   "average holds one extra sample, of the lag one frame shorter (a zero at lag 1): its MSD is low by "
                   "about 1/(T - lag) relative")


def agreement(analysis: str, rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each peer's numbers against trajml's on the same input (only methods that ran)."""
    ref_row = rows.get(TRAJML[analysis], {})
    if ref_row.get("status") != "ok":
        return {"note": "trajml did not run here"}
    ref = ref_row["result"]
    out: dict[str, Any] = {}
    for label, row in rows.items():
        if label == TRAJML[analysis] or row.get("status") != "ok":
            continue
        res = row["result"]
        if analysis == "rdf":
            out[label] = {"max_abs_dg": float(np.max(np.abs(np.asarray(res["g"]) - np.asarray(ref["g"]))))}
        elif analysis == "msd":
            m, mr = np.asarray(res["msd"]), np.asarray(ref["msd"])
            n = min(len(m), len(mr))
            out[label] = {"msd_max_rel_diff": float(np.max(np.abs(m[1:n] / mr[1:n] - 1.0))),
                          "D_rel_diff": _rel(res["D_A2_ps"], ref["D_A2_ps"]), "D_A2_ps": res["D_A2_ps"],
                          "trajml_D_A2_ps": ref["D_A2_ps"]}
            if "D_least_squares_A2_ps" in res:
                out[label]["D_least_squares_rel_diff"] = _rel(res["D_least_squares_A2_ps"], ref["D_A2_ps"])
                out[label]["msd_note"] = KINISI_MSD_NOTE
                out[label]["D_note"] = ("D_rel_diff compares kinisi's Bayesian D (its own estimator, window start "
                                        "to the last lag); D_least_squares_rel_diff the same least-squares window")
        elif analysis == "conductivity":
            m, mr = np.asarray(res["charge_msd_per_ion"]), np.asarray(ref["charge_msd_per_ion"])
            n = min(len(m), len(mr))
            out[label] = {"charge_msd_max_rel_diff": float(np.max(np.abs(m[1:n] / mr[1:n] - 1.0))),
                          "sigma_rel_diff": _rel(res["sigma_S_m"], ref["sigma_S_m"]),
                          "sigma_S_m": res["sigma_S_m"], "trajml_sigma_S_m": ref["sigma_S_m"],
                          "sigma_least_squares_rel_diff": _rel(res["sigma_least_squares_S_m"], ref["sigma_S_m"]),
                          "charge_msd_note": KINISI_MSD_NOTE,
                          "sigma_note": "sigma_rel_diff: kinisi's Bayesian fit from the window's start to the last "
                                        "lag; sigma_least_squares_rel_diff: a least-squares line through kinisi's "
                                        "charge MSD over trajml's window"}
        elif analysis == "graphs":
            out[label] = {"edges": res["edges"], "trajml_edges": ref["edges"],
                          "distance_sum_rel_diff": _rel(res["distance_sum_A"], ref["distance_sum_A"])}
    return out


def ratios(analysis: str, points: list[dict[str, Any]]) -> dict[str, Any]:
    """Peer / trajml wall time and peak memory at the largest point where trajml ran (>1: trajml is better)."""
    ok = [pt for pt in points if pt["rows"].get(TRAJML[analysis], {}).get("status") == "ok"]
    if not ok:
        return {}
    pt = max(ok, key=lambda q: q["n_atoms"] * q["n_frames"])
    ref = pt["rows"][TRAJML[analysis]]
    out: dict[str, Any] = {"n_atoms": pt["n_atoms"], "n_frames": pt["n_frames"],
                           "trajml_wall_s": ref["wall_s"]["median"],
                           "trajml_peak_rss_bytes": ref["peak_rss_bytes"]["max"]}
    for label, row in pt["rows"].items():
        if label == TRAJML[analysis]:
            continue
        if row["status"] == "ok":
            out[label] = {"wall_ratio": row["wall_s"]["median"] / ref["wall_s"]["median"],
                          "cpu_ratio": row["cpu_s"]["median"] / ref["cpu_s"]["median"],
                          "peak_memory_ratio": row["peak_rss_bytes"]["max"] / ref["peak_rss_bytes"]["max"]}
        else:
            out[label] = {"status": row["status"], **({"reason": row["reason"]} if "reason" in row else {})}
    return out


COLOURS = {"trajml": "black", "mdanalysis": "tab:orange", "freud": "tab:blue", "kinisi": "tab:green",
           "ckdtree": "tab:purple"}
MARKERS = ["o", "s", "^", "D", "v", "P"]


def _tick(v: float, _: Any) -> str:
    """Label 1, 2 and 5 times a power of ten on log axes (short ranges keep some labels)."""
    if v <= 0:
        return ""
    lead = round(v / 10 ** np.floor(np.log10(v)), 6)
    return f"{v:g}" if lead in (1.0, 2.0, 5.0) else ""


def figure(results: dict[str, Any], path: str, timeout: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    analyses = [a for a in ANALYSES if a in results["analyses"]]
    frames_all = sorted({pt["n_frames"] for a in analyses for pt in results["analyses"][a]["points"]})
    marker = {f: MARKERS[i % len(MARKERS)] for i, f in enumerate(frames_all)}
    fig, axes = plt.subplots(3, len(analyses), figsize=(4.2 * len(analyses), 10.5), squeeze=False)
    for col, a in enumerate(analyses):
        pts = results["analyses"][a]["points"]
        for label, lib, _, _ in METHODS[a]:
            series = [(pt["n_atoms"] * pt["n_frames"], pt["n_frames"], pt["rows"][label]) for pt in pts
                      if label in pt["rows"]]
            ok = [(x, f, r) for x, f, r in series if r["status"] == "ok"]
            timed_out = [x for x, _, r in series if r["status"] == "timeout"]
            for row, key, scale in ((0, "wall_s", 1.0), (1, "cpu_s", 1.0), (2, "peak_rss_bytes", 2 ** -20)):
                ax = axes[row, col]
                if ok:
                    xs = [x for x, _, _ in ok]
                    ys = [r[key]["max" if key == "peak_rss_bytes" else "median"] * scale for _, _, r in ok]
                    ax.plot(xs, ys, "-", color=COLOURS[lib], lw=1.2, alpha=0.7)
                    for x, y, (_, f, _) in zip(xs, ys, ok):
                        ax.plot(x, y, marker[f], color=COLOURS[lib], ms=6, mfc="white" if lib != "trajml" else None)
                if row == 0 and timed_out:
                    ax.plot(timed_out, [timeout] * len(timed_out), "x", color=COLOURS[lib], ms=8, mew=2)
        for row, ylabel in ((0, "wall time of the analysis (s)"), (1, "CPU time of the analysis (s)"),
                            (2, "peak resident memory (MiB)")):
            ax = axes[row, col]
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(_tick))
            ax.yaxis.set_minor_formatter(FuncFormatter(_tick))
            ax.grid(True, which="both", alpha=0.25)
            ax.set_xlabel("beads × frames")
            if col == 0:
                ax.set_ylabel(ylabel)
        axes[0, col].set_title(results["analyses"][a]["title"], fontsize=10)
        axes[0, col].legend(handles=[Line2D([], [], color=COLOURS[lib], marker="o", mfc="white" if lib != "trajml"
                                            else None, label=label) for label, lib, _, _ in METHODS[a]
                                     if any(label in pt["rows"] for pt in pts)], fontsize=7, loc="upper left")
    handles = [Line2D([], [], ls="", marker=marker[f], color="grey", mfc="white", label=f"{f} frames")
               for f in frames_all]
    handles.append(Line2D([], [], ls="", marker="x", color="grey", mew=2, label=f"timed out (> {timeout:g} s)"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    load = results["machine_load"]
    fig.suptitle(f"trajml scaling on tiled copies of its CG sample: trajml (black, filled) and peers (open); "
                 f"{results['environment']['cpu_count']} cores, load {load['start'][0]:.1f} to {load['end'][0]:.1f}; "
                 f"medians of {results['config']['repeats']}", fontsize=9)
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    fig.savefig(path, dpi=130)
    plt.close(fig)


TITLES = {"rdf": f"Li–O g(r), {RDF_R_MAX:g} Å, {RDF_BINS} bins", "msd": "MSD (all origins) + D",
          "conductivity": "Einstein–Helfand σ (Li, TFSI)",
          "graphs": f"k-NN graphs, M = {GRAPH_M}, r < {GRAPH_R_MAX:g} Å"}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    sys.path.insert(0, BENCH_DIR)
    import _common

    command = "python benchmarks/bench_scaling.py " + " ".join(sys.argv[1:] if argv is None else argv)
    env = _common.environment(("numpy", "scipy", "numba", "MDAnalysis", "freud", "kinisi", "trajml"))
    load_start = os.getloadavg()
    print(f"bench_scaling: {env['cpu_count']} CPUs, load {load_start[0]:.2f}; " +
          ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    cache: dict[str, Any] = {}

    def sample() -> dict[str, Any]:
        if not cache:
            cache.update(_sample())
        return cache

    from trajml import data

    n0 = int(data.sample_parameters()["derived"]["n_beads"])
    points = grid(args, n0)
    print("points (beads x frames): " + ", ".join(f"{n ** 3 * n0}x{f}" for n, f in points))
    methods = {a: [m for m in METHODS[a] if m[1] == "trajml" or m[1] in args.peers] for a in args.analyses}
    inputs = {pt: make_inputs(args.workdir, *pt, sample) for pt in points}

    print("warm-up (untimed): every method once at the smallest point")
    small = inputs[points[0]]
    for a, ms in methods.items():
        for label, lib, _, _ in ms:
            base = {"analysis": a, "lib": lib, "topology": small["topology"], "trajectory": small["trajectory"],
                    "n_frames": small["n_frames"], "msd_select": args.msd_select, "fit_window": args.fit_window,
                    "workers": args.workers}
            w = measure(base, args.timeout)
            if w["status"] != "ok":
                print(f"  warm-up of {label} {w['status']}: {w.get('error', '')[-600:]}")

    results: dict[str, Any] = {
        "command": command, "environment": env,
        "config": {k: v for k, v in vars(args).items() if k not in ("workdir", "out", "figure")},
        "inputs": {f"{n}x{f}": {k: v for k, v in inputs[(n, f)].items() if k not in ("topology", "trajectory")}
                   for n, f in points},
        "analyses": {}}
    t_start = time.perf_counter()
    for a, ms in methods.items():
        history: dict[str, list[dict[str, Any]]] = {label: [] for label, *_ in ms}
        pts_out = []
        for pt in points:
            inp = inputs[pt]
            print(f"\n== {a}: {inp['n_atoms']} beads x {inp['n_frames']} frames"
                  f"{' (replayed)' if inp['replayed'] else ''} ==")
            rows = run_point(inp, ms, a, history, args)
            pts_out.append({"tiles": pt[0], "n_atoms": inp["n_atoms"], "n_frames": inp["n_frames"],
                            "replayed": inp["replayed"], "rows": rows})
        check = next(p for p in pts_out if (p["tiles"], p["n_frames"]) == args.check)
        results["analyses"][a] = {"title": TITLES[a], "points": pts_out,
                                  "agreement": {"n_atoms": check["n_atoms"], "n_frames": check["n_frames"],
                                                "vs_trajml": agreement(a, check["rows"])},
                                  "ratios_at_largest": ratios(a, pts_out)}
        # Large arrays stay only at the check point; elsewhere keep the scalars.
        for p in pts_out:
            if p is check:
                continue
            for row in p["rows"].values():
                for key in ("g", "msd", "charge_msd_per_ion"):
                    row.get("result", {}).pop(key, None)
        if args.out:  # what is done so far survives an interrupted run
            with open(args.out, "w") as fh:
                json.dump({**results, "partial": True}, fh, indent=1)
    results["total_s"] = time.perf_counter() - t_start
    results["machine_load"] = {"start": load_start, "end": os.getloadavg()}
    report(results)
    print(f"\ntotal {results['total_s']:.0f} s; load {load_start[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    print(f"command: {command}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=1)
        print(f"results written to {args.out}")
    if args.figure:
        figure(results, args.figure, args.timeout)
        print(f"figure written to {args.figure}")
    return results


def report(results: dict[str, Any]) -> None:
    """Print the agreement check and the ratios at the largest point."""
    from _common import fmt_bytes, format_table

    for a, res in results["analyses"].items():
        rat = res["ratios_at_largest"]
        if rat:
            print(f"\n{res['title']}: at {rat['n_atoms']} beads x {rat['n_frames']} frames, trajml "
                  f"{rat['trajml_wall_s']:.2f} s, peak {fmt_bytes(rat['trajml_peak_rss_bytes'])}")
            rows = []
            for label, r in rat.items():
                if not isinstance(r, dict):
                    continue
                if "wall_ratio" in r:
                    rows.append([label, f"{r['wall_ratio']:.2f}x", f"{r['cpu_ratio']:.2f}x",
                                 f"{r['peak_memory_ratio']:.2f}x"])
                else:
                    rows.append([label, r["status"], r.get("reason", ""), ""])
            if rows:
                print(format_table(["peer", "wall / trajml", "cpu / trajml", "peak memory / trajml"], rows))
        agree = res["agreement"]
        print(f"agreement at {agree['n_atoms']} beads x {agree['n_frames']} frames: "
              + json.dumps(agree["vs_trajml"], default=str))


if __name__ == "__main__":
    main()
