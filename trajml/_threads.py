"""Temporarily set torch's intra-op thread count (torch imported only when a count is given).

A core module, so every subject that trains networks (today :mod:`trajml.fes.nn`) and the pipeline stages
import it without crossing subjects.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch threads, then restore the previous count; None changes nothing.

    Small networks gain little from a second thread, and on a machine busier than its cores torch's
    OpenMP workers spin against other processes (a 40 ms step was seen taking over a second).
    """
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)
