"""Receptive fields of target nodes in fixed-width neighbour tables (graph-network training batches).

A stack of ``L`` message-passing layers reads, at a target node, only the nodes within ``L``
neighbour hops. :func:`receptive_field` finds them by a breadth-first search from the targets and
numbers them level by level (hop 0 = the targets, then hop 1, …, hop ``L``), so that the nodes
layer ``l`` (1-based) must update, those within ``L - l`` hops, are a *prefix* of the numbering,
and the neighbours they read, within ``L - l + 1`` hops, are a longer prefix. A network can then
work on contiguous slices, with no masks and no scatter in its forward pass.

Conventions:

* ``neighbors`` : int32 ``(M, K)`` neighbour ids, ``-1`` pads a row. Node ``g`` belongs to block
  ``g // block`` (a frame of ``block`` atoms); its row holds ids *within its block*, so the node
  id of neighbour ``j`` is ``(g // block) * block + j``. Pass ``block = M`` when the rows already
  hold node ids.
* Edges are directed centre ← neighbour; the hop distance of a node is the number of edges on
  the shortest path along which messages reach a target.
* ``targets`` may repeat; each repeat maps to the same local row.

The kernel is compiled with numba ``nogil=True``; it runs serially (it touches each edge of the
field once; the network's work on the field is orders of magnitude larger). The tests compare it
with hop distances from :func:`scipy.sparse.csgraph.shortest_path`, an independent search.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["receptive_field"]


@numba.njit(nogil=True, cache=True)
def _field(neighbors, block, targets, n_hops, order, level_end, local, target_rows):  # pragma: no cover - numba
    m, k = neighbors.shape
    n = 0
    for i in range(targets.shape[0]):
        g = targets[i]
        if local[g] < 0:
            local[g] = n
            order[n] = g
            n += 1
        target_rows[i] = local[g]
    level_end[0] = n
    lo = 0
    for hop in range(1, n_hops + 1):
        hi = n
        for r in range(lo, hi):
            g = order[r]
            base = (g // block) * block
            for c in range(k):
                j = neighbors[g, c]
                if j < 0:
                    continue
                j += base
                if local[j] < 0:
                    local[j] = n
                    order[n] = j
                    n += 1
        level_end[hop] = n
        lo = hi
    return n


@numba.njit(nogil=True, cache=True)
def _rows(neighbors, distances, block, order, n_rows, local, nbr_out, dist_out):  # pragma: no cover - numba
    k = neighbors.shape[1]
    for r in range(n_rows):
        g = order[r]
        base = (g // block) * block
        for c in range(k):
            j = neighbors[g, c]
            if j < 0:
                nbr_out[r, c] = -1
                dist_out[r, c] = 0.0
            else:
                nbr_out[r, c] = local[j + base]
                dist_out[r, c] = distances[g, c]


def receptive_field(neighbors: np.ndarray, distances: np.ndarray, block: int, targets: np.ndarray,
                    n_hops: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nodes within ``n_hops`` of the targets, numbered level by level, with their neighbour rows.

    Parameters
    ----------
    neighbors : ndarray, shape (M, K), int32
        Neighbour ids within each block of ``block`` rows; -1 pads.
    distances : ndarray, shape (M, K), float32
        Edge lengths in Å (read only where ``neighbors >= 0``).
    block : int
        Rows per block (atoms per frame); ``M`` when the rows hold node ids.
    targets : ndarray, shape (T,), int64
        Node ids of the targets (repeats allowed).
    n_hops : int
        Message-passing layers L (>= 1).

    Returns
    -------
    order : ndarray, shape (n_field,), int64
        Node id of each local row: the targets first, then hop 1, …, hop ``n_hops``.
    level_end : ndarray, shape (n_hops + 1,), int64
        ``level_end[h]``: rows within ``h`` hops (a prefix of ``order``).
    target_rows : ndarray, shape (T,), int64
        Local row of each target.
    nbr : ndarray, shape (level_end[n_hops - 1], K), int32
        Local rows of the neighbours of every node within ``n_hops - 1`` hops; -1 pads.
    dist : ndarray, shape (level_end[n_hops - 1], K), float32
        Their edge lengths in Å; 0 on padding.
    """
    neighbors = np.ascontiguousarray(neighbors, dtype=np.int32)
    distances = np.ascontiguousarray(distances, dtype=np.float32)
    targets = np.ascontiguousarray(targets, dtype=np.int64)
    m = neighbors.shape[0]
    if n_hops < 1:
        raise ValueError(f"receptive_field needs n_hops >= 1; got {n_hops}.")
    if targets.size and (targets.min() < 0 or targets.max() >= m):
        raise ValueError(f"Target node ids must lie in [0, {m}).")
    order = np.empty(m, dtype=np.int64)
    level_end = np.empty(n_hops + 1, dtype=np.int64)
    local = np.full(m, -1, dtype=np.int64)
    target_rows = np.empty(len(targets), dtype=np.int64)
    n = _field(neighbors, int(block), targets, int(n_hops), order, level_end, local, target_rows)
    n_rows = int(level_end[n_hops - 1])
    nbr = np.empty((n_rows, neighbors.shape[1]), dtype=np.int32)
    dist = np.empty((n_rows, neighbors.shape[1]), dtype=np.float32)
    _rows(neighbors, distances, int(block), order, n_rows, local, nbr, dist)
    return order[:n].copy(), level_end, target_rows, nbr, dist
