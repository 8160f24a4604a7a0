"""Attention-weighted message sums of a graph convolution, forward and backward, on the CPU.

The sums are those of :mod:`trajml.kinetics.deep.messages` (which documents the model and runs the
same computation as blocked torch operations, on CUDA and as the tests' oracle). Per centre row i
with K neighbour slots (``mask`` marks the real ones, n_i of them)::

    z_ik   = c_i + h_{nbr_ik} + e(d_ik)          e interpolated: base[p] + t · slope[p]
    α_ik   = n_i · softmax_k(z_ik[2D])            over the real neighbours; 0 on padding
    out_i  = Σ_k α_ik σ(z_ik[:D]) softplus(z_ik[D:2D])

:func:`conv_forward` / :func:`conv_backward` take the terms c and h; :func:`pair_forward` /
:func:`pair_backward` the first layer, whose ``[σ(f) softplus(s), logit]`` is interpolated from a
table per (centre species, neighbour species). Tables hold rows ``[value, slope]``: the value at the
left end of a grid interval and the difference to the right end; ``index``/``fraction`` give the
interval and position of each edge.

Everything of one edge happens in registers, so a layer streams its inputs once instead of writing
a dozen (edges × channels) temporaries. σ and softplus are interpolated from a fine table
(:func:`gate_table`; errors at float32 rounding level) rather than computed from exp and log1p,
which without a vector math library cost more than the rest of the layer. The forward kernel
keeps the gate values (3 · edges · D floats, freed after the step), so the backward kernel needs
no transcendental function. The backward kernels scatter into the gradients of ``h`` and the
tables, so they run serially (deterministic sums), and so do the forward kernels (numba's and
torch's thread pools spin against each other when both are active). All arrays are float32 (ids
int64), C-contiguous; outputs are caller-allocated and zeroed where noted.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numba
import numpy as np

__all__ = ["conv_forward", "conv_backward", "pair_forward", "pair_backward", "gate_table"]

# Fast-math without the no-NaN/no-inf assumptions: reassociation lets the channel loops vectorise.
_OPTS = dict(nogil=True, cache=True, fastmath={"contract", "afn", "reassoc", "arcp", "nsz"})


#: Gate tables: σ and softplus on [-GATE_RANGE, GATE_RANGE] at spacing 1 / GATE_STEPS. Linear
#: interpolation errs by at most spacing² / 8 · max|f''|: 4.6e-8 for σ (|σ''| <= 0.0962) and 1.2e-7
#: for softplus (|softplus''| = |σ'| <= 1/4), the size of float32 rounding. Outside the range σ is
#: 0 or 1 and softplus 0 or x to within exp(-24) = 4e-11.
GATE_RANGE = 24.0
GATE_STEPS = 512


@lru_cache(maxsize=1)
def gate_table() -> np.ndarray:
    """Rows ``[σ(x_p), σ(x_{p+1}) - σ(x_p), sp(x_p), sp(x_{p+1}) - sp(x_p)]`` (float32) of the gate grid."""
    x = np.arange(-GATE_RANGE * GATE_STEPS, GATE_RANGE * GATE_STEPS + 1) / GATE_STEPS
    sig = 1.0 / (1.0 + np.exp(-x))
    sp = np.logaddexp(0.0, x)
    return np.ascontiguousarray(np.stack([sig[:-1], np.diff(sig), sp[:-1], np.diff(sp)], axis=1), dtype=np.float32)


@numba.njit(inline="always", **_OPTS)
def _lookup(gates, x):  # pragma: no cover - numba
    """σ(x) and softplus(x) from the gate table."""
    u = (min(max(x, -GATE_RANGE), GATE_RANGE) + GATE_RANGE) * GATE_STEPS
    p = min(int(u), gates.shape[0] - 1)
    t = u - p
    sig = gates[p, 0] + t * gates[p, 1]
    sp = gates[p, 2] + t * gates[p, 3]
    if x > GATE_RANGE:
        sp = x
    return sig, sp


@numba.njit(inline="always", **_OPTS)
def _gate(f, g, gates):  # pragma: no cover - numba
    """σ(f), softplus(g) and σ(g) = softplus'(g)."""
    sf, _ = _lookup(gates, f)
    sg, sp = _lookup(gates, g)
    return sf, sp, sg


@numba.njit(inline="always", **_OPTS)
def _normalise(alpha, mask, i):  # pragma: no cover - numba
    """Turn the logits in alpha[i] into n_i · softmax over the real neighbours (0 elsewhere)."""
    k = alpha.shape[1]
    top = -3.0e38
    n = 0
    for s in range(k):
        if mask[i, s]:
            n += 1
            if alpha[i, s] > top:
                top = alpha[i, s]
    total = 0.0
    for s in range(k):
        if mask[i, s]:
            e = math.exp(alpha[i, s] - top)
            alpha[i, s] = e
            total += e
        else:
            alpha[i, s] = 0.0
    if n > 0:
        scale = n / total
        for s in range(k):
            alpha[i, s] *= scale
    return n


@numba.njit(**_OPTS)
def conv_forward(c, h, table, nbr, mask, index, fraction, dim, gate, keep, out, alpha,
                 gates):  # pragma: no cover - numba
    """out (a, D) and alpha (a, K) of one convolution with an interpolated edge term (table: (P-1, 2C)).

    ``gate`` is :func:`gate_table`. With ``keep``, gates (3, a, K, D) receives σ(f), softplus(g) and
    σ(g) of every real edge for :func:`conv_backward`; otherwise it may be any float32 array.
    """
    a, k = nbr.shape
    width = c.shape[1]
    lg = 2 * dim
    for i in range(a):
        for s in range(k):
            if mask[i, s]:
                p, t = index[i, s], fraction[i, s]
                alpha[i, s] = c[i, lg] + h[nbr[i, s], lg] + table[p, lg] + t * table[p, width + lg]
        _normalise(alpha, mask, i)
        for d in range(dim):
            out[i, d] = 0.0
        for s in range(k):
            if not mask[i, s]:
                continue
            w = alpha[i, s]
            j, p, t = nbr[i, s], index[i, s], fraction[i, s]
            for d in range(dim):
                f = c[i, d] + h[j, d] + table[p, d] + t * table[p, width + d]
                e = dim + d
                g = c[i, e] + h[j, e] + table[p, e] + t * table[p, width + e]
                sf, sp, sg = _gate(f, g, gate)
                out[i, d] += w * sf * sp
                if keep:
                    gates[0, i, s, d] = sf
                    gates[1, i, s, d] = sp
                    gates[2, i, s, d] = sg


@numba.njit(**_OPTS)
def conv_backward(grad, nbr, mask, index, fraction, alpha, gates, dim, dc, dh, dtable):  # pragma: no cover
    """Gradients of :func:`conv_forward` (run with ``keep``): dc (a, C) is written, dh (m, C) and dtable
    (P-1, 2C) accumulated."""
    a, k = nbr.shape
    width = dc.shape[1]
    lg = 2 * dim
    da = np.empty(k, dtype=np.float64)
    for i in range(a):
        for e in range(width):
            dc[i, e] = 0.0
        n = 0
        mean = 0.0
        for s in range(k):
            da[s] = 0.0
            if not mask[i, s]:
                continue
            n += 1
            acc = 0.0
            for d in range(dim):
                acc += grad[i, d] * gates[0, i, s, d] * gates[1, i, s, d]
            da[s] = acc
            mean += alpha[i, s] * acc
        if n == 0:
            continue
        mean /= n
        for s in range(k):
            w = alpha[i, s]
            if not mask[i, s] or w == 0.0:
                continue
            j, p, t = nbr[i, s], index[i, s], fraction[i, s]
            for d in range(dim):
                sf, sp, sg = gates[0, i, s, d], gates[1, i, s, d], gates[2, i, s, d]
                dm = w * grad[i, d]
                df = dm * sp * sf * (1.0 - sf)
                dg = dm * sf * sg
                e = dim + d
                dc[i, d] += df
                dh[j, d] += df
                dtable[p, d] += df
                dtable[p, width + d] += t * df
                dc[i, e] += dg
                dh[j, e] += dg
                dtable[p, e] += dg
                dtable[p, width + e] += t * dg
            dl = w * (da[s] - mean)
            dc[i, lg] += dl
            dh[j, lg] += dl
            dtable[p, lg] += dl
            dtable[p, width + lg] += t * dl


@numba.njit(inline="always", **_OPTS)
def _pair_row(species, nbr, index, n_species, n_intervals, i, s):  # pragma: no cover - numba
    return (species[i] * n_species + species[nbr[i, s]]) * n_intervals + index[i, s]


@numba.njit(**_OPTS)
def pair_forward(table, species, nbr, mask, index, fraction, n_species, n_intervals, dim, out,
                 alpha):  # pragma: no cover - numba
    """out (a, D) and alpha (a, K) of the first convolution from its species-pair table ((S·S·(P-1)), 2(D+1))."""
    a, k = nbr.shape
    width = dim + 1
    for i in range(a):
        for s in range(k):
            if mask[i, s]:
                q = _pair_row(species, nbr, index, n_species, n_intervals, i, s)
                alpha[i, s] = table[q, dim] + fraction[i, s] * table[q, width + dim]
        _normalise(alpha, mask, i)
        for d in range(dim):
            out[i, d] = 0.0
        for s in range(k):
            w = alpha[i, s]
            if w == 0.0:
                continue
            q, t = _pair_row(species, nbr, index, n_species, n_intervals, i, s), fraction[i, s]
            for d in range(dim):
                out[i, d] += w * (table[q, d] + t * table[q, width + d])


@numba.njit(**_OPTS)
def pair_backward(grad, table, species, nbr, mask, index, fraction, alpha, n_species, n_intervals, dim,
                  dtable):  # pragma: no cover - numba
    """Gradient of :func:`pair_forward` with respect to its table, accumulated into dtable."""
    a, k = nbr.shape
    width = dim + 1
    da = np.empty(k, dtype=np.float32)
    for i in range(a):
        n = 0
        mean = 0.0
        for s in range(k):
            da[s] = 0.0
            if not mask[i, s]:
                continue
            n += 1
            q, t = _pair_row(species, nbr, index, n_species, n_intervals, i, s), fraction[i, s]
            acc = 0.0
            for d in range(dim):
                acc += grad[i, d] * (table[q, d] + t * table[q, width + d])
            da[s] = acc
            mean += alpha[i, s] * acc
        if n == 0:
            continue
        mean /= n
        for s in range(k):
            w = alpha[i, s]
            if w == 0.0:
                continue
            q, t = _pair_row(species, nbr, index, n_species, n_intervals, i, s), fraction[i, s]
            for d in range(dim):
                v = w * grad[i, d]
                dtable[q, d] += v
                dtable[q, width + d] += t * v
            dl = w * (da[s] - mean)
            dtable[q, dim] += dl
            dtable[q, width + dim] += t * dl
