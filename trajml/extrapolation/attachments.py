"""Attachment points of repeat-unit SMILES as datasets publish them, rewritten as trajml's ``*`` (no RDKit).

Repeat units mark the two atoms where a unit bonds to its neighbours with ``*`` (trajml, PolyInfo),
``[*]``, or a pair of placeholder atoms such as ``[Cu]``/``[Au]`` (Xie et al. 2022). A dataset that
uses some other pair names it (``attachments=("[Ge]", "[Sn]")``). :func:`normalise_attachments`
rewrites every marker to ``*`` and refuses a unit that does not have exactly two, naming the row and
id, so the ring graph (:mod:`trajml.extrapolation.polymer_rings`) sees one spelling only.
"""

from __future__ import annotations

import re
from typing import Sequence

from trajml._fixes import with_cli_text

__all__ = ["DEFAULT_ATTACHMENTS", "normalise_attachments", "check_attachments"]

#: Markers recognised without being named: ``*``, ``[*]`` and the ``[Cu]``/``[Au]`` pair.
DEFAULT_ATTACHMENTS = ("*", "[*]", "[Cu]", "[Au]")


def check_attachments(owner: str, attachments: Sequence[str] | None) -> tuple[str, ...]:
    """Validate a named pair of attachment markers (two bracket atoms such as ``'[Cu]'``); None: the defaults."""
    if attachments is None:
        return DEFAULT_ATTACHMENTS
    pair = tuple(str(a).strip() for a in attachments)
    if len(pair) != 2 or any(not re.fullmatch(r"\[[^\[\]]+\]|\*", a) for a in pair):
        raise ValueError(f"The 'attachments' parameter of {owner} must be two markers, each '*' or a bracket atom "
                         f"such as '[Cu]' (e.g. ('[Cu]', '[Au]')). Got {attachments!r} instead.")
    return pair


def normalise_attachments(smiles: str, markers: Sequence[str] = DEFAULT_ATTACHMENTS, *, where: str = "") -> str:
    """``smiles`` with each attachment marker rewritten as ``*``.

    Parameters
    ----------
    smiles : str
        Repeat-unit SMILES.
    markers : sequence of str
        Markers to rewrite (see :data:`DEFAULT_ATTACHMENTS`).
    where : str
        Row, id and file, quoted in the message (``"row 3 (id 'p7') of 'cond.csv'"``).

    Raises
    ------
    ValueError
        The unit has other than two markers (a repeat unit bonds to exactly two neighbours).
    """
    pattern = "|".join(re.escape(m) for m in sorted(set(markers) | {"*", "[*]"}, key=len, reverse=True))
    found = re.findall(pattern, smiles)
    if len(found) != 2:
        shown = " or ".join(repr(m) for m in dict.fromkeys(markers))
        text = (f"SMILES {smiles!r} of {where or 'a repeat unit'} has {len(found)} attachment point(s) "
                f"({', '.join(found) or 'none'}); a repeat unit needs exactly 2, marked {shown} (name another pair "
                f"with FIX).")
        raise with_cli_text(ValueError(text.replace("FIX", "attachments=('[Ge]', '[Sn]')")),
                            text.replace("FIX", "--attachments '[Ge],[Sn]'"))
    return re.sub(pattern, "*", smiles)
