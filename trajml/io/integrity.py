"""Integrity scans of XTC, TRR and DCD files from their public layouts, without reader internals.

MDAnalysis counts XTC/TRR frames by scanning frame headers and DCD frames from
the file size, and a damaged file silently loses frames or fails only when the
damaged frame is read. :func:`~trajml.io.backends.probe_part` therefore walks the frame structure
of XTC, TRR and DCD files itself (XDR frame headers and byte counts; DCD
Fortran record markers) from the public file layouts, without MDAnalysis
internals, and reports the first damaged frame. Garbage that lands inside the
compressed coordinates of an XTC frame, or inside the coordinate block of a
DCD/TRR frame, leaves the structure intact and cannot be detected this way.

The XTC decoder (MDAnalysis' xdrfile) trusts each frame's precision, ``minint``/``maxint``,
``smallidx`` and byte count: out-of-range values make it write outside its buffers and
crash the process (SIGSEGV) instead of raising. The scan checks them first, so such a frame
is refused with a message. Random bytes inside the compressed coordinates themselves
leave the headers intact; :mod:`trajml.io.xtc_payload` walks each frame's packed bits with
every index checked right before the decoder sees the frame, and refuses the frames it would
choke on. Bytes that decode to other, valid-looking numbers are for the plausibility checks
(:mod:`trajml.io.plausibility`).
"""

from __future__ import annotations

import os
import struct
from typing import Any

import numpy as np

__all__ = ["scan_frames", "scan_frame_times", "check_leading_bytes"]

_XTC_MAGIC = 1995
_XTC_MAGIC_2023 = 2023
_TRR_MAGIC = 1993


#: The compressed-coordinate header fields the XTC decoder trusts (xdrfile's ``xdr3dfcoord``): it
#: reads ``byte_cnt`` bytes into a buffer of ``3 * natoms * 1.2`` ints and indexes its table of 73
#: bit sizes with ``smallidx``; values outside these bounds overrun memory instead of failing.
_XTC_SMALLIDX_MAX = 72


def check_leading_bytes(path: str, format: str | None = None) -> None:
    """Refuse an empty file, or an XTC, TRR or DCD file whose first bytes are not that format's.

    MDAnalysis' readers fail on such files half-way through their construction, and the half-built
    reader then prints an ``Exception ignored ... AttributeError`` traceback when it is collected,
    after the real message: checking the first bytes here keeps the message alone.

    Parameters
    ----------
    path : str
        The trajectory file.
    format : str, optional
        Its MDAnalysis format name (default: from the extension).

    Raises
    ------
    CorruptTrajectoryError
        Naming the file and what its first bytes are.
    """
    from trajml.errors import CorruptTrajectoryError

    size = os.path.getsize(path)
    if size == 0:
        raise CorruptTrajectoryError(f"Trajectory '{path}' is empty (0 bytes): it holds no frame. "
                                     "Give the complete file (a run killed at its start writes an empty one).")
    fmt = (format or os.path.splitext(path)[1].lstrip(".")).upper()
    expected = {"XTC": (_XTC_MAGIC, _XTC_MAGIC_2023), "TRR": (_TRR_MAGIC,)}.get(fmt)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if expected is not None:
        magic = struct.unpack(">i", head[:4])[0] if len(head) >= 4 else None
        if magic not in expected:
            raise CorruptTrajectoryError(
                f"Trajectory '{path}' is not {'an' if fmt == 'XTC' else 'a'} {fmt} file: "
                f"it starts with {head[:4].hex(' ')} (magic number "
                f"{magic}), not {expected[0]}. The file is damaged, or in another format than its extension "
                "says (give the format then).")
    elif fmt == "DCD":
        markers = {struct.unpack("<i", head[:4])[0], struct.unpack(">i", head[:4])[0]} if len(head) >= 4 else set()
        wide = {struct.unpack("<q", head)[0], struct.unpack(">q", head)[0]} if len(head) == 8 else set()
        if 84 not in markers | wide:
            raise CorruptTrajectoryError(
                f"Trajectory '{path}' is not a DCD file: it starts with {head[:4].hex(' ')}, not the 84-byte "
                "header record of a DCD. The file is damaged, or in another format than its extension says.")


def _xtc_coord_header_damage(head: bytes, natoms: int) -> str | None:
    """What is wrong with an XTC frame's precision, minint/maxint, smallidx and byte count, or None."""
    (precision,) = struct.unpack(">f", head[56:60])
    minint = struct.unpack(">3i", head[60:72])
    maxint = struct.unpack(">3i", head[72:84])
    smallidx, byte_cnt = struct.unpack(">ii", head[84:92])
    if not (np.isfinite(precision) and precision > 0):
        return f"precision {precision}"
    if any(lo > hi or hi - lo >= 2**31 - 1 for lo, hi in zip(minint, maxint)):
        return f"coordinate range minint {minint}, maxint {maxint}"
    if not 9 <= smallidx <= _XTC_SMALLIDX_MAX:  # the writer starts at the 10th bit size
        return f"small-integer index {smallidx}"
    if not 0 <= byte_cnt <= int(4 * 3 * natoms * 1.2):
        return f"byte count {byte_cnt} for {natoms} atoms"
    return None


def _scan_xtc(path: str, n_atoms: int, times: list[float] | None = None,
              boxes: list[tuple[float, ...]] | None = None,
              offsets: list[int] | None = None) -> tuple[int, str | None]:
    """Walk XTC frame headers; return the number of structurally whole frames and the damage.

    When ``times`` is a list, the float32 time stamp of every whole frame is appended to it; when
    ``boxes`` is a list, its box (9 floats, the box vectors as rows, nm); when ``offsets`` is a
    list, the byte offset where the frame starts (the payload checks of
    :mod:`trajml.io.xtc_payload` find frames by it).

    Layout per frame (XDR, big-endian): magic, natoms, step, time, box (9 floats),
    natoms again; then for natoms <= 9 raw floats, else precision, minint[3],
    maxint[3], smallidx, byte count and the compressed bytes padded to 4.
    """
    size = os.path.getsize(path)
    pos = 0
    i = 0
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            head = f.read(92)
            if len(head) < 56:
                return i, f"frame {i} is truncated ({size - pos} bytes of a frame header at byte {pos})"
            magic, natoms = struct.unpack(">ii", head[:8])
            if magic == _XTC_MAGIC_2023 and i == 0:
                return -1, None  # the 64-bit XTC variant of GROMACS 2023: not scanned
            if magic != _XTC_MAGIC:
                return i, (f"frame {i} at byte {pos} is not an XTC frame header "
                           f"(magic number {magic}, expected {_XTC_MAGIC})")
            (lsize,) = struct.unpack(">i", head[52:56])
            if natoms != n_atoms or lsize != natoms:
                return i, f"frame {i} at byte {pos} has a damaged header (it says {natoms} atoms, expected {n_atoms})"
            if natoms <= 9:
                frame_size = 56 + 12 * natoms
            else:
                if len(head) < 92:
                    return i, f"frame {i} is truncated ({size - pos} bytes of a frame header at byte {pos})"
                (byte_cnt,) = struct.unpack(">i", head[88:92])
                bad = _xtc_coord_header_damage(head, natoms)
                if bad is not None:
                    return i, f"frame {i} at byte {pos} has a damaged header ({bad})"
                frame_size = 92 + 4 * ((byte_cnt + 3) // 4)
            if pos + frame_size > size:
                return i, f"frame {i} is truncated ({size - pos} of {frame_size} bytes present)"
            if times is not None:
                times.append(struct.unpack(">f", head[12:16])[0])
            if boxes is not None:
                boxes.append(struct.unpack(">9f", head[16:52]))
            if offsets is not None:
                offsets.append(pos)
            pos += frame_size
            i += 1
    return i, None


def _scan_trr(path: str, n_atoms: int, times: list[float] | None = None,
              reals: list[int] | None = None) -> tuple[int, str | None]:
    """Walk TRR frame headers; return the number of structurally whole frames and the damage.

    When ``times`` is a list, the time stamp of every whole frame is appended to it (and
    its size in bytes, 4 or 8, to ``reals``).

    Layout per frame (XDR, big-endian): magic 1993, string length 13, the XDR string
    ``"GMX_trn_file"`` (length 12 + 12 bytes), ten block sizes, natoms, step, nre,
    time and lambda (float or double), then the box, virial, pressure, x, v and f blocks.
    """
    size = os.path.getsize(path)
    pos = 0
    i = 0
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            head = f.read(92)
            if len(head) < 76:
                return i, f"frame {i} is truncated ({size - pos} bytes of a frame header at byte {pos})"
            magic, slen, strlen = struct.unpack(">iii", head[:12])
            if magic != _TRR_MAGIC or slen != 13 or strlen != 12:
                return i, (f"frame {i} at byte {pos} is not a TRR frame header "
                           f"(magic number {magic}, expected {_TRR_MAGIC})")
            (ir, e, box, vir, pres, top, sym, x, v, frc, natoms, _step, _nre) = struct.unpack(">13i", head[24:76])
            sizes = (ir, e, box, vir, pres, top, sym, x, v, frc)
            if natoms != n_atoms or min(sizes) < 0:
                return i, f"frame {i} at byte {pos} has a damaged header (it says {natoms} atoms, expected {n_atoms})"
            if box:
                real = box // 9
            elif x:
                real = x // (3 * natoms)
            elif v:
                real = v // (3 * natoms)
            elif frc:
                real = frc // (3 * natoms)
            else:
                real = 4
            if real not in (4, 8):
                return i, f"frame {i} at byte {pos} has a damaged header (block sizes {sizes})"
            frame_size = 76 + 2 * real + box + vir + pres + x + v + frc
            if pos + frame_size > size:
                return i, f"frame {i} is truncated ({size - pos} of {frame_size} bytes present)"
            if times is not None and reals is not None:
                times.append(struct.unpack(">f" if real == 4 else ">d", head[76:76 + real])[0])
                reals.append(real)
            pos += frame_size
            i += 1
    return i, None


def _scan_dcd(path: str) -> tuple[int, str | None]:
    """Check the Fortran record markers of a DCD file; return whole frames and the damage.

    Every DCD record is ``int n, n bytes, int n``. The header is three records
    (four with fixed atoms); each frame is an optional unit-cell record and
    three (or four) coordinate records. Frames after the first all have the
    same size, so their markers are checked at once through a memory map.
    """
    size = os.path.getsize(path)
    if size < 4:
        return 0, "the file is too short to hold a DCD header"
    with open(path, "rb") as f:
        first = f.read(4)
    if struct.unpack("<i", first)[0] == 84:
        end = "<"
    elif struct.unpack(">i", first)[0] == 84:
        end = ">"
    else:
        return -1, None  # 64-bit record markers or not a DCD: leave it to the reader
    data = np.memmap(path, dtype=np.uint8, mode="r")
    i4 = np.dtype(end + "i4")

    def marker(at: int) -> int | None:
        return int(data[at:at + 4].view(i4)[0]) if at + 4 <= size else None

    def record(at: int) -> int | None:
        """Position after the record starting at ``at``; None when damaged or truncated."""
        n = marker(at)
        if n is None or n < 0 or at + 8 + n > size or marker(at + 4 + n) != n:
            return None
        return at + 8 + n

    # Header as libdcd reads it: control record, title record (sized by NTITLE, whose
    # markers libdcd does not check), atom-count record, free-atom indices with fixed atoms.
    damaged = (0, "the DCD header is damaged")
    pos = record(0)
    if pos is None or pos != 92:
        return damaged
    icntrl = data[8:88].view(i4)
    n_title = marker(pos + 4)
    if n_title is None or n_title < 0:
        return damaged
    pos += 12 + 80 * n_title
    if marker(pos) != 4:
        return damaged
    pos = record(pos)
    if pos is None:
        return damaged
    if int(icntrl[8]) != 0:
        pos = record(pos)
        if pos is None:
            return damaged
    charmm = int(icntrl[19]) != 0
    per_frame = 3 + int(charmm and int(icntrl[10]) != 0) + int(charmm and int(icntrl[11]) == 1)

    def frame(at: int) -> tuple[int | None, list[int]]:
        starts = []
        for _ in range(per_frame):
            starts.append(at)
            at = record(at)
            if at is None:
                return None, starts
        return at, starts

    if pos == size:
        return 0, None
    end0, _ = frame(pos)
    if end0 is None:
        return 0, f"frame 0 is damaged or truncated (its records at byte {pos} do not match their lengths)"
    if end0 == size:
        return 1, None
    end1, starts = frame(end0)
    if end1 is None:
        return 1, f"frame 1 is damaged or truncated (its records at byte {end0} do not match their lengths)"
    framesize = end1 - end0
    n_rest, tail = divmod(size - end0, framesize)
    rel = np.array([s - end0 for s in starts], dtype=np.int64)
    lengths = np.array([marker(s) for s in starts], dtype=np.int64)
    base = end0 + framesize * np.arange(n_rest, dtype=np.int64)
    for r, n in zip(rel, lengths):
        for at in (base + r, base + r + 4 + n):
            idx = at[:, None] + np.arange(4)
            values = np.ascontiguousarray(data[idx]).view(i4)[:, 0]
            bad = np.flatnonzero(values != n)
            if bad.size:
                k = int(bad[0])
                n_rest = min(n_rest, k)
    n_good = 1 + int(n_rest)
    if n_good < 1 + (size - end0) // framesize:
        return n_good, (f"frame {n_good} is damaged (its Fortran record markers at byte "
                        f"{end0 + framesize * n_rest} do not match)")
    if tail:
        return n_good, f"frame {n_good} is truncated ({tail} of {framesize} bytes present)"
    return n_good, None


def scan_frames(reader: Any, path: str) -> tuple[int, str | None]:
    """Count the structurally whole frames of an XTC, TRR or DCD file.

    Parameters
    ----------
    reader : MDAnalysis reader
        The file's reader (its class selects the layout; its ``n_atoms`` is the expectation).
    path : str
        The file.

    Returns
    -------
    n_frames : int
        Frames before the first damaged one; -1 when the format is not scanned.
    damage : str or None
        What is wrong with frame ``n_frames``, or None when the file is whole.
    """
    n, damage, _, _ = scan_frame_times(reader, path)  # the same walk; the stamps cost nothing extra
    return n, damage


def scan_frame_times(reader: Any, path: str, boxes: list[tuple[float, ...]] | None = None,
                     offsets: list[int] | None = None) -> tuple[int, str | None, np.ndarray | None, str]:
    """Count the whole frames of a file and read their time stamps from the frame headers.

    XTC frames store their time as a float32 and TRR frames as a float or a double at
    fixed places of the frame header, so the stamps come without decoding coordinates.

    Parameters
    ----------
    reader : MDAnalysis reader
        The file's reader (its class selects the layout).
    path : str
        The file.
    boxes : list, optional
        For an XTC file, filled with the box of every whole frame (9 floats, box vectors as rows,
        nm) from the same walk; left empty for other formats.
    offsets : list, optional
        For an XTC file, filled with the byte offset of every whole frame; left empty otherwise.

    Returns
    -------
    n_frames : int
        As for :func:`scan_frames` (-1 when the format is not scanned).
    damage : str or None
        As for :func:`scan_frames`.
    times : ndarray of float64 or None
        Time stamps in ps of the whole frames; None when the format stores none in its headers.
    precision : {"float32", "float64", "header"}
        How the format stores times: per-frame float32 or float64 stamps, or (DCD) a start and
        a step in the file header only, so that times are regular by construction.
    """
    from MDAnalysis.coordinates.DCD import DCDReader
    from MDAnalysis.coordinates.TRR import TRRReader
    from MDAnalysis.coordinates.XTC import XTCReader

    times: list[float] = []
    if isinstance(reader, XTCReader):
        n, damage = _scan_xtc(path, int(reader.n_atoms), times, boxes, offsets)
        if n < 0:
            return n, damage, None, "float32"
        return n, damage, np.asarray(times, dtype=np.float64), "float32"
    if isinstance(reader, TRRReader):
        reals: list[int] = []
        n, damage = _scan_trr(path, int(reader.n_atoms), times, reals)
        precision = "float64" if reals and min(reals) == 8 else "float32"
        return n, damage, np.asarray(times, dtype=np.float64), precision
    if isinstance(reader, DCDReader):
        n, damage = _scan_dcd(path)
        return n, damage, None, "header"
    return -1, None, None, "float64"


def _integrity_times(reader: Any, path: str, boxes: list[tuple[float, ...]] | None = None,
                     offsets: list[int] | None = None) -> tuple[int, str | None, np.ndarray | None, str]:
    """Readable frames of a file, the damage that ends them early (None when whole), the header time
    stamps of those frames and their precision (see :func:`scan_frame_times`; ``boxes`` and
    ``offsets`` as there)."""
    n = int(reader.n_frames)
    n_scan, damage, times, precision = scan_frame_times(reader, path, boxes, offsets)
    if n_scan < 0:
        return n, None, None, precision
    if damage is None and n_scan != n:
        damage = f"MDAnalysis counts {n} frames but the file holds {n_scan} whole frames"
    n_good = min(n, n_scan)
    return n_good, damage, (None if times is None else times[:n_good]), precision
