"""Shared helpers for the hand-run benchmarks in this folder.

Nothing here is part of the installed package; the benchmark scripts put this
folder on ``sys.path`` (running ``python benchmarks/bench_X.py`` does so) and
``import _common``.

What is here
------------
- :func:`spe_layout`, :func:`write_psf`, :func:`generate_spe_trajectory`: a
  synthetic, coarse-grained solid-polymer-electrolyte system (PEO bead chains,
  Li+ and TFSI- beads) moving as Rouse chains and Brownian ions, wrapped in a
  cubic periodic box and written frame by frame with ``MDAnalysis.Writer``
  (XTC and/or DCD), with a PSF topology that MDAnalysis and mdtraj both read.
  Files are cached in a work folder and reused. :data:`CG_DENSITY` is the bead
  density of trajml's own CG model.
- :func:`sample_systems`: copies of the bundled sample in ``sims/sys*`` folders,
  the input of the pipeline benchmarks.
- :func:`time_interleaved`, :func:`summarise`: medians over repeats, with the
  methods interleaved inside each repeat so slow drifts of a shared, noisy
  machine hit every method alike.
- :func:`run_python_child`, :data:`RSS_PROBE`: run a snippet in a fresh
  interpreter and read its peak resident memory (``VmHWM``).
- :class:`AllAtomSum`: a featurizer that touches every coordinate of every frame
  (sum of positions), for read-throughput runs through ``trajml.parallel.run``.
- :func:`environment`, :func:`format_table`, :func:`write_results`: provenance,
  plain-text tables and the ``--out`` JSON.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from trajml.features.base import Featurizer

__all__ = [
    "CG_DENSITY",
    "SPELayout",
    "spe_layout",
    "write_psf",
    "box_length_for",
    "sample_systems",
    "generate_spe_trajectory",
    "time_interleaved",
    "summarise",
    "run_python_child",
    "RSS_PROBE",
    "AllAtomSum",
    "environment",
    "format_table",
    "fmt_bytes",
    "silence_c_stdout",
]

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))

# ----------------------------------------------------------------------------------------------
# Synthetic SPE system
# ----------------------------------------------------------------------------------------------

#: Bead density of trajml's coarse-grained SPE model (0.85 sigma^-3 with sigma = 5 Å), beads/Å³.
CG_DENSITY = 0.0068
#: Bead parameters: (residue name, atom name, type, mass in amu, charge in e).
EO_BEAD = ("PEO", "EO", "EO", 44.053, 0.0)
LI_BEAD = ("LI", "LI", "Li", 6.941, 1.0)
TFSI_BEAD = ("TFSI", "TFSI", "TFSI", 280.15, -1.0)


@dataclass(frozen=True)
class SPELayout:
    """Atoms of a coarse-grained PEO/LiTFSI system, in topology order.

    Order: PEO chains (``chain_length`` beads each, the last one may be
    shorter), then alternating Li and TFSI beads, one residue per ion.

    Attributes
    ----------
    n_atoms : int
    chain_starts : ndarray, shape (C + 1,), int64
        Chain ``c`` holds beads ``chain_starts[c]:chain_starts[c + 1]``.
    n_eo, n_li, n_tfsi : int
        Bead counts.
    resnames, names, types, segids : ndarray of str, shape (N,)
    resids : ndarray, shape (N,), int64
        1-based residue (molecule) ids.
    masses : ndarray, shape (N,), float64, amu
    charges : ndarray, shape (N,), float64, e
    bonds : ndarray, shape (B, 2), int64
        0-based bonded pairs along each chain.
    """

    n_atoms: int
    chain_starts: np.ndarray
    n_eo: int
    n_li: int
    n_tfsi: int
    resnames: np.ndarray
    names: np.ndarray
    types: np.ndarray
    segids: np.ndarray
    resids: np.ndarray
    masses: np.ndarray
    charges: np.ndarray
    bonds: np.ndarray


def spe_layout(n_atoms: int, chain_length: int = 50, eo_per_li: float = 16.0) -> SPELayout:
    """Lay out ``n_atoms`` beads as PEO chains plus LiTFSI at ratio EO:Li = ``eo_per_li``."""
    if n_atoms < 3:
        raise ValueError(f"The 'n_atoms' parameter must be >= 3. Got {n_atoms!r} instead.")
    n_pairs = max(1, int(round(n_atoms / (eo_per_li + 2.0))))
    n_eo = n_atoms - 2 * n_pairs
    starts = list(range(0, n_eo, chain_length)) + [n_eo]
    chain_starts = np.asarray(starts, dtype=np.int64)
    n_chains = len(chain_starts) - 1

    resnames = np.empty(n_atoms, dtype=object)
    names = np.empty(n_atoms, dtype=object)
    types = np.empty(n_atoms, dtype=object)
    segids = np.empty(n_atoms, dtype=object)
    masses = np.empty(n_atoms)
    charges = np.empty(n_atoms)
    resids = np.empty(n_atoms, dtype=np.int64)
    for sl, bead, seg in ((slice(0, n_eo), EO_BEAD, "PEO"),
                          (slice(n_eo, n_atoms, 2), LI_BEAD, "ION"),
                          (slice(n_eo + 1, n_atoms, 2), TFSI_BEAD, "ION")):
        resnames[sl], names[sl], types[sl], masses[sl], charges[sl] = bead
        segids[sl] = seg
    for c in range(n_chains):
        resids[chain_starts[c]:chain_starts[c + 1]] = c + 1
    resids[n_eo:] = n_chains + 1 + np.arange(n_atoms - n_eo)
    bonds = np.concatenate([
        np.stack([np.arange(a, b - 1), np.arange(a + 1, b)], axis=1)
        for a, b in zip(chain_starts[:-1], chain_starts[1:]) if b - a > 1
    ] or [np.empty((0, 2), np.int64)]).astype(np.int64)
    return SPELayout(n_atoms=n_atoms, chain_starts=chain_starts, n_eo=n_eo, n_li=n_pairs, n_tfsi=n_pairs,
                     resnames=resnames, names=names, types=types, segids=segids, resids=resids,
                     masses=masses, charges=charges, bonds=bonds)


def write_psf(path: str, layout: SPELayout, title: str = "synthetic CG PEO/LiTFSI system (trajml benchmarks)") -> None:
    """Write a PSF that both MDAnalysis and mdtraj read.

    The header carries the ``EXT NAMD`` flags, so readers split fields on
    whitespace (MDAnalysis' fixed-column EXT parser truncates masses) and
    residue ids above 9999 are fine.
    """
    lines = ["PSF EXT NAMD", "", f"{1:10d} !NTITLE", f"* {title}", "", f"{layout.n_atoms:10d} !NATOM"]
    for i in range(layout.n_atoms):
        lines.append(
            f"{i + 1:10d} {layout.segids[i]:<8s} {int(layout.resids[i]):<8d} {layout.resnames[i]:<8s} "
            f"{layout.names[i]:<8s} {layout.types[i]:<6s} {layout.charges[i]:14.6f}{layout.masses[i]:14.4f}{0:8d}"
        )
    lines += ["", f"{len(layout.bonds):10d} !NBOND: bonds"]
    flat = (layout.bonds + 1).ravel()
    for lo in range(0, len(flat), 8):
        lines.append("".join(f"{v:10d}" for v in flat[lo:lo + 8]))
    for section in ("NTHETA: angles", "NPHI: dihedrals", "NIMPHI: impropers"):
        lines += ["", f"{0:10d} !{section}", ""]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def sample_systems(folder: str | os.PathLike, n: int, digits: int = 1) -> None:
    """Copies of the bundled CG sample, ``system.psf`` and ``traj.xtc``, in ``folder/sims/sys0`` … ``sys{n-1}``.

    ``digits`` zero-pads the number (2: ``sys00``); a pipeline reads them with ``glob: sims/sys*``.
    """
    import shutil

    from trajml.data import sample_topology, sample_trajectory

    for k in range(n):
        d = os.path.join(folder, "sims", f"sys{k:0{digits}d}")
        os.makedirs(d, exist_ok=True)
        shutil.copyfile(sample_topology(), os.path.join(d, "system.psf"))
        shutil.copyfile(sample_trajectory(), os.path.join(d, "traj.xtc"))


def box_length_for(n_atoms: int, density: float = 0.058) -> float:
    """Cubic box edge in Å for ``n_atoms`` beads at ``density`` beads/Å³ (20 000 beads -> ~70 Å)."""
    return float((n_atoms / density) ** (1.0 / 3.0))


def _chain_neighbours(layout: SPELayout) -> tuple[np.ndarray, np.ndarray]:
    """Previous and next bead of each EO bead (itself at chain ends)."""
    idx = np.arange(layout.n_eo)
    prev, nxt = idx - 1, idx + 1
    prev[layout.chain_starts[:-1]] = layout.chain_starts[:-1]
    nxt[layout.chain_starts[1:] - 1] = layout.chain_starts[1:] - 1
    return prev, nxt


def _initial_positions(layout: SPELayout, box: float, bond: float, rng: np.random.Generator) -> np.ndarray:
    """Unwrapped start: chains as random walks of step ``bond`` Å, ions uniform in the box."""
    x = np.empty((layout.n_atoms, 3))
    for a, b in zip(layout.chain_starts[:-1], layout.chain_starts[1:]):
        steps = rng.normal(size=(b - a, 3))
        steps *= bond / np.linalg.norm(steps, axis=1, keepdims=True)
        steps[0] = rng.uniform(0, box, size=3)
        x[a:b] = np.cumsum(steps, axis=0)
    x[layout.n_eo:] = rng.uniform(0, box, size=(layout.n_atoms - layout.n_eo, 3))
    return x


def _empty_universe(layout: SPELayout) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import MDAnalysis as mda

        resindex = np.repeat(np.arange(len(np.unique(layout.resids))), np.diff(
            np.flatnonzero(np.r_[True, np.diff(layout.resids) != 0, True])))
        u = mda.Universe.empty(layout.n_atoms, n_residues=int(resindex.max()) + 1, atom_resindex=resindex,
                               trajectory=True)
        u.add_TopologyAttr("names", layout.names)
        u.add_TopologyAttr("types", layout.types)
        u.add_TopologyAttr("masses", layout.masses)
        u.add_TopologyAttr("charges", layout.charges)
        first = np.flatnonzero(np.r_[True, np.diff(layout.resids) != 0])
        u.add_TopologyAttr("resnames", layout.resnames[first])
        u.add_TopologyAttr("resids", layout.resids[first])
    return u


def generate_spe_trajectory(
    workdir: str,
    n_atoms: int,
    lengths: Sequence[int],
    formats: Sequence[str] = ("xtc",),
    *,
    seed: int = 2024,
    density: float = 0.058,
    dt_ps: float = 10.0,
    bead_step: float = 0.25,
    ion_steps: tuple[float, float] = (0.12, 0.08),
    bond: float = 1.5,
    log: Callable[[str], None] | None = print,
) -> dict[str, Any]:
    """Write (or reuse) a synthetic SPE trajectory of each length in ``lengths``.

    One simulated run of ``max(lengths)`` frames is written in a single pass to
    every requested file at once: the file of length L holds its first L frames,
    so shorter files are exact prefixes of longer ones. Memory stays bounded by
    a few copies of one frame (the trajectory is written frame by frame).

    Dynamics, per saved frame: EO beads follow Rouse (bead-spring) Brownian
    dynamics, ``x += k * (x[i-1] + x[i+1] - 2 x[i]) + bead_step * xi`` with
    ``k = 3 bead_step² / (2 bond²)`` so bonds stay about ``bond`` Å long; Li and
    TFSI beads random-walk with steps ``ion_steps`` Å. Coordinates are wrapped
    into a cubic box of edge :func:`box_length_for` (~70 Å for 20 000 beads),
    so consecutive atoms are close as in real polymer files and XTC compression
    behaves realistically.

    Parameters
    ----------
    workdir : str
        Cache folder; files already there (same atoms, seed and length) are reused.
    n_atoms : int
        Beads per frame.
    lengths : sequence of int
        Frame counts of the files to produce.
    formats : sequence of {"xtc", "dcd"}
        Formats to write; a format given as ``"dcd:1000"`` is written only for
        that length.
    seed, density, dt_ps, bead_step, ion_steps, bond
        Random seed; beads/Å³; time between frames (ps); RMS step per frame per
        axis (Å) of EO beads and of (Li, TFSI) beads; mean bond length (Å).
    log : callable, optional
        Progress messages.

    Returns
    -------
    dict
        ``{"topology": psf_path, "box": L, "files": {fmt: {length: path}}, "bytes": {path: size}}``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import MDAnalysis as mda

    os.makedirs(workdir, exist_ok=True)
    lengths = sorted({int(n) for n in lengths})
    stem = f"spe_N{n_atoms}_s{seed}" + ("" if density == 0.058 else f"_d{density:g}")
    psf = os.path.join(workdir, stem + ".psf")
    box = box_length_for(n_atoms, density)
    layout = spe_layout(n_atoms)
    if not os.path.exists(psf):
        write_psf(psf + ".tmp", layout)
        os.replace(psf + ".tmp", psf)

    wanted: dict[str, dict[int, str]] = {}
    for spec in formats:
        fmt, _, only = spec.lower().partition(":")
        if fmt not in ("xtc", "dcd"):
            raise ValueError(f"Unsupported benchmark format {fmt!r}; use 'xtc' or 'dcd'.")
        for n in ([int(only)] if only else lengths):
            wanted.setdefault(fmt, {})[n] = os.path.join(workdir, f"{stem}_F{n}.{fmt}")
    todo = [(fmt, n, p) for fmt, d in wanted.items() for n, p in d.items() if not os.path.exists(p)]
    if todo:
        n_total = max(n for _, n, _ in todo)
        if log:
            log(f"generating {len(todo)} file(s) of {n_atoms} beads, up to {n_total} frames, box {box:.1f} Å ...")
        u = _empty_universe(layout)
        writers = []
        for fmt, n, path in todo:
            tmp = path + ".tmp"
            opts = {"dt": dt_ps} if fmt == "dcd" else {}  # DCD stores a time step, not times
            writers.append((n, path, tmp, mda.Writer(tmp, n_atoms=n_atoms, format=fmt.upper(), **opts)))
        rng = np.random.default_rng(seed)
        x = _initial_positions(layout, box, bond, rng)
        prev, nxt = _chain_neighbours(layout)
        k = 1.5 * bead_step ** 2 / bond ** 2
        sig = np.empty((n_atoms, 1))
        sig[:layout.n_eo] = bead_step
        sig[layout.n_eo::2] = ion_steps[0]
        sig[layout.n_eo + 1::2] = ion_steps[1]
        ts = u.trajectory.ts
        t0 = time.perf_counter()
        try:
            for frame in range(n_total):
                if frame:
                    eo = x[:layout.n_eo]
                    lap = eo[prev] + eo[nxt] - 2.0 * eo
                    x += sig * rng.standard_normal(x.shape)
                    x[:layout.n_eo] += k * lap
                ts.positions = np.mod(x, box).astype(np.float32)
                ts.dimensions = np.array([box, box, box, 90.0, 90.0, 90.0], dtype=np.float32)
                ts.frame = frame
                ts.time = frame * dt_ps
                for n, _, _, w in writers:
                    if frame < n:
                        w.write(u.atoms)
                if log and (frame + 1) % 500 == 0:
                    log(f"  frame {frame + 1}/{n_total} ({time.perf_counter() - t0:.0f} s)")
        finally:
            for _, _, _, w in writers:
                w.close()
        for _, path, tmp, _ in writers:
            os.replace(tmp, path)
        if log:
            log(f"  done in {time.perf_counter() - t0:.1f} s")
    files = {fmt: dict(sorted(d.items())) for fmt, d in wanted.items()}
    sizes = {p: os.path.getsize(p) for d in files.values() for p in d.values()}
    return {"topology": psf, "box": box, "layout": layout, "files": files, "bytes": sizes}


# ----------------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------------

@contextmanager
def silence_c_stdout() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null for the block (mdtraj's C DCD plugin prints on every open)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout (e.g. captured by a test runner)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def time_interleaved(
    methods: Mapping[str, Callable[[], Mapping[str, Any]]],
    repeats: int,
    *,
    log: Callable[[str], None] | None = print,
) -> dict[str, list[dict[str, Any]]]:
    """Run every method ``repeats`` times, methods interleaved within each repeat.

    Each method returns a mapping with at least ``"seconds"`` (the timed part)
    and may add anything else (frames read, setup time, a checksum). Returns
    ``{name: [result of repeat 0, repeat 1, ...]}``.
    """
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in methods}
    for r in range(repeats):
        for name, fn in methods.items():
            res = dict(fn())
            out[name].append(res)
            if log:
                log(f"  repeat {r + 1}/{repeats}  {name:<28s} {res['seconds']:8.3f} s")
    return out


def summarise(samples: Sequence[float]) -> dict[str, float]:
    """Median, min, max and relative spread ((max - min) / median) of repeated measurements."""
    med = float(statistics.median(samples))
    return {"median": med, "min": float(min(samples)), "max": float(max(samples)),
            "spread": float((max(samples) - min(samples)) / med) if med else float("nan"),
            "n": len(samples)}


# ----------------------------------------------------------------------------------------------
# Memory
# ----------------------------------------------------------------------------------------------

#: Code a child snippet can ``exec`` to define ``rss_now()`` and ``rss_peak()`` (bytes).
#: ``rss_peak`` reads ``VmHWM`` from /proc/self/status: the high-water mark of this
#: process image. ``getrusage(RUSAGE_SELF).ru_maxrss`` is *not* used on Linux: execve
#: folds the parent's high-water mark into it (a big driver makes every child look big).
RSS_PROBE = r'''
import os as _os, resource as _resource, sys as _sys
def _status(key):
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
def rss_now():
    v = _status("VmRSS")
    if v is None:
        import psutil
        v = psutil.Process().memory_info().rss
    return v
def rss_peak():
    v = _status("VmHWM")
    if v is None:
        m = _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss
        v = m if _sys.platform == "darwin" else m * 1024
    return v
'''


def run_python_child(code: str, payload: Mapping[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter and return the JSON object it prints last.

    The child gets ``PAYLOAD`` (the decoded ``payload``), ``rss_now``/``rss_peak``
    from :data:`RSS_PROBE`, and this folder on ``sys.path``. It must print one
    JSON object as its last stdout line. Raises RuntimeError with the child's
    stderr if it fails.
    """
    prologue = (
        "import json, sys\n"
        f"sys.path.insert(0, {BENCH_DIR!r})\n"
        "PAYLOAD = json.loads(sys.argv[1])\n" + RSS_PROBE + "\n"
    )
    proc = subprocess.run([sys.executable, "-c", prologue + code, json.dumps(dict(payload))],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("{")]
    if not lines:
        raise RuntimeError(f"benchmark child printed no JSON result:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------------------------
# A featurizer that touches every atom
# ----------------------------------------------------------------------------------------------

class AllAtomSum(Featurizer):
    """Frame count and the sum of every coordinate: touches all atoms of every frame read.

    State is ``[n_frames, Σ positions]`` (float64). Each frame is summed in
    float32 (NumPy's pairwise sum, ~1 ms per 100 x 20 000-atom chunk) and the
    frame sums are added in float64, so the analysis costs little next to
    reading and the result is the same on every scheduler.
    """

    needs_box = False

    def __init__(self) -> None:
        self.atoms = None

    def init_state(self) -> np.ndarray:
        return np.zeros(2)

    def update(self, state: np.ndarray, chunk: Any) -> np.ndarray:
        pos = chunk.positions
        out = state.copy()
        out[0] += chunk.n_frames
        out[1] += pos.reshape(pos.shape[0], -1).sum(axis=1).sum(dtype=np.float64)
        return out

    def merge(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def finalize(self, state: np.ndarray, provenance: dict[str, Any]) -> dict[str, Any]:
        return {"n_frames": int(state[0]), "sum": float(state[1]), "provenance": provenance}


# ----------------------------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------------------------

def environment(packages: Iterable[str] = ("numpy", "MDAnalysis", "mdtraj", "dask", "trajml")) -> dict[str, Any]:
    """Machine and package versions, for the JSON output (no paths)."""
    import importlib

    versions = {}
    for name in packages:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                versions[name] = getattr(importlib.import_module(name), "__version__", "?")
        except Exception:
            versions[name] = None
    mem = None
    try:
        import psutil

        mem = psutil.virtual_memory().total
    except Exception:
        pass
    return {"python": platform.python_version(), "platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor(), "cpu_count": os.cpu_count(),
            "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "memory_bytes": mem, "versions": versions}


def command_line(script: str, argv: Sequence[str] | None) -> str:
    """How a benchmark was run, for its results: ``python benchmarks/SCRIPT`` and its arguments.

    ``argv`` is what ``main`` was given (None: the process's own arguments).
    """
    return f"python benchmarks/{script} " + " ".join(sys.argv[1:] if argv is None else argv)


def write_results(path: str | None, results: Mapping[str, Any]) -> None:
    """Write a benchmark's results as JSON (arrays as lists), when ``path`` (``--out``) is given."""
    if not path:
        return
    with open(path, "w") as fh:
        json.dump(results, fh, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    print(f"results written to {path}")


def trajml_graph_pass(top: str, traj: str, r_max: float, max_neighbors: int, chunk_size: int,
                      stop: int | None) -> dict[str, Any]:
    """Open the files and build trajml's k-NN graphs of every frame up to ``stop``: seconds, frames, edges."""
    from trajml.features import NeighborGraphs
    from trajml.io import open_source

    t0 = time.perf_counter()
    src = open_source(top, traj)
    edges = frames = 0
    for g in NeighborGraphs(r_max=r_max, max_neighbors=max_neighbors).iter_graphs(src, chunk_size=chunk_size,
                                                                                  stop=stop):
        edges += int(g.offsets[-1])
        frames += g.n_frames
    return {"seconds": time.perf_counter() - t0, "frames": frames, "edges": edges}


def fmt_bytes(n: float | None) -> str:
    """Human-readable size (MiB below 1 GiB, else GiB)."""
    if n is None:
        return "-"
    if abs(n) >= 1024 ** 3:
        return f"{n / 1024 ** 3:.2f} GiB"
    return f"{n / 1024 ** 2:.1f} MiB"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A plain-text (Markdown-compatible) table; ``align`` is a string of 'l'/'r' per column."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align)) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if a == "r" else (":" + "-" * (w + 1))
                         for w, a in zip(widths, align)) + "|"
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])
