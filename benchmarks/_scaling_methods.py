"""The scaling benchmark's methods: trajml and each peer on one input, run inside a fresh interpreter.

Part of ``bench_scaling.py`` (run by hand, not in CI); its docstring describes the method.
"""

from __future__ import annotations

import resource
import time
import warnings
from typing import Any, Callable

import numpy as np
from _scaling_inputs import nojump

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

TITLES = {"rdf": f"Li–O g(r), {RDF_R_MAX:g} Å, {RDF_BINS} bins", "msd": "MSD (all origins) + D",
          "conductivity": "Einstein–Helfand σ (Li, TFSI)",
          "graphs": f"k-NN graphs, M = {GRAPH_M}, r < {GRAPH_R_MAX:g} Å"}


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
    x = nojump(np.stack(frames), u.dimensions[:3].astype(np.float64))
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
import _scaling_methods
_before = rss_now()
_out = _scaling_methods.child_main(PAYLOAD)
_out["rss_before_bytes"] = _before
_out["peak_rss_bytes"] = rss_peak()
print(json.dumps(_out))
"""

