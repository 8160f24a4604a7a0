"""``trajml info``: what a trajectory holds."""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from trajml.cli._common import add_input_arguments, add_run_arguments, open_from_args

__all__ = ["register", "run", "describe", "time_axis_summary"]


def register(subparsers: Any) -> None:
    """Add the ``info`` sub-command."""
    p = subparsers.add_parser(
        "info",
        help="frames, atoms, species, box, time step and duration of a trajectory",
        description="Print what a trajectory holds: frames, atoms, species counts (by atom name), box "
        "(Å, degrees), time step and duration (ps). Without TOP/TRAJ it describes the bundled sample SPE.",
    )
    add_input_arguments(p, optional=True)
    p.add_argument("--json", action="store_true", help="print JSON (keys: n_frames, n_atoms, dt_ps, species, box, ...)")
    p.add_argument("--scan", action="store_true",
                   help="read every frame (validates the files, lists every implausible frame; adds volume statistics)")
    add_run_arguments(p, skip=("start", "stop", "step", "chunk_size", "traj_ids"))
    p.set_defaults(func=run)


def _span_ps(member: Any) -> float:
    """Time from a trajectory's first to its last frame, ps: (n - 1) dt on a regular axis (float32
    stamps near 1e6 ps would be off by their rounding), else the stored end times."""
    axis = member.axis
    if axis is not None and axis.regular:
        return (member.n_frames - 1) * float(axis.dt)
    return float(member.infos[-1].last_time - member.infos[0].first_time)


def describe(source: Any, scan: bool = False, scheduler: Any = "serial", progress: bool | None = False,
             n_workers: int | None = None) -> dict[str, Any]:
    """Summarise a source as a JSON-ready dict.

    Returns
    -------
    dict
        ``n_frames``, ``n_atoms``, ``n_trajectories``, ``dt_ps``, ``duration_ps`` (first to
        last frame, summed over trajectories), ``time_start_ps``, ``species`` (atom name →
        count), ``box`` (``matrix_A``, ``lengths_A``, ``angles_deg``, ``volume_A3`` of the
        first frame, or None), ``files``, ``time_axes`` (one :func:`time_axis_summary` per
        trajectory); with ``scan`` also ``implausible`` (every implausible frame, see
        :func:`trajml.io.plausibility.scan_source`; empty for a sound file) and, when there is none,
        ``volume_A3`` statistics.
    """
    from trajml.box import Box
    from trajml.chunk import ChunkSpec

    first = source.read(ChunkSpec(0, 0, 1), atoms=np.zeros(1, dtype=np.int64))
    box = None
    if first.boxes is not None:
        b = Box.from_matrix(first.boxes[0])
        box = {
            "matrix_A": np.round(b.matrix, 4).tolist(),
            "lengths_A": np.round(b.lengths, 4).tolist(),
            "angles_deg": np.round(b.angles, 4).tolist(),
            "volume_A3": round(b.volume, 3),
            "orthorhombic": b.is_orthorhombic,
        }
    duration = sum(_span_ps(m) for m in source.members)
    info: dict[str, Any] = {
        "n_frames": source.n_frames,
        "n_atoms": source.n_atoms,
        "n_trajectories": source.n_trajectories,
        "dt_ps": round(source.dt, 6),
        "duration_ps": round(duration, 6),
        "time_start_ps": round(float(first.times[0]), 6),
        "species": source.atoms.species_counts("names"),
        "box": box,
        "files": [[m.topology, *m.parts] for m in source.members],
        "time_axes": [time_axis_summary(m) for m in source.members],
    }
    if source.atoms.charges is not None:
        info["total_charge_e"] = round(float(source.atoms.charges.sum()), 6)
    if scan:
        from trajml.features import TrajectorySummary
        from trajml.io.plausibility import scan_source
        from trajml.parallel import run as run_featurizer

        info["implausible"] = scan_source(source)
        if info["implausible"]:  # the summary would stop at the first; the list says it all
            return info

        res = run_featurizer(TrajectorySummary(), source, scheduler=scheduler, n_workers=n_workers, progress=progress)
        info["volume_A3"] = {"mean": res.mean_volume, "std": res.std_volume, "min": res.min_volume,
                             "max": res.max_volume}
        info["frames_read"] = res.n_frames
    return info


def time_axis_summary(member: Any) -> dict[str, Any]:
    """The time axis of one trajectory as a JSON-ready dict.

    Parameters
    ----------
    member : TrajectoryMember
        One trajectory of a Source (``source.members[i]``).

    Returns
    -------
    dict
        ``dt_ps`` and ``t0_ps`` (None when unknown), ``regular``, ``checked`` (how the times
        were checked: every stamp as ``"float32"``/``"float64"``, ``"header"``, ``"endpoints"``
        or ``"given"``), ``irregularity`` (None when regular, else ``file``, ``frame`` in that
        file, ``trajectory_frame``, ``kind`` and ``message``) and ``notes`` (restart overlaps
        dropped).
    """
    from trajml.io.spacing import locate_frame

    axis = getattr(member, "axis", None)
    out: dict[str, Any] = {"dt_ps": None, "t0_ps": None, "regular": None, "checked": None, "irregularity": None,
                           "notes": list(getattr(member, "notes", ()))}
    if axis is None:  # a backend that does not build one: nothing known beyond the reader's dt
        return out
    finite = lambda v: float(v) if np.isfinite(v) else None  # noqa: E731 - JSON has no NaN
    out.update(dt_ps=finite(axis.dt), t0_ps=finite(axis.t0), regular=bool(axis.regular), checked=axis.precision)
    if not axis.regular and axis.irregular_frame is not None:
        path, local = locate_frame(member, int(axis.irregular_frame))
        out["irregularity"] = {"file": path, "frame": local, "trajectory_frame": int(axis.irregular_frame),
                               "kind": axis.kind, "message": axis.irregularity}
    return out


#: How the times were checked (TimeAxis.precision), in words.
_CHECKED = {"float32": "every stamp checked, float32", "float64": "every stamp checked, float64",
            "header": "from the file header", "endpoints": "first and last frames checked",
            "given": "from the given --dt; the file stores no times"}


def _axis_lines(axes: list[dict[str, Any]]) -> list[str]:
    """One ``time axis`` line per trajectory, then its irregularity and notes, indented."""
    lines = []
    for i, a in enumerate(axes):
        head = f"time axis    : trajectory {i}: " if len(axes) > 1 else "time axis    : "
        if a["regular"] is None:
            lines.append(head + "not checked (this reader gives no time axis)")
            continue
        t0 = "unknown" if a["t0_ps"] is None else f"{a['t0_ps']:.12g} ps"
        dt = "unknown" if a["dt_ps"] is None else f"{a['dt_ps']:.12g} ps"
        state = "regular" if a["regular"] else "IRREGULAR"
        lines.append(f"{head}t0 = {t0}, dt = {dt}, {state} ({_CHECKED.get(a['checked'], a['checked'])})")
        irr = a["irregularity"]
        if irr is not None:
            message = irr["message"].replace("pass dt= ", "pass --dt ")  # the fix as a flag here
            lines.append(f"  first irregularity: {irr['kind']} at frame {irr['frame']} of '{irr['file']}' "
                         f"(trajectory frame {irr['trajectory_frame']}): {message}")
        lines.extend(f"  note: {n}" for n in a["notes"])
    return lines


def _species_line(species: dict[str, int], limit: int = 12) -> str:
    items = [f"{k} {v}" for k, v in species.items()]
    more = f", ... ({len(items) - limit} more; see --json)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def run(args: argparse.Namespace) -> int:
    """Run ``trajml info``."""
    source = open_from_args(args, show_notes=False)  # the notes are part of what info prints
    info = describe(source, scan=args.scan, scheduler=args.scheduler, progress=args.progress, n_workers=args.n_workers)
    if args.json:
        print(json.dumps(info, indent=2))
        return 1 if info.get("implausible") else 0
    lines = [
        # a file that is its own topology (XDATCAR, a multi-frame PDB) is named once
        f"files        : {'; '.join(' + '.join(dict.fromkeys(f)) for f in info['files'])}",
        f"trajectories : {info['n_trajectories']}",
        f"frames       : {info['n_frames']}",
        f"atoms        : {info['n_atoms']}",
        "species      : " + _species_line(info["species"]),
        f"time step    : {info['dt_ps']:g} ps between saved frames",
        f"duration     : {info['duration_ps']:g} ps (from t = {info['time_start_ps']:g} ps)",
    ]
    lines.extend(_axis_lines(info["time_axes"]))
    if "total_charge_e" in info:
        lines.append(f"total charge : {info['total_charge_e']:g} e")
    box = info["box"]
    if box is None:
        lines.append("box          : none (no periodic boundaries)")
    else:
        kind = "orthorhombic" if box["orthorhombic"] else "triclinic"
        a, b, c = box["lengths_A"]
        al, be, ga = box["angles_deg"]
        lines.append(f"box          : {a:g} x {b:g} x {c:g} Å, angles {al:g}/{be:g}/{ga:g}°, {kind}, "
                     f"V = {box['volume_A3']:g} Å³ (first frame)")
    if "volume_A3" in info and box is not None:
        v = info["volume_A3"]
        lines.append(f"volume       : {v['mean']:.6g} ± {v['std']:.3g} Å³ (min {v['min']:.6g}, max {v['max']:.6g}), "
                     f"{info['frames_read']} frames read")
    found = info.get("implausible", [])
    if found:
        lines.append(f"IMPLAUSIBLE  : {len(found)} frames; the files are probably damaged:")
        lines.extend(f"  '{f['file']}' frame {f['frame']} ({f['kind']}): {f['message']}" for f in found)
    elif "implausible" in info:
        lines.append("plausibility : every frame read passes (coordinates, jumps, box, volume)")
    print("\n".join(lines))
    return 1 if found else 0
