"""Polymer repeat-unit ring graphs as torch-geometric ``Data``.

The rings themselves (SMILES closed with RDKit, or coarse-grained bead sequences closed on
themselves) come from :mod:`trajml.extrapolation.polymer_rings`; this module only wraps their arrays.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch_geometric.data import Data

from trajml.extrapolation.polymer_rings import RingGraph, cg_repeat_unit, cg_ring_graph, smiles_ring_graph
from trajml.extrapolation.tables import ExtrapolationTable

__all__ = ["ring_data", "smiles_graph", "cg_graph", "cg_graph_from_topology", "table_graphs"]


def ring_data(ring: RingGraph) -> Data:
    """A :class:`RingGraph` as ``Data(x, edge_index, edge_attr)`` (float32 features, int64 edges).

    Parameters
    ----------
    ring : RingGraph
    """
    return Data(x=torch.from_numpy(np.ascontiguousarray(ring.node_features, dtype=np.float32)),
                edge_index=torch.from_numpy(np.ascontiguousarray(ring.edge_index, dtype=np.int64)),
                edge_attr=torch.from_numpy(np.ascontiguousarray(ring.edge_features, dtype=np.float32)))


def smiles_graph(smiles: str, *, row: int | None = None, id: Any = None) -> Data:
    """Ring graph of a repeat-unit SMILES with two ``*`` attachment points (heavy atoms as nodes).

    See :func:`trajml.extrapolation.polymer_rings.smiles_ring_graph` for the features; ``row`` and ``id``
    are quoted in error messages.

    Parameters
    ----------
    smiles : str
        Repeat-unit SMILES with two ``*`` attachment points.
    row : int, optional
        1-based table row, quoted in error messages.
    id : object, optional
        Row id, quoted in error messages.
    """
    return ring_data(smiles_ring_graph(smiles, row=row, id=id))


def cg_graph(beads: Sequence[str], vocabulary: Sequence[str], *, row: int | None = None, id: Any = None) -> Data:
    """Ring graph of a coarse-grained repeat unit (beads in chain order; one-hot bead types over ``vocabulary``).

    Parameters
    ----------
    beads : sequence of str
        Bead names of the repeat unit in chain order.
    vocabulary : sequence of str
        Bead types of the one-hot features.
    row : int, optional
        1-based table row, quoted in error messages.
    id : object, optional
        Row id, quoted in error messages.
    """
    return ring_data(cg_ring_graph(beads, vocabulary, row=row, id=id))


def cg_graph_from_topology(topology: Any, vocabulary: Sequence[str] | None = None) -> Data:
    """Ring graph of the repeat unit of the first chain of a bead-spring SPE topology.

    Parameters
    ----------
    topology : trajml.sim.builder.SPETopology
        Built by :func:`trajml.sim.builder.build_topology`; chain beads are those of molecule 1.
    vocabulary : sequence of str, optional
        Bead types of the one-hot features (default: the types of that repeat unit, sorted).
    """
    names = np.asarray(topology.names)[np.asarray(topology.resids) == 1]
    unit = cg_repeat_unit(list(names))
    return cg_graph(unit, sorted(set(unit)) if vocabulary is None else vocabulary)


def table_graphs(table: ExtrapolationTable, vocabulary: Sequence[str] = ()) -> list[Data]:
    """One graph per row of ``table`` (built once per distinct repeat unit).

    Errors name the 1-based row and the id of the first row that fails.

    Parameters
    ----------
    table : ExtrapolationTable
    vocabulary : sequence of str
        Bead types of coarse-grained repeat units.
    """
    cache: dict[Any, Data] = {}
    out = []
    for k, (g, i) in enumerate(zip(table.graphs, table.ids)):
        if g not in cache:
            cache[g] = (smiles_graph(g, row=k + 1, id=i) if table.graph_kind == "smiles"
                        else cg_graph(g, vocabulary, row=k + 1, id=i))
        out.append(cache[g])
    return out
