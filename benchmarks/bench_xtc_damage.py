"""Random damage inside XTC frames: how often it crashes MDAnalysis' decoder, and how often trajml refuses it.

Run by hand (not in CI)::

    python benchmarks/bench_xtc_damage.py --trials 80 --out results/bench_xtc_damage.json

Each trial overwrites a few random bytes inside the compressed coordinates of one random frame
of a copy of an XTC file (by default the bundled all-atom sample), then decodes every frame with
MDAnalysis' xdrfile reader in a child process (a crash kills only the child) and checks the
same copy with trajml's bounds-checked walk (:func:`trajml.kernels.xtc.xtc_decode`). The table
counts the trials that crashed the child, the trials trajml refused, and the crashes trajml let
through (the number that matters: it should be 0). Damage that decodes to other valid-looking
numbers is for the plausibility checks, not this walk.
"""

from __future__ import annotations

import argparse
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, format_table  # noqa: E402

CHILD = ("import sys\nfrom MDAnalysis.lib.formats.libmdaxdr import XTCFile\n"
         "with XTCFile(sys.argv[1]) as fh:\n    for frame in fh:\n        pass\n")


def offsets_of(data: np.ndarray) -> np.ndarray:
    """Byte offsets of the frames of an intact XTC file with more than 9 atoms."""
    out, pos = [], 0
    while pos < len(data):
        out.append(pos)
        nbytes = struct.unpack(">i", data[pos + 88:pos + 92].tobytes())[0]
        pos += 92 + 4 * ((nbytes + 3) // 4)
    return np.array(out, dtype=np.int64)


def main(argv: list[str] | None = None) -> int:
    from trajml.data import sample_aa_trajectory
    from trajml.kernels.xtc import xtc_decode

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("xtc", nargs="?", default=None, help="an intact XTC file (default: the bundled all-atom sample)")
    p.add_argument("--trials", type=int, default=80)
    p.add_argument("--bytes", type=int, default=8, help="bytes overwritten per trial")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=None, metavar="JSON")
    args = p.parse_args(argv)
    path = args.xtc or sample_aa_trajectory()
    data = np.fromfile(path, dtype=np.uint8)
    offsets = offsets_of(data)
    n_atoms = struct.unpack(">i", data[4:8].tobytes())[0]
    ends = np.append(offsets[1:], len(data))
    rng = np.random.default_rng(args.seed)
    tally = {"trials": 0, "crashed_mdanalysis": 0, "refused_by_trajml": 0, "crashes_let_through": 0}
    with tempfile.TemporaryDirectory() as tmp:
        copy = str(Path(tmp) / "damaged.xtc")
        for _ in range(args.trials):
            bad = data.copy()
            f = int(rng.integers(0, len(offsets)))
            at = rng.integers(offsets[f] + 92, ends[f], size=args.bytes)
            bad[at] = rng.integers(0, 256, size=args.bytes)
            bad.tofile(copy)
            refused = bool(xtc_decode(bad, offsets, n_atoms).any())
            child = subprocess.run([sys.executable, "-c", CHILD, copy], capture_output=True)
            crashed = child.returncode < 0  # killed by a signal (SIGSEGV, SIGABRT)
            tally["trials"] += 1
            tally["crashed_mdanalysis"] += crashed
            tally["refused_by_trajml"] += refused
            tally["crashes_let_through"] += crashed and not refused
    print(f"{Path(path).name}: {args.trials} trials, {args.bytes} random bytes in one frame's compressed data")
    print(format_table(["count", "trials"], [[k, v] for k, v in tally.items()]))
    if args.out:
        Path(args.out).write_text(json.dumps({"environment": environment(("numpy", "MDAnalysis", "trajml")),
                                              "file": Path(path).name, "bytes": args.bytes, "seed": args.seed,
                                              **tally}, indent=2))
    return 0 if tally["crashes_let_through"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
