"""A bounds-checked decoder of GROMACS XTC compressed coordinates.

XTC frames store coordinates as integers (``round(x * precision)``) packed with a
variable bit width: the first atom of a run at full width, its neighbours as small
differences whose width (``smallidx``, an index into a table of 73 sizes) grows and
shrinks as the data go (the "xdr3dfcoord" scheme of GROMACS' xdrfile library).
The reference decoder trusts the data: a run that claims more atoms than the frame
holds, a width index walking off its table, or a bit stream longer than the frame's
byte count make it write or read outside its buffers, which corrupts memory and can
kill the process (SIGSEGV, "double free or corruption") long after the damaged frame.

:func:`xtc_decode` walks the same bit stream with every index checked and reports,
per frame, whether decoding is safe. It can also return the coordinates (nm, float32,
bitwise what xdrfile gives), which is how the tests prove it follows the format: they
compare it with MDAnalysis' reader on XTC files nobody here wrote.

Frame layout (XDR, big-endian): magic 1995, natoms, step, time (float32), box
(9 float32, nm), natoms again; for natoms <= 9 the raw float32 coordinates; else
precision (float32), minint[3], maxint[3], smallidx, the byte count, and the packed
bytes padded to a multiple of 4.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["XTC_STATUS", "xtc_decode"]

#: Meaning of the status codes :func:`xtc_decode` writes per frame.
XTC_STATUS = {
    0: "decodes safely",
    1: "the frame header is damaged (magic number, atom count or a field out of range)",
    2: "the compressed data walk the small-integer width index out of its table",
    3: "a run of compressed atoms runs past the frame's atom count",
    4: "the compressed data end before the frame's atoms do (byte count too small)",
    5: "the frame extends past the end of the data given",
}

# Bit widths of the small differences (xdrfile's "magicints"); index 9 is the first used.
_MAGICINTS = np.array([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 10, 12, 16, 20, 25, 32, 40, 50, 64,
    80, 101, 128, 161, 203, 256, 322, 406, 512, 645, 812, 1024, 1290,
    1625, 2048, 2580, 3250, 4096, 5060, 6501, 8192, 10321, 13003,
    16384, 20642, 26007, 32768, 41285, 52015, 65536, 82570, 104031,
    131072, 165140, 208063, 262144, 330280, 416127, 524287, 660561,
    832255, 1048576, 1321122, 1664510, 2097152, 2642245, 3329021,
    4194304, 5284491, 6658042, 8388607, 10568983, 13316085, 16777216], dtype=np.int64)
_FIRSTIDX = 9


@numba.njit(nogil=True, cache=True)
def _be_int(buf: np.ndarray, at: int) -> int:
    v = (np.int64(buf[at]) << 24) | (np.int64(buf[at + 1]) << 16) | (np.int64(buf[at + 2]) << 8) | np.int64(buf[at + 3])
    return v - (np.int64(1) << 32) if v >= (np.int64(1) << 31) else v


@numba.njit(nogil=True, cache=True)
def _be_float(buf: np.ndarray, at: int) -> np.float32:
    word = np.empty(1, dtype=np.uint32)
    word[0] = np.uint32((np.int64(buf[at]) << 24) | (np.int64(buf[at + 1]) << 16)
                        | (np.int64(buf[at + 2]) << 8) | np.int64(buf[at + 3]))
    return word.view(np.float32)[0]


@numba.njit(nogil=True, cache=True)
def _size_of_int(size: int) -> int:
    num = np.int64(1)
    bits = 0
    while size >= num and bits < 32:
        bits += 1
        num <<= 1
    return bits


@numba.njit(nogil=True, cache=True)
def _size_of_ints(sizes: np.ndarray) -> int:
    """Bits needed for three integers below ``sizes`` packed as one mixed-radix number."""
    nbytes = np.zeros(32, dtype=np.int64)
    nbytes[0] = 1
    n_bytes = 1
    for i in range(3):
        tmp = np.int64(0)
        cnt = 0
        while cnt < n_bytes:
            tmp = nbytes[cnt] * sizes[i] + tmp
            nbytes[cnt] = tmp & 0xFF
            tmp >>= 8
            cnt += 1
        while tmp != 0:
            nbytes[cnt] = tmp & 0xFF
            cnt += 1
            tmp >>= 8
        n_bytes = cnt
    num = 1
    n_bytes -= 1
    bits = 0
    while nbytes[n_bytes] >= num:
        bits += 1
        num *= 2
    return bits + n_bytes * 8


@numba.njit(nogil=True, cache=True, inline="always")
def _bits(buf: np.ndarray, end: int, at: int, lastbits: int, lastbyte: int, nbits: int
          ) -> tuple[int, int, int, int]:
    """The next ``nbits`` bits of the packed stream (read from byte ``at``, which stays below ``end``).

    Returns the value and the new reading state (byte position, bits left in the last byte, the
    last bytes); the position comes back as ``end + 1`` when the stream ran out (value 0).
    """
    mask = (np.int64(1) << nbits) - 1
    num = np.int64(0)
    while nbits >= 8:
        if at >= end:
            return 0, end + 1, lastbits, lastbyte
        lastbyte = ((lastbyte << 8) | np.int64(buf[at])) & 0xFFFFFFFF
        at += 1
        num |= (lastbyte >> lastbits) << (nbits - 8)
        nbits -= 8
    if nbits > 0:
        if lastbits < nbits:
            if at >= end:
                return 0, end + 1, lastbits, lastbyte
            lastbits += 8
            lastbyte = ((lastbyte << 8) | np.int64(buf[at])) & 0xFFFFFFFF
            at += 1
        lastbits -= nbits
        num |= (lastbyte >> lastbits) & ((np.int64(1) << nbits) - 1)
    return num & mask, at, lastbits, lastbyte


@numba.njit(nogil=True, cache=True, inline="always")
def _ints(buf: np.ndarray, end: int, at: int, lastbits: int, lastbyte: int, nbits: int, s1: int, s2: int,
          digits: np.ndarray) -> tuple[int, int, int, int, int, int]:
    """Three integers packed in ``nbits`` bits as one mixed-radix number with radices ``(s0,) s1, s2``.

    Returns the three, then the new reading state. The number is stored as bytes, least significant
    first; below 2**64 it is unpacked with two divisions, else by the reference's long division.
    """
    if nbits <= 64:
        num = np.uint64(0)
        shift = 0
        while nbits > 8:
            byte, at, lastbits, lastbyte = _bits(buf, end, at, lastbits, lastbyte, 8)
            num |= np.uint64(byte) << np.uint64(shift)
            shift += 8
            nbits -= 8
        if nbits > 0:
            byte, at, lastbits, lastbyte = _bits(buf, end, at, lastbits, lastbyte, nbits)
            num |= np.uint64(byte) << np.uint64(shift)
        size2 = np.uint64(s2)
        size1 = np.uint64(s1)
        z = np.int64(num % size2)
        num //= size2
        y = np.int64(num % size1)
        num //= size1
        low = np.int64(num & np.uint64(0xFFFFFFFF))  # the reference keeps the quotient's low 4 bytes
        x = low - (np.int64(1) << 32) if low >= (np.int64(1) << 31) else low
        return x, y, z, at, lastbits, lastbyte
    digits[1] = digits[2] = digits[3] = 0
    n = 0
    while nbits > 8:
        digits[n], at, lastbits, lastbyte = _bits(buf, end, at, lastbits, lastbyte, 8)
        n += 1
        nbits -= 8
    if nbits > 0:
        digits[n], at, lastbits, lastbyte = _bits(buf, end, at, lastbits, lastbyte, nbits)
        n += 1
    z = np.int64(0)
    y = np.int64(0)
    for i in range(2, 0, -1):
        size = np.uint64(s2 if i == 2 else s1)
        num = np.uint64(0)
        for j in range(n - 1, -1, -1):
            num = (num << np.uint64(8)) | np.uint64(digits[j])
            p = num // size
            digits[j] = np.int64(p)
            num = num - p * size
        if i == 2:
            z = np.int64(num)
        else:
            y = np.int64(num)
    low = digits[0] | (digits[1] << 8) | (digits[2] << 16) | (digits[3] << 24)
    x = low - (np.int64(1) << 32) if low >= (np.int64(1) << 31) else low
    return x, y, z, at, lastbits, lastbyte


@numba.njit(nogil=True, cache=True)
def _header(buf: np.ndarray, at: int, natoms: int, minint: np.ndarray, sizeint: np.ndarray,
            bitsizeint: np.ndarray) -> tuple[int, float, int, int, int]:
    """Read and check a frame's header up to its packed stream.

    Returns ``(status, precision, bitsize, smallidx, byte_cnt)``; status -1 for a frame of at most 9
    atoms (raw floats, nothing packed), else 0 or a key of :data:`XTC_STATUS`. Fills ``minint``,
    ``sizeint`` (the three radices) and ``bitsizeint`` (their widths when a radix exceeds 24 bits,
    then ``bitsize`` is 0; else ``bitsize`` is the width of the three packed as one number).
    """
    end = buf.shape[0]
    if at + 56 > end:
        return 5, 0.0, 0, 0, 0
    if _be_int(buf, at) != 1995 or _be_int(buf, at + 4) != natoms or _be_int(buf, at + 52) != natoms:
        return 1, 0.0, 0, 0, 0
    if natoms <= 9:
        return (5 if at + 56 + 12 * natoms > end else -1), 0.0, 0, 0, 0
    if at + 92 > end:
        return 5, 0.0, 0, 0, 0
    precision = _be_float(buf, at + 56)
    if not (precision > 0 and np.isfinite(precision)):
        return 1, 0.0, 0, 0, 0
    large = False
    for k in range(3):
        minint[k] = _be_int(buf, at + 60 + 4 * k)
        sizeint[k] = _be_int(buf, at + 72 + 4 * k) - minint[k] + 1
        if sizeint[k] <= 0 or sizeint[k] > (np.int64(1) << 32):
            return 1, 0.0, 0, 0, 0
        if sizeint[k] > 0xFFFFFF:
            large = True
    bitsize = 0
    bitsizeint[:] = 0
    if large:
        for k in range(3):
            bitsizeint[k] = _size_of_int(sizeint[k])
    else:
        bitsize = _size_of_ints(sizeint)
    smallidx = _be_int(buf, at + 84)
    if smallidx < _FIRSTIDX or smallidx >= _MAGICINTS.shape[0]:
        return 2, 0.0, 0, 0, 0
    byte_cnt = _be_int(buf, at + 88)
    if byte_cnt < 0 or at + 92 + byte_cnt > end:
        return 5, 0.0, 0, 0, 0
    return 0, np.float64(precision), bitsize, smallidx, byte_cnt


@numba.njit(nogil=True, cache=True)
def _frame(buf: np.ndarray, at: int, natoms: int, xyz: np.ndarray) -> int:
    """Decode (or only check, when ``xyz`` has no rows) the frame starting at byte ``at``; a status code."""
    minint = np.empty(3, dtype=np.int64)
    sizeint = np.empty(3, dtype=np.int64)
    bitsizeint = np.empty(3, dtype=np.int64)
    status, precision, bitsize, smallidx, byte_cnt = _header(buf, at, natoms, minint, sizeint, bitsizeint)
    write = xyz.shape[0] > 0
    if status == -1:
        if write:
            for i in range(natoms):
                for k in range(3):
                    xyz[i, k] = _be_float(buf, at + 56 + 12 * i + 4 * k)
        return 0
    if status != 0:
        return status
    smaller = _MAGICINTS[max(_FIRSTIDX, smallidx - 1)] // 2
    smallnum = _MAGICINTS[smallidx] // 2
    pos = at + 92  # the packed stream: its reading position, bits left in its last byte, the last bytes
    stop = at + 92 + byte_cnt
    lastbits = 0
    lastbyte = 0
    inv = np.float32(1.0 / precision)  # as xdrfile: a double quotient stored as float
    digits = np.zeros(32, dtype=np.int64)  # scratch of the long-division unpacking (at most 9 bytes used)
    m0, m1, m2 = minint[0], minint[1], minint[2]
    run = 0
    i = 0
    out_row = 0
    while i < natoms:
        if bitsize == 0:
            t0, pos, lastbits, lastbyte = _bits(buf, stop, pos, lastbits, lastbyte, bitsizeint[0])
            t1, pos, lastbits, lastbyte = _bits(buf, stop, pos, lastbits, lastbyte, bitsizeint[1])
            t2, pos, lastbits, lastbyte = _bits(buf, stop, pos, lastbits, lastbyte, bitsizeint[2])
        else:
            t0, t1, t2, pos, lastbits, lastbyte = _ints(buf, stop, pos, lastbits, lastbyte, bitsize, sizeint[1],
                                                        sizeint[2], digits)
        i += 1
        t0 += m0
        t1 += m1
        t2 += m2
        p0, p1, p2 = t0, t1, t2
        flag, pos, lastbits, lastbyte = _bits(buf, stop, pos, lastbits, lastbyte, 1)
        is_smaller = 0
        if flag == 1:
            run, pos, lastbits, lastbyte = _bits(buf, stop, pos, lastbits, lastbyte, 5)
            is_smaller = run % 3
            run -= is_smaller
            is_smaller -= 1
        if pos > stop:
            return 4
        if run > 0:
            if i + run // 3 > natoms:  # the reference decoder would write past its buffer here
                return 3
            small = _MAGICINTS[smallidx]
            for r in range(0, run, 3):
                d0, d1, d2, pos, lastbits, lastbyte = _ints(buf, stop, pos, lastbits, lastbyte, smallidx, small,
                                                            small, digits)
                i += 1
                t0 = p0 + d0 - smallnum
                t1 = p1 + d1 - smallnum
                t2 = p2 + d2 - smallnum
                if r == 0:  # the writer swaps the first two atoms of a run (water packs better)
                    t0, p0 = p0, t0
                    t1, p1 = p1, t1
                    t2, p2 = p2, t2
                    if write:
                        xyz[out_row, 0] = np.float32(p0) * inv
                        xyz[out_row, 1] = np.float32(p1) * inv
                        xyz[out_row, 2] = np.float32(p2) * inv
                    out_row += 1
                else:
                    p0, p1, p2 = t0, t1, t2
                if write:
                    xyz[out_row, 0] = np.float32(t0) * inv
                    xyz[out_row, 1] = np.float32(t1) * inv
                    xyz[out_row, 2] = np.float32(t2) * inv
                out_row += 1
        else:
            if write:
                xyz[out_row, 0] = np.float32(t0) * inv
                xyz[out_row, 1] = np.float32(t1) * inv
                xyz[out_row, 2] = np.float32(t2) * inv
            out_row += 1
        if pos > stop:
            return 4
        smallidx += is_smaller
        if smallidx < _FIRSTIDX or smallidx >= _MAGICINTS.shape[0]:
            return 2
        if is_smaller < 0:
            smallnum = smaller
            smaller = _MAGICINTS[smallidx - 1] // 2 if smallidx > _FIRSTIDX else 0
        elif is_smaller > 0:
            smaller = smallnum
            smallnum = _MAGICINTS[smallidx] // 2
    return 0


@numba.njit(nogil=True, cache=True, inline="always")
def _peek(buf: np.ndarray, base: int, cursor: int, nbits: int) -> int:
    """``nbits`` (at most 8) bits of the stream starting at byte ``base``, from bit ``cursor`` on, MSB first."""
    b = base + (cursor >> 3)
    shift = cursor & 7
    word = np.int64(buf[b]) << 8
    if shift + nbits > 8:
        word |= np.int64(buf[b + 1])
    return (word >> (16 - shift - nbits)) & ((np.int64(1) << nbits) - 1)


@numba.njit(nogil=True, cache=True)
def _check_frame(buf: np.ndarray, at: int, natoms: int) -> int:
    """The status :func:`_frame` would return, found without unpacking a coordinate.

    The packed integers' widths depend only on the header and on ``smallidx``, never on their
    values, so the walk skips them by their width and reads only the run flags and lengths.
    """
    minint = np.empty(3, dtype=np.int64)
    sizeint = np.empty(3, dtype=np.int64)
    bitsizeint = np.empty(3, dtype=np.int64)
    status, _, bitsize, smallidx, byte_cnt = _header(buf, at, natoms, minint, sizeint, bitsizeint)
    if status != 0:
        return 0 if status == -1 else status
    big = bitsize if bitsize > 0 else bitsizeint[0] + bitsizeint[1] + bitsizeint[2]
    base = at + 92
    limit = 8 * byte_cnt  # bits in the stream: the decoder reads whole bytes, so ceil(bits / 8) <= byte_cnt
    cursor = 0
    run = 0
    i = 0
    while i < natoms:
        cursor += big
        i += 1
        if cursor + 1 > limit:
            return 4
        flag = _peek(buf, base, cursor, 1)
        cursor += 1
        is_smaller = 0
        if flag == 1:
            if cursor + 5 > limit:
                return 4
            run = _peek(buf, base, cursor, 5)
            cursor += 5
            is_smaller = run % 3
            run -= is_smaller
            is_smaller -= 1
        if run > 0:
            if i + run // 3 > natoms:
                return 3
            cursor += (run // 3) * smallidx
            i += run // 3
            if cursor > limit:
                return 4
        smallidx += is_smaller
        if smallidx < _FIRSTIDX or smallidx >= _MAGICINTS.shape[0]:
            return 2
    return 0


#: Atom-frames below which a chunk decodes on one thread (about 10 ms of work): waking the thread pool
#: costs tens of microseconds on an idle machine but milliseconds when other processes hold the cores.
_PARALLEL_MIN_ATOMS = 500_000


@numba.njit(nogil=True, cache=True)
def _decode_serial(buf: np.ndarray, starts: np.ndarray, natoms: int, out: np.ndarray, status: np.ndarray) -> None:
    for f in range(starts.shape[0]):
        status[f] = _frame(buf, starts[f], natoms, out[f])


@numba.njit(nogil=True, parallel=True, cache=True)
def _decode_kernel(buf: np.ndarray, starts: np.ndarray, natoms: int, out: np.ndarray, status: np.ndarray) -> None:
    for fp in numba.prange(starts.shape[0]):
        f = np.int64(fp)
        status[f] = _frame(buf, starts[f], natoms, out[f])


@numba.njit(nogil=True, cache=True)
def _check_kernel(buf: np.ndarray, starts: np.ndarray, natoms: int, status: np.ndarray) -> None:
    # Serial: a frame's check costs about a microsecond, less than waking a thread pool.
    for f in range(starts.shape[0]):
        status[f] = _check_frame(buf, starts[f], natoms)


def xtc_decode(data: np.ndarray, starts: np.ndarray, n_atoms: int, out: np.ndarray | None = None) -> np.ndarray:
    """Check (and optionally decode) XTC frames held in memory, with every index bounds-checked.

    Parameters
    ----------
    data : ndarray of uint8
        Raw bytes holding the frames (a slice of the file).
    starts : ndarray of int64, shape (F,)
        Byte offset of each frame to check within ``data``.
    n_atoms : int
        Atoms per frame (the topology's).
    out : ndarray, shape (F, n_atoms, 3), float32, optional
        Filled with the coordinates in nm (as stored: no conversion) where a frame decodes;
        rows of a frame with a non-zero status are undefined.

    Returns
    -------
    ndarray of int64, shape (F,)
        A status per frame: 0 when it decodes safely, else a key of :data:`XTC_STATUS`.
    """
    data = np.ascontiguousarray(data, dtype=np.uint8)  # read-only buffers are fine: nothing writes to them
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    status = np.empty(len(starts), dtype=np.int64)
    if out is None:
        _check_kernel(data, starts, np.int64(n_atoms), status)
        return status
    if out.shape != (len(starts), n_atoms, 3) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float32 array of shape {(len(starts), n_atoms, 3)}")
    kernel = _decode_kernel if len(starts) * n_atoms >= _PARALLEL_MIN_ATOMS else _decode_serial
    kernel(data, starts, np.int64(n_atoms), out, status)
    return status
