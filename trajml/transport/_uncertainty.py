"""How much to trust a block error: the block count behind it and the warning when it is too small.

A standard error from K time blocks is itself uncertain by about ``1/√(2(K − 1))`` of its value
(71 % with 2 blocks, 35 % with 5), so an error from fewer than :data:`MIN_RELIABLE_BLOCKS` blocks is
flagged in the results' ``warnings`` rather than printed as if it were solid.
"""

from __future__ import annotations

__all__ = ["MIN_RELIABLE_BLOCKS", "few_blocks_warning"]

#: Fewest time blocks whose standard error is reported without a warning.
MIN_RELIABLE_BLOCKS = 5


def few_blocks_warning(quantity: str, n_blocks: int) -> str | None:
    """The warning for an error of ``quantity`` from ``n_blocks`` time blocks, or None when enough.

    Parameters
    ----------
    quantity : str
        What the error belongs to, as the warning should name it (e.g. ``"σ, L_ij and t₊"``).
    n_blocks : int
        Time blocks behind the error.

    Returns
    -------
    str or None
        E.g. ``"σ error from 2 time blocks: not a reliable uncertainty; use more blocks or replicas"``.
    """
    if n_blocks >= MIN_RELIABLE_BLOCKS:
        return None
    return (f"{quantity} error from {n_blocks} time blocks: not a reliable uncertainty (fewer than "
            f"{MIN_RELIABLE_BLOCKS}); use more blocks, a shorter fit window or replicas")
