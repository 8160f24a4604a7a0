"""Small text helpers shared by messages: the closest valid name for a misspelt one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest"]


def closest(word: object, candidates: Iterable[object]) -> str:
    """``" Did you mean 'x'?"`` for the candidate closest to ``word`` (difflib), or ``""``.

    Parameters
    ----------
    word : object
        What was given.
    candidates : iterable
        What is known.
    """
    match = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.5)
    return f" Did you mean {match[0]!r}?" if match else ""
