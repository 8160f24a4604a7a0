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
    for i, (name_a, a) in enumerate(groups):
        for name_b, b in groups[i + 1:]:
            shared = np.intersect1d(a, b)
            if shared.size:
                raise ValueError(
                    f"The '{name_a}' and '{name_b}' selections of {owner} must not overlap (a shell would count those "
                    f"atoms twice); they share {shared.size} atoms (topology indices {_ranges(shared)}). Narrow one "
                    "of them, e.g. with 'and not'.")
