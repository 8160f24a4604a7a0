"""
Li⁺ structure and solvation in the bundled sample SPE
=====================================================

Li⁺ structure in the bundled sample SPE: Li–O RDF, coordination, solvation and neighbour graphs.

Run: python examples/li_structure.py   (writes li_o_rdf.png in the current folder)
"""

from trajml.data import sample_topology, sample_trajectory
from trajml.features import RDF, Coordination, NeighborGraphs, Solvation
from trajml.io import open_source
from trajml.parallel import run


def main() -> None:
    src = open_source(sample_topology(), sample_trajectory())

    rdf = run(RDF("name Li", "name O", r_max=15.0, n_bins=150), src, scheduler="threads", progress=False)
    print(f"Li–O g(r): first peak {rdf.first_peak_r:.2f} Å (g = {rdf.first_peak_g:.2f}), "
          f"first minimum {rdf.first_min_r:.2f} Å, {rdf.coordination_number:.2f} O per Li⁺")

    cn = run(Coordination("name Li", "name O", cutoff=rdf.first_min_r), src, progress=False)
    print(f"Li–O coordination within {cn.cutoff:.2f} Å: mean {cn.mean:.2f} ± {cn.std:.2f}")

    solv = run(Solvation(cation="name Li", polymer_o="name O", anion="name TFSI"), src, progress=False)
    print(f"speciation: free {solv.fraction_free:.2f}, CIP {solv.fraction_cip:.2f}, AGG {solv.fraction_agg:.2f}")

    graphs = NeighborGraphs(select="name Li", r_max=10.0, max_neighbors=12)
    first = next(graphs.iter_graphs(src, chunk_size=50))
    print(f"neighbour graphs: {first.n_frames} frames x {first.n_targets} Li⁺, "
          f"mean degree {first.degree.mean():.1f} within 10 Å")

    try:
        from trajml.plotting import plot_rdf, plot_solvation
    except ImportError:
        return
    plot_rdf(rdf).savefig("li_o_rdf.png", dpi=100)
    print("wrote li_o_rdf.png")
    plot_solvation(solv)  # speciation bars and first-shell composition


if __name__ == "__main__":
    main()
