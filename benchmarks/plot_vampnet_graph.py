"""Figure of ``bench_vampnet.py --part graph`` results: epoch time, peak RSS and validation VAMP-2 per path.

Run by hand::

    python benchmarks/plot_vampnet_graph.py benchmarks/results/bench_vampnet_graph.json \
        benchmarks/results/bench_vampnet_graph.png
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    src, dst = argv
    with open(src) as fh:
        g = json.load(fh)["graph"]
    paths = ("reference", "fast")
    colours = {"reference": "0.55", "fast": "tab:blue"}
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))

    ax = axes[0]
    for i, p in enumerate(paths):
        runs = g["epoch"]["runs"][p]
        ax.bar(i, g["epoch"]["summary"][p]["epoch_s"]["median"], color=colours[p])
        ax.plot([i] * len(runs), [r["epoch_s"] for r in runs], "k.", ms=4)
    ax.set_xticks(range(len(paths)), paths)
    ax.set_ylabel("epoch time (s, wall)")
    ax.set_title(f"{g['epoch']['frames']} frames, {g['n_atoms']} beads: "
                 f"{g['epoch']['speedup_wall']:.1f}x", fontsize=9)

    ax = axes[1]
    frames = g["rss_scaling"]["frames"]
    for p in paths:
        ax.plot(frames, [r["peak_rss"] / 2 ** 30 for r in g["rss_scaling"]["runs"][p]], "o-", color=colours[p],
                label=p)
    ax.set_xlabel("frames in the dataset")
    ax.set_ylabel("peak RSS (GiB)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)

    ax = axes[2]
    for p in paths:
        scores = g["validation"]["runs"][p]["validation_scores"]
        ax.plot(range(1, len(scores) + 1), scores, "o-", color=colours[p], label=p)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation VAMP-2 (with constant)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1:])
