"""Time axes of trajectories: ``t0 + frame × dt`` unless the time stamps are truly uneven.

Formats store frame times with limited precision: XTC keeps a float32 per frame, so
a run saved every 0.4 ps has stamps ``0.399994``, ``0.400002``... ps apart, and the
jitter grows with time (one float32 unit is 0.03 ps at 5e5 ps, 0.06 ps at 1e6 ps).
Steps compared with a fixed tolerance therefore look uneven on every long run.
This module decides, per file, whether the stamps are those of a regular axis
``t0 + k × dt`` up to the precision they are stored with, and if not, where the
first real irregularity (a gap, a repeated frame, a restart that goes back in
time) is. Regular parts are then read with exact float64 times ``t0 + k × dt``.
Analyses that need equal spacing check it with :mod:`trajml.io.spacing`.

Where the time stamps come from, per format:

* XTC (float32) and TRR (float32 or float64, per frame): every stamp, from the frame
  headers (:func:`~trajml.io.integrity.scan_frame_times`), without decoding coordinates;
  each stamp is checked.
* DCD: the file stores no per-frame time, only a start, an interval and a time
  step in its header; times are regular by construction (``precision="header"``).
* Other MDAnalysis formats (LAMMPS dumps, NetCDF, H5MD, multi-frame PDB/GRO...):
  decoding every frame for its time would read the whole file, so only the first and
  last frames are checked against ``t0 + (n - 1) × dt`` (``precision="endpoints"``);
  a gap and a repeated frame that cancel out are not seen. NetCDF (AMBER) stores
  float32 times and is given float32 tolerances; the others float64.

Tolerances follow the stored precision: a stamp ``t`` may be off by a few units in the
last place of ``|t|`` (``np.spacing`` of the float32 or float64 value), times a small
factor, plus the rounding of ``dt`` itself where ``dt`` is derived from rounded stamps.
Where the step is below what the stamps resolve (e.g. 0.02 ps steps near 1e6 ps in
float32), single steps cannot be checked and only the fit over the whole span is.

Every message text lives in :data:`MESSAGES` (Python keyword syntax, e.g. ``dt=``) so
that the command line can rephrase them in its own terms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from trajml.errors import IrregularTimeError

__all__ = [
    "TimeAxis",
    "MESSAGES",
    "stamp_resolution",
    "axis_from_stamps",
    "axis_from_endpoints",
    "header_axis",
    "probe_axis",
    "link_parts",
]

#: Stamps may be off by this many units in the last place (rounding on writing, on reading and in dt).
FACTOR = 2.0
#: Leading stamps kept per part to find restart overlaps without rescanning the file.
HEAD_STAMPS = 16
#: Overlapping restart frames match when coordinates agree within this (Å) plus a few float32 units.
OVERLAP_ATOL = 1e-3
#: A dt is rounded to a short decimal only when that moves it by less than this fraction.
_SNAP_RTOL = 1e-3

#: Message templates: one place to rephrase them (the CLI speaks of ``--dt`` instead of ``dt=``).
MESSAGES: dict[str, str] = {
    "repeat": ("frame {frame} of '{path}' repeats the time {time:.9g} ps of frame {prev} "
               "(a frame written twice?)"),
    "backwards": ("frame {frame} of '{path}' goes back in time from {prev_time:.9g} ps (frame {prev}) to "
                  "{time:.9g} ps (a restart appended to the same file?)"),
    "gap": ("frame {frame} of '{path}' comes {step:.6g} ps after frame {prev} ({prev_time:.9g} -> {time:.9g} ps) "
            "where the time step is {dt:.6g} ps: a gap of about {missing} missing frame(s)"),
    "uneven": ("frame {frame} of '{path}' comes {step:.6g} ps after frame {prev} ({prev_time:.9g} -> {time:.9g} ps) "
               "where the time step is {dt:.6g} ps"),
    "drift": ("frame {frame} of '{path}' is stamped {time:.9g} ps, {off:.3g} ps from t0 + frame * dt = "
              "{expected:.9g} ps (dt = {dt:.9g} ps): the time steps drift beyond the precision of the stamps"),
    "endpoints": ("the last frame ({frame}) of '{path}' is stamped {time:.9g} ps, but t0 + frame * dt = "
                  "{expected:.9g} ps (t0 = {t0:.9g} ps, dt = {dt:.6g} ps): frames are missing, repeated or "
                  "unevenly spaced somewhere in the file"),
    "no_times": ("'{path}' gives frames 0 and {last} the same time ({time:.9g} ps): it stores no usable times; "
                 "pass dt= (the time between frames, ps) to give them"),
    "dt_given": ("Trajectory '{path}' frame {frame} is stamped {time:.9g} ps, but the given dt={given!r} puts it at "
                 "{expected:.9g} ps (t0 + frame * dt, t0 = {t0:.9g} ps), beyond the {tol:.2g} ps precision of "
                 "the stamps; {own} Drop the dt= keyword to use the file's times{fix}."),
    "dt_own": "the file's own time step is {dt:.9g} ps.",
    "dt_own_uneven": "the file's own steps are uneven ({irregularity}).",
    "part_gap": ("the first kept frame ({frame}) of '{path}' is stamped {time:.9g} ps, {step:.6g} ps after the "
                 "last frame of '{prev_path}' ({prev_time:.9g} ps), where the time step is {dt:.6g} ps: "
                 "the parts do not continue each other"),
    "part_dt": ("'{path}' is saved every {dt:.9g} ps but '{prev_path}' every {prev_dt:.9g} ps"),
    "part_misaligned": ("'{path}' starts at {time:.9g} ps, before '{prev_path}' ends ({prev_time:.9g} ps), "
                        "but not on one of its frames (time step {dt:.6g} ps)"),
    "part_inside": ("'{path}' ({n} frames, {time:.9g} to {end:.9g} ps) lies within the time span of "
                    "'{prev_path}' (which ends at {prev_time:.9g} ps)"),
    "part_order": ("The parts of one trajectory go back in time: {what}. Parts are joined in the order given; "
                   "give them in time order ({order}), and only parts of one run."),
    "overlap_mismatch": ("Trajectory '{path}' frames 0 to {last} ({t_first:.9g} to {t_last:.9g} ps) repeat the "
                         "times of frames {p_first} to {p_last} of '{prev_path}', but their coordinates differ by up "
                         "to {diff:.3g} Å (beyond float32 precision): a restart overlap that does not match the "
                         "previous part's frames. Check that the parts belong to one run and are given in order."),
    "overlap_note": ("'{path}' frames 0 to {last} ({t_first:.9g} to {t_last:.9g} ps) repeat frames {p_first} to "
                     "{p_last} of '{prev_path}' (restart overlap, coordinates match): dropped"),
    "needs_even": ("{analysis} needs equally spaced frames, but the times of trajectory {traj_id} are uneven: "
                   "{irregularity}. Analyse the frames before or after trajectory frame {frame} (stop={frame} or "
                   "start={frame})."),
}


@dataclass(frozen=True)
class TimeAxis:
    """The time axis of one file or of one multi-part trajectory.

    Attributes
    ----------
    t0 : float
        Time of frame 0, ps.
    dt : float
        Time between consecutive frames, ps (NaN when unknown, e.g. a single frame).
    n_frames : int
        Frames on the axis.
    regular : bool
        Whether every frame lies at ``t0 + k * dt`` within the precision of its stamp.
    precision : {"float32", "float64", "header", "endpoints", "given"}
        How the times were checked: every stamp (stored as float32 or float64), by
        construction (DCD header), only the first and last frames, or not at all
        (a file whose frames all carry one time, read with a given ``dt=``).
    irregular_frame : int or None
        The first frame whose time breaks the regular axis (its step from frame
        ``irregular_frame - 1`` is wrong); None when regular.
    irregularity : str or None
        What is wrong there, naming the file and the frame; None when regular.
    kind : str or None
        ``"repeat"``, ``"backwards"``, ``"gap"``, ``"uneven"``, ``"drift"``, ``"endpoints"``,
        ``"no_times"``, ``"part_gap"`` or ``"part_dt"``; None when regular. (Parts that go back in time
        are refused when they are linked: :func:`link_parts`.)
    """

    t0: float
    dt: float
    n_frames: int
    regular: bool
    precision: str
    irregular_frame: int | None = None
    irregularity: str | None = None
    kind: str | None = None

    @property
    def exact(self) -> bool:
        """bool: whether reading should give ``t0 + k * dt`` instead of the reader's times.

        True for regular axes fitted to every stored stamp; header-built (DCD) and
        endpoint-checked axes keep the reader's own times, which are already regular
        or cannot be checked frame by frame.
        """
        return self.regular and self.dt > 0 and self.precision in ("float32", "float64", "given")

    def times(self, frames: np.ndarray) -> np.ndarray:
        """Regular times ``t0 + frames * dt`` in ps, float64."""
        return self.t0 + np.asarray(frames, dtype=np.float64) * self.dt

    def apply(self, frames: np.ndarray, raw: np.ndarray) -> np.ndarray:
        """Times of ``frames``: ``t0 + frame * dt`` on the regular stretch, the reader's ``raw`` times after it.

        The regular stretch is every frame of an :attr:`exact` axis, or the frames before
        :attr:`irregular_frame` of an irregular axis fitted to every stamp.
        """
        if self.exact:
            return self.times(frames)
        if self.regular or self.precision not in ("float32", "float64") or not self.dt > 0:
            return raw
        frames = np.asarray(frames)
        return np.where(frames < self.irregular_frame, self.times(frames), raw)


def stamp_resolution(times: np.ndarray, precision: str) -> np.ndarray:
    """One unit in the last place of each stamp (ps): float32 or float64 spacing of ``|t|``."""
    a = np.abs(np.asarray(times, dtype=np.float64))
    if precision == "float32":
        return np.spacing(a.astype(np.float32)).astype(np.float64)
    return np.spacing(a)


def _short_t0(t0: float, precision: str) -> float:
    """A float32 stamp as the shortest decimal that rounds to it (0.1, not 0.10000000149)."""
    if precision == "float32" and np.isfinite(t0):
        return float(str(np.float32(t0)))
    return float(t0)


def _snap_dt(dt: float, ok: Callable[[float], bool], slack: float = 0.0) -> float:
    """The shortest decimal near ``dt`` that still fits every stamp (``ok``).

    Near means within a tiny fraction of ``dt`` or within ``slack`` (ps), the uncertainty of a
    fitted ``dt``: a short run far from t = 0 (30 float32 stamps near 1e6 ps, 1/16 ps apart in
    resolution) fits 0.4 ps steps as 0.4009 ps, and 0.4 fits every stamp as well.
    """
    for digits in range(1, 16):
        cand = float(f"{dt:.{digits}g}")
        if cand > 0 and abs(cand - dt) <= max(_SNAP_RTOL * dt, slack) and ok(cand):
            return cand
    return dt


def classify_step(stamps: np.ndarray, i: int, dt: float, tol: float, path: str) -> tuple[str, str]:
    """Name the irregular step from frame ``i - 1`` to frame ``i``."""
    prev_time, time = float(stamps[i - 1]), float(stamps[i])
    step = time - prev_time
    fields = dict(frame=i, prev=i - 1, path=path, time=time, prev_time=prev_time, step=step, dt=dt)
    if abs(step) <= tol:
        kind = "repeat"
    elif step < 0:
        kind = "backwards"
    elif dt > 0 and round(step / dt) >= 2 and abs(step - round(step / dt) * dt) <= tol / FACTOR:
        kind = "gap"  # a whole number of steps: frames that were not saved
        fields["missing"] = int(round(step / dt)) - 1
    else:
        kind = "uneven"
    return kind, MESSAGES[kind].format(**fields)


def axis_from_stamps(stamps: np.ndarray, precision: str, path: str, *, dt_given: float | None = None) -> TimeAxis:
    """The time axis of a file whose every frame time stamp is known.

    Parameters
    ----------
    stamps : ndarray, shape (n,), float64
        Time stamps in ps as stored (e.g. float32 values widened to float64).
    precision : {"float32", "float64"}
        How the format stores them.
    path : str
        The file, for messages.
    dt_given : float, optional
        A time step the user passed (``dt=``), ps.

    Returns
    -------
    TimeAxis
        ``dt`` is fitted over the whole file (the first step alone carries the full
        rounding of two stamps), then rounded to a short decimal if that still fits.

    Raises
    ------
    IrregularTimeError
        ``dt_given`` contradicts the stamps beyond their precision (the message names
        the file, the frame, both times and the ``dt=`` fix).
    """
    s = np.asarray(stamps, dtype=np.float64)
    n = s.size
    t0 = _short_t0(float(s[0]), precision)
    if n < 2:
        dt = float(dt_given) if dt_given is not None else float("nan")
        return TimeAxis(t0, dt, n, True, precision)
    if s[0] == s[-1] and (s == s[0]).all():
        return _no_times(t0, n, path, dt_given)
    res = stamp_resolution(s, precision)
    steps = np.diff(s)
    dt_ref = float(np.median(steps))
    # each step is off by its two stamps' rounding; the median step by one unit of the largest stamp
    step_tol = FACTOR * (res[:-1] + res[1:]) + res.max() + 4 * np.spacing(abs(dt_ref))
    if dt_ref > step_tol.max():
        bad = np.abs(steps - dt_ref) > step_tol
    elif s[-1] > s[0]:  # steps below the stamps' resolution: only the fit over the span can check them
        bad = np.zeros(steps.size, dtype=bool)
    else:
        bad = np.ones(steps.size, dtype=bool)
    idx = np.arange(n, dtype=np.float64)
    tol = FACTOR * (res + res.max()) + 4 * np.spacing(np.abs(s))
    if bad.any():
        i = int(np.argmax(bad)) + 1
        # the frames before the irregularity keep an exact axis of their own (and name the step)
        dt = dt_ref if dt_ref > 0 else float("nan")
        if i > 1:
            dt_p, bad_p = _fit_span(s[:i], t0, tol[:i])
            dt = dt_p if bad_p is None else dt
        kind, text = classify_step(s, i, dt, float(step_tol[i - 1]), path)
        axis = TimeAxis(t0, dt, n, False, precision, i, text, kind)
    else:
        dt, i_bad = _fit_span(s, t0, tol)
        if i_bad is not None:
            i = i_bad
            expected = t0 + i * dt
            text = MESSAGES["drift"].format(frame=i, path=path, time=float(s[i]), off=abs(float(s[i]) - expected),
                                            expected=expected, dt=dt)
            axis = TimeAxis(t0, dt, n, False, precision, max(i, 1), text, "drift")
        else:
            axis = TimeAxis(t0, dt, n, True, precision)
    if dt_given is None:
        return axis
    off = np.abs(s - (t0 + idx * float(dt_given)))
    if (off > tol).any():
        i = int(np.argmax(off > tol))
        raise _dt_error(path, i, float(s[i]), float(dt_given), t0, float(tol[i]), axis)
    return replace(axis, dt=float(dt_given))


def _fit_span(s: np.ndarray, t0: float, tol: np.ndarray) -> tuple[float, int | None]:
    """dt from the first and last stamps, checked on every stamp; the first stamp off the line (or None)."""
    idx = np.arange(s.size, dtype=np.float64)
    dt = float((s[-1] - s[0]) / (s.size - 1))
    off = np.abs(s - (t0 + idx * dt)) > tol
    if off.any():
        return dt, int(np.argmax(off))
    slack = 2.0 * float(tol.max()) / (s.size - 1)  # each end stamp may be off by its tolerance
    return _snap_dt(dt, lambda c: bool((np.abs(s - (t0 + idx * c)) <= tol).all()), slack), None


def _no_times(first: float, n: int, path: str, dt_given: float | None) -> TimeAxis:
    """Every frame stamped with one time (a converter that writes none): a given dt= sets the axis."""
    if dt_given is not None:
        return TimeAxis(float(first), float(dt_given), n, True, "given")
    text = MESSAGES["no_times"].format(path=path, last=n - 1, time=first)
    return TimeAxis(float(first), float("nan"), n, False, "endpoints", 1, text, "no_times")


def _dt_error(path: str, frame: int, time: float, given: float, t0: float, tol: float,
              axis: TimeAxis) -> IrregularTimeError:
    if axis.regular and axis.dt > 0:
        own, fix = MESSAGES["dt_own"].format(dt=axis.dt), f" or pass dt={axis.dt:g}"
    else:
        own, fix = MESSAGES["dt_own_uneven"].format(irregularity=axis.irregularity), ""
    text = MESSAGES["dt_given"].format(path=path, frame=frame, time=time, given=given, expected=t0 + frame * given,
                                       t0=t0, tol=tol, own=own, fix=fix)
    return IrregularTimeError(text, path=path, frame=frame, kind="dt")


def axis_from_endpoints(first: float, last: float, n: int, dt_header: float, precision: str, path: str, *,
                        dt_given: float | None = None) -> TimeAxis:
    """The time axis of a file of which only the first and last frame times are read.

    Parameters
    ----------
    first, last : float
        Times of frames 0 and ``n - 1``, ps.
    n : int
        Frames.
    dt_header : float
        The reader's time step, ps (NaN when unknown); usually the difference of the
        first two stamps, so it carries their rounding.
    precision : {"float32", "float64"}
        How the format stores times.
    path : str
        The file, for messages.
    dt_given : float, optional
        A time step the user passed (``dt=``), ps.

    Raises
    ------
    IrregularTimeError
        ``dt_given`` contradicts the last frame's time beyond its precision.
    """
    if n < 2:
        dt = float(dt_given) if dt_given is not None else float(dt_header)
        return TimeAxis(float(first), dt, n, True, "endpoints")
    if first == last:
        return _no_times(first, n, path, dt_given)
    res_f, res_l = stamp_resolution(np.array([first, last]), precision)
    tight = FACTOR * (res_f + res_l) + 4 * float(np.spacing(abs(last)))
    dt_fit = (last - first) / (n - 1)
    dt = float(dt_given) if dt_given is not None else float(dt_header)
    if not dt > 0:  # no step to check against: the span alone decides
        ok = dt_fit > 0
        dt = dt_fit
    else:
        # a dt read from two rounded stamps is off by up to their two units, (n - 1) times over
        loose = tight + (0.0 if dt_given is not None else (n - 1) * FACTOR * 2 * res_f)
        ok = abs(last - (first + (n - 1) * dt)) <= loose
        if ok and dt_given is None and abs(last - (first + (n - 1) * dt)) > tight:
            dt = dt_fit
    if ok:
        return TimeAxis(float(first), float(dt), n, True, "endpoints")
    text = MESSAGES["endpoints"].format(frame=n - 1, path=path, time=last, expected=first + (n - 1) * dt, t0=first,
                                        dt=dt)
    axis = TimeAxis(float(first), float(dt), n, False, "endpoints", 1, text, "endpoints")
    if dt_given is not None:
        own = TimeAxis(float(first), dt_fit, n, True, "endpoints")
        raise _dt_error(path, n - 1, float(last), float(dt_given), float(first), tight, own)
    return axis


def header_axis(first: float, dt: float, n: int) -> TimeAxis:
    """A file whose times are a start and a step from its header (DCD): regular by construction."""
    return TimeAxis(float(first), float(dt), n, True, "header")


def probe_axis(reader: Any, path: str, n_frames: int, stamps: np.ndarray | None, precision: str,
               first_time: float, last_time: float, dt_reader: float, dt_given: float | None,
               ) -> tuple[TimeAxis, tuple[float, ...], float, float]:
    """The time axis of one probed file, by what its format stores (see the module notes).

    Parameters
    ----------
    reader : MDAnalysis reader
        The file's reader (its class names the format).
    path : str
        The file.
    n_frames : int
        Readable frames.
    stamps : ndarray or None
        Every frame's stored time (XTC, TRR), or None.
    precision : str
        As returned by :func:`~trajml.io.integrity.scan_frame_times`.
    first_time, last_time : float
        Times of the first and last readable frames as the reader gives them, ps.
    dt_reader : float
        The reader's ``dt``, ps.
    dt_given : float or None
        The user's ``dt=``, ps.

    Returns
    -------
    axis : TimeAxis
    head_times : tuple of float
        The first stored stamps.
    first_time, last_time : float
        Times of the first and last frames as stored (a reader given ``dt=`` may report others).
    """
    if stamps is not None and stamps.size >= n_frames > 0:
        s = np.asarray(stamps[:n_frames], dtype=np.float64)
        axis = axis_from_stamps(s, precision, path, dt_given=dt_given)
        return axis, tuple(float(x) for x in s[:HEAD_STAMPS]), float(s[0]), float(s[-1])
    if precision == "header":
        return header_axis(first_time, dt_reader, n_frames), (), first_time, last_time
    prec = "float32" if type(reader).__name__ in _FLOAT32_TIME_READERS else "float64"
    axis = axis_from_endpoints(first_time, last_time, n_frames, dt_reader, prec, path, dt_given=dt_given)
    return axis, (), first_time, last_time


#: MDAnalysis readers of formats that store per-frame times as float32 (AMBER NetCDF, TRZ).
_FLOAT32_TIME_READERS = ("NCDFReader", "TRZReader")


def _resolution_of(t: float, precision: str) -> float:
    return float(stamp_resolution(np.array([t]), "float32" if precision == "float32" else "float64")[0])


def _backward(parts: Sequence[str], infos: Sequence[Any], p: int, what: str) -> IrregularTimeError:
    """Part ``p`` goes back in time past what a restart overlap explains: name the files, times and order.

    Refused rather than sorted: the order given is the user's statement of how the run continued,
    and a wrong order (or a part of another run) is better fixed by them than guessed here.
    """
    order = " ".join(f"'{parts[i]}'" for i in sorted(range(len(parts)), key=lambda i: infos[i].first_time))
    return IrregularTimeError(MESSAGES["part_order"].format(what=what, order=order), path=parts[p], frame=0,
                              kind="part_order")


def link_parts(parts: Sequence[str], infos: Sequence[Any],
               max_difference: Callable[[int, np.ndarray, int, np.ndarray], tuple[float, float]],
               ) -> tuple[tuple[int, ...], TimeAxis, tuple[str, ...]]:
    """Join the time axes of consecutive parts of one run; find and drop restart overlaps.

    A part whose first frame(s) are at or before the previous part's last time is a
    restart that rewrote frames already saved; those frames are dropped when their
    coordinates match the previous part's (within float32 precision).

    Parameters
    ----------
    parts : sequence of str
        The files, in time order.
    infos : sequence of PartInfo
        Their probes (with ``axis`` and ``head_times``).
    max_difference : callable
        ``max_difference(p, frames_p, q, frames_q)``: the largest coordinate difference
        in Å between frames ``frames_p`` of part ``p`` and ``frames_q`` of part ``q``, and
        the largest absolute coordinate (Å), which sets the float32 tolerance.

    Returns
    -------
    skip : tuple of int
        Leading frames of each part dropped as overlap.
    axis : TimeAxis
        The trajectory's axis over the kept frames (frame numbers of the trajectory).
    notes : tuple of str
        One line per dropped overlap.

    Raises
    ------
    IrregularTimeError
        An overlap whose coordinates do not match the previous part's frames, or a part that goes
        back in time without being such an overlap (parts out of order, a part inside another's span).
    """
    # a backend that builds its PartInfo without an axis gets one checked from its first and last times
    axes = [i.axis if i.axis is not None else
            axis_from_endpoints(i.first_time, i.last_time, i.n_frames, i.dt, "float64", path)
            for i, path in zip(infos, parts)]
    first = infos[0]
    a0 = axes[0]
    if any(a.precision == "given" for a in axes):  # no stored times: the parts simply follow each other
        return (0,) * len(parts), replace(a0, n_frames=sum(i.n_frames for i in infos)), ()
    precision = a0.precision
    skip = [0]
    notes: list[str] = []
    dt = a0.dt
    bad: TimeAxis | None = None if a0.regular else a0
    offset = first.n_frames
    prev_last = first.last_time
    for p in range(1, len(parts)):
        cur = infos[p]
        a = axes[p]
        if not dt > 0:  # single-frame parts so far: the first part with a step sets it
            dt = a.dt
        step = dt
        tol = FACTOR * (_resolution_of(prev_last, precision) + _resolution_of(cur.first_time, precision))
        if cur.first_time < infos[p - 1].first_time - tol:  # before the previous part even begins: out of order
            raise _backward(parts, infos, p, f"'{parts[p]}' starts at {cur.first_time:.9g} ps, before "
                                             f"'{parts[p - 1]}' given ahead of it ({infos[p - 1].first_time:.9g} to "
                                             f"{infos[p - 1].last_time:.9g} ps)")
        k, overlap, aligned = 0, False, True
        if step > 0 and cur.first_time <= prev_last + tol:
            overlap = True
            k = int(round((prev_last - cur.first_time) / step)) + 1
            aligned = abs(prev_last - (k - 1) * step - cur.first_time) <= tol + 4 * k * float(np.spacing(step))
            head = cur.head_times
            if head and len(head) >= min(k + 1, cur.n_frames):  # count the stamps, not the rounded span
                k = int(np.sum(np.asarray(head[:k + 1]) <= prev_last + tol))
        elif not step > 0 and abs(cur.first_time - prev_last) <= tol and cur.n_frames > 1:
            overlap, k = True, 1  # no step to align with: only a repeat of the last frame is an overlap
        if overlap:
            fields = dict(path=parts[p], prev_path=parts[p - 1], time=cur.first_time, prev_time=prev_last, dt=step)
            # Not a restart that rewrote the previous part's last frames: time would run backwards, and an
            # analysis that does not need even spacing (msm, info's duration) would use it silently.
            if not aligned or k > infos[p - 1].n_frames - skip[p - 1]:
                raise _backward(parts, infos, p, MESSAGES["part_misaligned"].format(**fields))
            if k >= cur.n_frames:
                raise _backward(parts, infos, p, MESSAGES["part_inside"].format(n=cur.n_frames, end=cur.last_time,
                                                                                **fields))
            n_prev = infos[p - 1].n_frames
            prev_frames = np.arange(n_prev - k, n_prev, dtype=np.int64)
            cur_frames = np.arange(k, dtype=np.int64)
            diff, scale = max_difference(p - 1, prev_frames, p, cur_frames)
            over = dict(path=parts[p], prev_path=parts[p - 1], last=k - 1, t_first=cur.first_time,
                        t_last=cur.first_time + ((k - 1) * step if k > 1 else 0.0), p_first=n_prev - k,
                        p_last=n_prev - 1)
            if not diff <= OVERLAP_ATOL + 4 * 2.0 ** -24 * scale:
                raise IrregularTimeError(MESSAGES["overlap_mismatch"].format(diff=diff, **over),
                                         path=parts[p], frame=0, kind="overlap_mismatch")
            notes.append(MESSAGES["overlap_note"].format(**over))
        elif cur.first_time < prev_last - tol:  # no time step to align a restart with: a jump back
            raise _backward(parts, infos, p, f"'{parts[p]}' starts at {cur.first_time:.9g} ps, before "
                                             f"'{parts[p - 1]}' ends ({prev_last:.9g} ps)")
        skip.append(k)
        if bad is None and dt > 0:
            kept_first = (cur.head_times[k] if k < len(cur.head_times) else cur.first_time + k * a.dt)
            res = _resolution_of(kept_first, precision) + _resolution_of(prev_last, precision)
            gap = kept_first - prev_last
            fields = dict(frame=k, path=parts[p], prev_path=parts[p - 1], time=kept_first, prev_time=prev_last,
                          step=gap, dt=dt, prev_dt=dt)
            if not a.regular:
                bad = replace(a0, regular=False, irregular_frame=offset + max(int(a.irregular_frame) - k, 0),
                              kind=a.kind, irregularity=a.irregularity)
            elif not abs(gap - dt) <= FACTOR * res + 1e-9 * dt:
                bad = replace(a0, regular=False, irregular_frame=offset, kind="part_gap",
                              irregularity=MESSAGES["part_gap"].format(**fields))
            elif cur.n_frames - k > 1 and a.dt > 0 and not (
                    abs(a.dt - dt) * (cur.n_frames - 1) <= FACTOR * 2 * _resolution_of(cur.last_time, precision)
                    + 1e-9 * dt * cur.n_frames):
                fields["dt"] = a.dt
                bad = replace(a0, regular=False, irregular_frame=offset + 1, kind="part_dt",
                              irregularity=MESSAGES["part_dt"].format(**fields))
        offset += cur.n_frames - k
        prev_last = cur.last_time
    if bad is not None:
        return tuple(skip), replace(bad, n_frames=offset), tuple(notes)
    if len(parts) > 1 and offset > 1 and a0.precision not in ("header",):
        # one dt over the whole run: the longer span pins it better than the first part alone
        dt_run = (prev_last - a0.t0) / (offset - 1)
        span_tol = FACTOR * 2 * _resolution_of(prev_last, precision)
        if not abs(a0.t0 + (offset - 1) * dt - prev_last) <= span_tol:
            dt = _snap_dt(dt_run, lambda c: abs(a0.t0 + (offset - 1) * c - prev_last) <= span_tol)
    return tuple(skip), replace(a0, dt=dt, n_frames=offset), tuple(notes)
