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
    "ImplausibleFrameError",
    "MissingBoxError",
    "SchedulerConnectionError",
    "SharedStoreError",
    "EmptySelectionError",
    "SelectionError",
    "NonFiniteCoordinatesError",
    "MissingExtraError",
    "InvalidParameterError",
    "TrajectoryIdError",
    "NotFittedError",
    "WrongCallError",
    "IrregularTimeError",
]


class TrajmlError(Exception):
    """Base class of every trajml-specific error."""


class UnknownFormatError(TrajmlError, ValueError):
    """A file whose format no reader recognises."""


class AtomCountMismatchError(TrajmlError, ValueError):
    """Topology and trajectory disagree on the number of atoms."""


class CorruptTrajectoryError(TrajmlError, OSError):
    """A trajectory file is truncated or damaged; the message names the file and frame."""


class ImplausibleFrameError(CorruptTrajectoryError):
    """A frame that decodes but cannot be physical (a coordinate far outside the box, an atom that
    jumps further than any motion allows, a degenerate box or a box volume jump); the message names
    the file, frame, atom and value. Typical of bit flips inside an otherwise well-formed file."""


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


class SchedulerConnectionError(TrajmlError, ConnectionError):
    """A Dask scheduler (an address or a scheduler file) that cannot be reached; the message names it."""


class SharedStoreError(TrajmlError, OSError):
    """A worker that cannot read or write the results store: the message names the worker and the path."""


class InvalidParameterError(TrajmlError, ValueError, TypeError):
    """A parameter outside its declared constraint.

    Subclasses both ``ValueError`` and ``TypeError`` (as scikit-learn's does), so callers that
    caught either before keep working. The structured attributes let the command line and the
    pipeline YAML restate the same problem in their own syntax (a flag, a key and line).

    Attributes
    ----------
    parameter : str or None
        The parameter's Python name (``"r_max"``).
    owner : str or None
        The class or function it belongs to (``"RDF"``).
    constraint : str or None
        What the value must be (``"a float in (0, inf) Å"``); None for a free-form problem.
    value : object
        The offending value.
    """

    def __init__(self, message: str, *, parameter: str | None = None, owner: str | None = None,
                 constraint: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.owner = owner
        self.constraint = constraint
        self.value = value

    @property
    def problem(self) -> str:
        """str: the message without its ``The 'x' parameter of Owner`` preamble (``must be ... Got ...``)."""
        text = str(self)
        head = f"The '{self.parameter}' parameter of {self.owner} "
        return text[len(head):] if self.parameter and text.startswith(head) else text


class TrajectoryIdError(InvalidParameterError, IndexError):
    """A trajectory id outside the source; the message names the valid range.

    Subclasses ``IndexError`` (what trajml raised before) and :class:`InvalidParameterError`, so the
    command line names ``--traj-ids`` and a pipeline the ``traj_ids`` key.
    """


class NotFittedError(TrajmlError, RuntimeError, ValueError, AttributeError):
    """An estimator used before ``fit``; the message says which call comes first.

    Subclasses ``RuntimeError`` (what trajml raised before) and ``ValueError``/``AttributeError``
    (what scikit-learn's ``NotFittedError`` subclasses).
    """


class WrongCallError(TrajmlError, TypeError, AttributeError):
    """An analysis called in a way it does not support; the message names the right call."""


class IrregularTimeError(TrajmlError, ValueError):
    """Frame times that are not ``t0 + k * dt``: a gap, a repeated frame, a restart, or a ``dt`` that
    contradicts the file's stamps; the message names the file and frame.

    Attributes
    ----------
    path : str or None
        The file, when one is to blame.
    frame : int or None
        The frame (of the file when ``path`` is set, else of the trajectory).
    kind : str or None
        What is wrong (``"gap"``, ``"repeat"``, ``"backwards"``, ``"dt"``, ``"overlap_mismatch"``, ...), so
        that callers such as the command line can rephrase the message.
    """

    def __init__(self, message: str, *, path: str | None = None, frame: int | None = None,
                 kind: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.frame = frame
        self.kind = kind


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

