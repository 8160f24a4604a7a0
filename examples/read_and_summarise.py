"""
Reading the bundled sample: selections, chunks and a parallel summary
=====================================================================

Open the bundled sample SPE, select species, stream chunks and summarise in parallel.

Run: python examples/read_and_summarise.py
"""

from trajml.data import sample_topology, sample_trajectory
from trajml.features import TrajectorySummary
from trajml.io import open_source
from trajml.parallel import run


def main() -> None:
    src = open_source(sample_topology(), sample_trajectory())
    print(src)
    print("species:", src.atoms.species_counts())

    li = src.select("name Li")
    first = next(src.iter_chunks(chunk_size=50, atoms=li))
    print(f"first chunk: {first.n_frames} frames x {first.n_atoms} Li, t = {first.times[0]:g}..{first.times[-1]:g} ps")

    summary = run(TrajectorySummary(), src, chunk_size=50, scheduler="threads", n_workers=2, progress=False)
    print(f"{summary.n_frames} frames, mean volume {summary.mean_volume:.1f} {summary.units['mean_volume']}")
    read = summary.provenance["read_s"]
    print(f"read {read:.3f} s, compute {summary.provenance['compute_s']:.3f} s "
          f"over {summary.provenance['n_chunks']} chunks")


if __name__ == "__main__":
    main()
