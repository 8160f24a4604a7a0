"""The one check that shell species are disjoint: an atom in two of them would be counted twice."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trajml.selection import _ranges

__all__ = ["check_disjoint"]


def check_disjoint(owner: str, groups: Sequence[tuple[str, np.ndarray]]) -> None:
    """Raise ValueError naming the first two groups that share atoms, and the shared topology indices.

    Parameters
    ----------
    owner : str
        The analysis, for the message.
    groups : sequence of (name, ndarray of int64)
        Each group's name (a parameter or species name) and its topology indices.
    """
    arrays = [np.asarray(a, dtype=np.int64) for _, a in groups]
    every = np.concatenate(arrays) if arrays else np.empty(0, np.int64)
    if every.size == 0 or np.bincount(every).max() <= 1:  # one pass: no atom twice (each group holds an atom once)
        return
    for i, (name_a, a) in enumerate(groups):
        for name_b, b in groups[i + 1:]:
            shared = np.intersect1d(a, b)
            if shared.size:
                raise ValueError(
                    f"The '{name_a}' and '{name_b}' selections of {owner} must not overlap (a shell would count those "
                    f"atoms twice); they share {shared.size} atoms (topology indices {_ranges(shared)}). Narrow one "
                    "of them, e.g. with 'and not'.")
