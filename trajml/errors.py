"""Exceptions raised by trajml.

Each subclasses the builtin a caller would already catch (``ValueError``,
``OSError``), so ``except ValueError`` keeps working, while the specific class
lets a batch runner tell a corrupt file from a bad selection.
"""

from __future__ import annotations

__all__ = [
    "TrajmlError",
    "UnknownFormatError",
    "AtomCountMismatchError",
    "CorruptTrajectoryError",
    "MissingBoxError",
    "EmptySelectionError",
    "SelectionError",
    "NonFiniteCoordinatesError",
    "MissingExtraError",
]


class TrajmlError(Exception):
    """Base class of every trajml-specific error."""


class UnknownFormatError(TrajmlError, ValueError):
    """A file whose format no reader recognises."""


class AtomCountMismatchError(TrajmlError, ValueError):
    """Topology and trajectory disagree on the number of atoms."""


class CorruptTrajectoryError(TrajmlError, OSError):
    """A trajectory file is truncated or damaged; the message names the file and frame."""


class MissingBoxError(TrajmlError, ValueError):
    """An analysis that needs periodic boundaries met a frame without a box."""


class SelectionError(TrajmlError, ValueError):
    """A selection string that cannot be parsed or resolved."""


class EmptySelectionError(SelectionError):
    """A selection that matched no atom; the message quotes it."""


class NonFiniteCoordinatesError(TrajmlError, ValueError):
    """NaN or infinite coordinates; the message names the file and frame."""


class MissingExtraError(TrajmlError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


def require_extra(module: str, extra: str, purpose: str) -> object:
    """Import an optional dependency or raise :class:`MissingExtraError` naming the extra.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"openmm"``.
    extra : str
        The trajml extra that installs it, e.g. ``"sim"``.
    purpose : str
        What needs it, for the message.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - message path tested with a fake module
        raise MissingExtraError(
            f"{purpose} needs the optional dependency '{module}', which is not installed. "
            f"Install it with: pip install 'trajml[{extra}]'"
        ) from exc
