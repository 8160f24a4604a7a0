"""The hostile tally's inputs: the bundled sample's first frames as XTC, TRR and DCD, and damaged copies.

Part of ``bench_hostile.py`` (run by hand, not in CI); its docstring lists the kinds of damage.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np

N_FRAMES = 20
DAMAGED = 10  # the frame every value-wise damage is put in


def _frames() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (F, N, 3) Å, dimensions (F, 6) and times (F,) ps of the sample's first frames."""
    import MDAnalysis as mda

    from trajml.data import sample_topology, sample_trajectory

    u = mda.Universe(sample_topology(), sample_trajectory())
    pos, dims, times = [], [], []
    for ts in u.trajectory[:N_FRAMES]:
        pos.append(u.atoms.positions.copy())
        dims.append(ts.dimensions.copy())
        times.append(ts.time)
    return np.array(pos), np.array(dims), np.array(times)


def write_traj(path: Path, pos: np.ndarray, dims: np.ndarray, times: np.ndarray) -> None:
    """Write frames with MDAnalysis (the format from the extension)."""
    import MDAnalysis as mda

    from trajml.data import sample_topology, sample_trajectory

    u = mda.Universe(sample_topology(), sample_trajectory())
    ts = u.trajectory[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mda.Writer(str(path), u.atoms.n_atoms) as w:
            for p, d, t in zip(pos, dims, times):
                ts.positions = p
                ts.dimensions = d
                ts.time = t
                w.write(u.atoms)


def make_data(data: Path) -> dict[str, Path]:
    """Clean and damaged trajectories in ``data``; returns name -> path."""
    from trajml.data import sample_aa_topology, sample_topology

    data.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sample_topology(), data / "top.psf")
    shutil.copyfile(sample_aa_topology(), data / "other.psf")
    pos, dims, times = _frames()
    files: dict[str, Path] = {}
    rng = np.random.default_rng(20)
    for fmt in ("xtc", "trr", "dcd"):
        clean = data / f"clean.{fmt}"
        write_traj(clean, pos, dims, times)
        files[f"clean.{fmt}"] = clean
        raw = np.fromfile(clean, dtype=np.uint8)
        n = raw.size
        at10 = int(n * DAMAGED / N_FRAMES) + 200  # inside frame 10 (frames are about equal in size)
        variants = {
            "trunc_half": raw[: n // 2 + 13],  # not on a frame boundary: a whole shorter file is not damage
            "trunc_tail": raw[: n - 7],
            "empty": raw[:0],
            "garbage": rng.integers(0, 256, n, dtype=np.uint8),
            "append": np.concatenate([raw, rng.integers(0, 256, 100, dtype=np.uint8)]),
        }
        zeros = raw.copy()
        zeros[at10:at10 + 200] = 0
        variants["zeros"] = zeros
        for s in (1, 2, 3):
            r = np.random.default_rng(s)
            bad = raw.copy()
            where = r.integers(n // 3, n, 8)
            bad[where] = r.integers(0, 256, 8, dtype=np.uint8)
            variants[f"rand{s}"] = bad
            flip = raw.copy()
            k = int(r.integers(0, n))
            flip[k] ^= np.uint8(1 << int(r.integers(0, 8)))
            variants[f"flip{s}"] = flip
        for name, arr in variants.items():
            files[f"{name}.{fmt}"] = data / f"{name}.{fmt}"
            arr.tofile(files[f"{name}.{fmt}"])
        # Value-wise damage at frame 10, written as a whole file.
        jump = pos.copy()
        jump[DAMAGED:, 5, 0] += 150.0
        huge = pos.copy()
        huge[DAMAGED, 9, 1] = 5e6
        zero_box = dims.copy()
        zero_box[DAMAGED, :3] = 0.0
        vol = dims.copy()
        vol[DAMAGED, :3] *= 2.0
        value_wise = {"jump": (jump, dims, times), "huge": (huge, dims, times), "zerobox": (pos, zero_box, times),
                      "volume": (pos, vol, times)}
        if fmt != "xtc":  # XTC stores integers: NaN cannot be written
            nan = pos.copy()
            nan[DAMAGED, 3] = np.nan
            value_wise["nan"] = (nan, dims, times)
        if fmt != "dcd":  # DCD keeps a start and a step, no time per frame
            back = times.copy()
            back[DAMAGED] = times[DAMAGED - 5]
            same = times.copy()
            same[DAMAGED] = times[DAMAGED - 1]
            gap = times.copy()
            gap[DAMAGED:] += 1000.0
            value_wise.update({"tback": (pos, dims, back), "tdup": (pos, dims, same), "tgap": (pos, dims, gap)})
        for name, (p, d, t) in value_wise.items():
            files[f"{name}.{fmt}"] = data / f"{name}.{fmt}"
            write_traj(files[f"{name}.{fmt}"], p, d, t)
    half = N_FRAMES // 2
    write_traj(data / "part1.xtc", pos[:half], dims[:half], times[:half])
    write_traj(data / "part2.xtc", pos[half:], dims[half:], times[half:])
    (data / "empty.psf").write_bytes(b"")
    (data / "garbage.psf").write_bytes(bytes(np.random.default_rng(5).integers(0, 256, 4000, dtype=np.uint8)))
    (data / "adir.xtc").mkdir(exist_ok=True)
    shutil.copyfile(data / "clean.xtc", data / "clean.foo")
    return files

