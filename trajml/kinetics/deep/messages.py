"""The message sums of the graph VAMPNet's attention convolutions, computed in cache-sized blocks.

One convolution sums over the K neighbours j of each centre i the messages
``α_ij σ(f_ij) ⊙ softplus(s_ij)``, where ``(f, s, logit) = c_i + h_j + e(d_ij)`` and ``α_ij`` is
n_i times the softmax of the logits over the n_i real neighbours. Written as plain torch
operations this creates a dozen (edges × (2·dim + 1)) tensors per layer, hundreds of MB each at
the sizes of a training batch: the layer then runs at the speed of main memory, and autograd
keeps them all for the backward pass. Here the sums are autograd functions that work on blocks of
centres small enough to stay in cache, keep only the attention weights (edges floats) and
recompute the rest in the backward pass. The same code runs on CUDA (in larger blocks). On the
CPU, float32 work goes to the fused numba kernels of :mod:`trajml.kernels._graph_messages` (one
pass over the edges, σ and softplus from a fine table), which these torch operations also check
in the tests.

Two functions, one per kind of layer:

- :func:`message_sum`: any layer. The edge term ``e(d)`` is linear in the Gaussian expansion of
  the distance, so it is read from a table of ``e`` on a fine distance grid by linear
  interpolation (:func:`edge_table`) instead of 16 exponentials and a matrix product per edge;
  passing per-edge terms instead gives the exact computation (the tests compare both).
- :func:`pair_message_sum`: the first layer. Its inputs are the species embeddings, so every
  message and logit is a function of (species of i, species of j, d) alone; with few species, the
  whole first layer is a table lookup (:func:`pair_table`).

Interpolation error: linear interpolation at spacing ``δ`` of a function ``g`` errs by at most
``δ² / 8 · max |g''|``. The grid spacing is the Gaussian width divided by :data:`GRID_PER_WIDTH`; for
the edge term this bounds the error by ``Σ_k |W_ck| / (4 · GRID_PER_WIDTH²)`` per channel c
(:func:`edge_interpolation_bound`), a few 1e-6 for trained weights.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["GRID_PER_WIDTH", "grid_coordinates", "edge_table", "edge_interpolation_bound", "pair_table",
           "message_sum", "pair_message_sum"]

#: Grid points per Gaussian width of the distance tables (error ∝ 1 / GRID_PER_WIDTH²).
GRID_PER_WIDTH = 256

#: Whether CPU float32 work goes to the numba kernels of :mod:`trajml.kernels._graph_messages` (the
#: blocked torch operations otherwise; the tests run both).
USE_KERNELS = True

#: Elements (edges × channels) per block on the CPU: a few MB per temporary, within the caches.
_CPU_BLOCK = 1 << 17
_CUDA_BLOCK = 1 << 25


def _kernel_path(t: torch.Tensor) -> bool:
    return USE_KERNELS and t.device.type == "cpu" and t.dtype == torch.float32


def _np(t: torch.Tensor) -> Any:
    return t.detach().contiguous().numpy()


def _block_rows(device: torch.device, k: int, channels: int) -> int:
    budget = _CUDA_BLOCK if device.type == "cuda" else _CPU_BLOCK
    return max(1, budget // max(1, k * channels))


def grid_coordinates(d: torch.Tensor, spacing: float, n_points: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Interval index and fraction of each distance on the grid ``0, spacing, …`` of ``n_points`` points.

    Parameters
    ----------
    d : torch.Tensor, float
        Distances in Å (any shape), at most ``(n_points - 1) · spacing``.
    spacing : float
        Grid spacing in Å.
    n_points : int
        Grid points (>= 2).

    Returns
    -------
    index : torch.Tensor, int64
        Interval of each distance, in [0, n_points - 2].
    fraction : torch.Tensor, float32
        Position inside the interval, in [0, 1].
    """
    u = d.float() / spacing
    index = u.floor().clamp_(0, n_points - 2)
    return index.long(), (u - index).clamp_(0.0, 1.0)


def _lerp_rows(values: torch.Tensor) -> torch.Tensor:
    """Rows ``[g(x_p), g(x_{p+1}) - g(x_p)]`` of a table ``values`` (..., P, C): shape (..., P - 1, 2C)."""
    return torch.cat([values[..., :-1, :], values[..., 1:, :] - values[..., :-1, :]], dim=-1)


def edge_table(expand: Any, weight: torch.Tensor, spacing: float, n_points: int) -> torch.Tensor:
    """Interpolation rows of the edge term ``e(d) = W · gauss(d)`` on a distance grid (differentiable in W).

    Parameters
    ----------
    expand : callable
        The Gaussian expansion, (P,) Å → (P, n_gaussians).
    weight : torch.Tensor, shape (C, n_gaussians)
        The edge weights W.
    spacing : float
        Grid spacing in Å.
    n_points : int
        Grid points.

    Returns
    -------
    torch.Tensor, shape (n_points - 1, 2C)
        Per interval, the value at its left end and the difference to its right end.
    """
    grid = torch.arange(n_points, device=weight.device, dtype=torch.float32) * spacing
    return _lerp_rows(expand(grid) @ weight.t())


def edge_interpolation_bound(weight: torch.Tensor, width: float, spacing: float) -> torch.Tensor:
    """Largest error of the interpolated edge term, per channel (same unit as the term).

    ``|d²/dd² exp(-((d - μ)/w)²)| <= 2 / w²``, so ``|e''| <= 2 Σ_k |W_ck| / w²`` and linear
    interpolation errs by at most ``spacing² / 8`` times that.

    Parameters
    ----------
    weight : torch.Tensor, shape (C, n_gaussians)
        The edge weights W.
    width : float
        Gaussian width w in Å.
    spacing : float
        Grid spacing in Å.

    Returns
    -------
    torch.Tensor, shape (C,)
    """
    return weight.abs().sum(1) * (spacing ** 2 / (4.0 * width ** 2))


def pair_table(centre: torch.Tensor, neighbour: torch.Tensor, edge: torch.Tensor, dim: int) -> torch.Tensor:
    """Interpolation rows of the first layer's messages and logits per (centre species, neighbour species).

    Parameters
    ----------
    centre : torch.Tensor, shape (S, 2·dim + 1)
        Centre terms ``c`` of each species.
    neighbour : torch.Tensor, shape (S, 2·dim + 1)
        Neighbour terms ``h`` of each species.
    edge : torch.Tensor, shape (P, 2·dim + 1)
        The edge term on the distance grid.
    dim : int
        Feature width.

    Returns
    -------
    torch.Tensor, shape (S · S · (P - 1), 2 · (dim + 1))
        Row ``(s_i · S + s_j) · (P - 1) + p``: ``[σ(f) softplus(s), logit]`` at the left end of
        interval p, then the difference to its right end.
    """
    z = centre[:, None, None, :] + neighbour[None, :, None, :] + edge[None, None]
    v = torch.cat([torch.sigmoid(z[..., :dim]) * torch.nn.functional.softplus(z[..., dim:2 * dim]),
                   z[..., 2 * dim:]], dim=-1)
    s = centre.shape[0]
    return _lerp_rows(v.reshape(s * s, edge.shape[0], dim + 1)).reshape(-1, 2 * (dim + 1))


def _attention(logit: torch.Tensor, mask: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """n_i · softmax over the real neighbours; 0 on padding and for rows without neighbours."""
    logit = logit.masked_fill(~mask, -math.inf)
    top = logit.amax(1, keepdim=True)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    e = torch.exp(logit - top)
    return e * (count / e.sum(1, keepdim=True).clamp_min(1e-30))


def _logit_grad(alpha: torch.Tensor, da: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """dL/dlogit_ij = α_ij (a_ij - Σ_k p_ik a_ik), with a = dL/dα and p = α / n_i."""
    p = alpha / count.clamp_min(1.0)
    return alpha * (da - (p * da).sum(1, keepdim=True))


class _MessageSum(torch.autograd.Function):
    """Σ_j α_ij σ(f_ij) softplus(s_ij) with ``(f, s, logit) = c_i + h_j + e_ij`` (see the module docstring)."""

    @staticmethod
    def forward(ctx: Any, c: torch.Tensor, h: torch.Tensor, edge: torch.Tensor, nbr: torch.Tensor,
                mask: torch.Tensor, index: torch.Tensor | None, fraction: torch.Tensor | None,
                dim: int) -> torch.Tensor:
        a, k = nbr.shape
        width = c.shape[1]
        out = c.new_empty((a, dim))
        alpha = c.new_empty((a, k))
        count = mask.sum(1, keepdim=True).to(c.dtype)
        kernel = index is not None and _kernel_path(c)
        if kernel:
            from trajml.kernels._graph_messages import conv_forward, gate_table

            keep = any(ctx.needs_input_grad[:3])
            gates = c.new_empty((3, a, k, dim) if keep else (1, 1, 1, 1))
            conv_forward(_np(c), _np(h), _np(edge), _np(nbr), _np(mask), _np(index), _np(fraction), dim,
                         gate_table(), keep, out.numpy(), alpha.numpy(), gates.numpy())
            ctx.gates = gates
        step = _block_rows(c.device, k, width)
        for lo in range(0, 0 if kernel else a, step):
            hi = min(lo + step, a)
            z = _pre_activation(c, h, edge, nbr, index, fraction, lo, hi)
            al = _attention(z[..., 2 * dim], mask[lo:hi], count[lo:hi])
            alpha[lo:hi] = al
            m = torch.sigmoid(z[..., :dim]) * torch.nn.functional.softplus(z[..., dim:2 * dim])
            out[lo:hi] = torch.einsum("rk,rkd->rd", al, m)
        ctx.save_for_backward(c, h, edge, nbr, mask, index, fraction, alpha, count)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        c, h, edge, nbr, mask, index, fraction, alpha, count = ctx.saved_tensors
        dim = ctx.dim
        a, k = nbr.shape
        width = c.shape[1]
        grad = grad.contiguous()
        dc = torch.empty_like(c)
        dh = torch.zeros_like(h)
        dedge = torch.zeros_like(edge)
        if index is not None and _kernel_path(c):
            from trajml.kernels._graph_messages import conv_backward

            conv_backward(_np(grad), _np(nbr), _np(mask), _np(index), _np(fraction), _np(alpha), ctx.gates.numpy(),
                          dim, dc.numpy(), dh.numpy(), dedge.numpy())
            del ctx.gates
            return dc, dh, dedge, None, None, None, None, None
        step = _block_rows(c.device, k, width)
        for lo in range(0, a, step):
            hi = min(lo + step, a)
            z = _pre_activation(c, h, edge, nbr, index, fraction, lo, hi)
            f, s = z[..., :dim], z[..., dim:2 * dim]
            sf, sp = torch.sigmoid(f), torch.nn.functional.softplus(s)
            al, g = alpha[lo:hi], grad[lo:hi, None, :]
            dm = al[..., None] * g
            dz = torch.cat([dm * sp * sf * (1.0 - sf), dm * sf * torch.sigmoid(s),
                            _logit_grad(al, (g * sf * sp).sum(-1), count[lo:hi])[..., None]], dim=-1)
            dc[lo:hi] = dz.sum(1)
            flat = dz.reshape(-1, width)
            dh.index_add_(0, nbr[lo:hi].reshape(-1), flat)
            if index is None:
                dedge[lo:hi] = dz
            else:
                t = fraction[lo:hi].reshape(-1, 1)
                dedge.index_add_(0, index[lo:hi].reshape(-1), torch.cat([flat, flat * t], dim=1))
        return dc, dh, dedge, None, None, None, None, None


def _pre_activation(c: torch.Tensor, h: torch.Tensor, edge: torch.Tensor, nbr: torch.Tensor,
                    index: torch.Tensor | None, fraction: torch.Tensor | None, lo: int, hi: int) -> torch.Tensor:
    """z = c_i + h_j + e_ij for the centres lo:hi, shape (hi - lo, K, C)."""
    nb = nbr[lo:hi]
    width = c.shape[1]
    z = h.index_select(0, nb.reshape(-1)).view(nb.shape + (width,))
    z += c[lo:hi, None, :]
    if index is None:
        z += edge[lo:hi]
    else:
        rows = edge.index_select(0, index[lo:hi].reshape(-1)).view(nb.shape + (2 * width,))
        z += rows[..., :width]
        z += fraction[lo:hi, :, None] * rows[..., width:]
    return z


class _PairMessageSum(torch.autograd.Function):
    """Σ_j α_ij m_ij with ``[m, logit]`` interpolated from a per-species-pair table (see :func:`pair_table`)."""

    @staticmethod
    def forward(ctx: Any, table: torch.Tensor, species: torch.Tensor, nbr: torch.Tensor, mask: torch.Tensor,
                index: torch.Tensor, fraction: torch.Tensor, n_species: int, dim: int) -> torch.Tensor:
        a, k = nbr.shape
        n_intervals = table.shape[0] // (n_species * n_species)
        out = table.new_empty((a, dim))
        alpha = table.new_empty((a, k))
        count = mask.sum(1, keepdim=True).to(table.dtype)
        if _kernel_path(table):
            from trajml.kernels._graph_messages import pair_forward

            pair_forward(_np(table), _np(species), _np(nbr), _np(mask), _np(index), _np(fraction), n_species,
                         n_intervals, dim, out.numpy(), alpha.numpy())
        else:
            step = _block_rows(table.device, k, dim + 1)
            for lo in range(0, a, step):
                hi = min(lo + step, a)
                v = _pair_values(table, species, nbr, index, fraction, n_species, n_intervals, lo, hi, dim)
                al = _attention(v[..., dim], mask[lo:hi], count[lo:hi])
                alpha[lo:hi] = al
                out[lo:hi] = torch.einsum("rk,rkd->rd", al, v[..., :dim])
        ctx.save_for_backward(table, species, nbr, mask, index, fraction, alpha, count)
        ctx.dims = (n_species, n_intervals, dim)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        table, species, nbr, mask, index, fraction, alpha, count = ctx.saved_tensors
        n_species, n_intervals, dim = ctx.dims
        a, k = nbr.shape
        grad = grad.contiguous()
        dtable = torch.zeros_like(table)
        if _kernel_path(table):
            from trajml.kernels._graph_messages import pair_backward

            pair_backward(_np(grad), _np(table), _np(species), _np(nbr), _np(mask), _np(index), _np(fraction),
                          _np(alpha), n_species, n_intervals, dim, dtable.numpy())
            return dtable, None, None, None, None, None, None, None
        step = _block_rows(table.device, k, dim + 1)
        for lo in range(0, a, step):
            hi = min(lo + step, a)
            v = _pair_values(table, species, nbr, index, fraction, n_species, n_intervals, lo, hi, dim)
            al, g = alpha[lo:hi], grad[lo:hi, None, :]
            dv = torch.cat([al[..., None] * g,
                            _logit_grad(al, (g * v[..., :dim]).sum(-1), count[lo:hi])[..., None]], dim=-1)
            dv = dv.reshape(-1, dim + 1)
            t = fraction[lo:hi].reshape(-1, 1)
            rows = _pair_rows(species, nbr, index, n_species, n_intervals, lo, hi)
            dtable.index_add_(0, rows.reshape(-1), torch.cat([dv, dv * t], dim=1))
        return dtable, None, None, None, None, None, None, None


def _pair_rows(species: torch.Tensor, nbr: torch.Tensor, index: torch.Tensor, n_species: int, n_intervals: int,
               lo: int, hi: int) -> torch.Tensor:
    return (species[lo:hi, None] * n_species + species[nbr[lo:hi]]) * n_intervals + index[lo:hi]


def _pair_values(table: torch.Tensor, species: torch.Tensor, nbr: torch.Tensor, index: torch.Tensor,
                 fraction: torch.Tensor, n_species: int, n_intervals: int, lo: int, hi: int,
                 dim: int) -> torch.Tensor:
    r = _pair_rows(species, nbr, index, n_species, n_intervals, lo, hi)
    t = table.index_select(0, r.reshape(-1)).view(r.shape + (2 * (dim + 1),))
    return t[..., :dim + 1] + fraction[lo:hi, :, None] * t[..., dim + 1:]


def message_sum(c: torch.Tensor, h: torch.Tensor, edge: torch.Tensor, nbr: torch.Tensor, mask: torch.Tensor,
                dim: int, index: torch.Tensor | None = None, fraction: torch.Tensor | None = None) -> torch.Tensor:
    """Attention-weighted message sums of one convolution (differentiable in ``c``, ``h`` and ``edge``).

    Parameters
    ----------
    c : torch.Tensor, shape (a, 2·dim + 1)
        Centre terms of the a updated nodes.
    h : torch.Tensor, shape (m, 2·dim + 1)
        Neighbour terms of the nodes they read.
    edge : torch.Tensor, shape (a, K, 2·dim + 1) or (P - 1, 2·(2·dim + 1))
        Per-edge terms, or the interpolation rows of :func:`edge_table` (then ``index`` and
        ``fraction`` are given).
    nbr : torch.Tensor, shape (a, K), int64
        Rows of ``h`` read by each centre; padding holds any valid row.
    mask : torch.Tensor, shape (a, K), bool
        Real neighbours.
    dim : int
        Feature width.
    index, fraction : torch.Tensor, shape (a, K), optional
        Grid interval and fraction of each edge (:func:`grid_coordinates`).

    Returns
    -------
    torch.Tensor, shape (a, dim)
    """
    return _MessageSum.apply(c, h, edge, nbr, mask, index, fraction, dim)


def pair_message_sum(table: torch.Tensor, species: torch.Tensor, nbr: torch.Tensor, mask: torch.Tensor,
                     index: torch.Tensor, fraction: torch.Tensor, n_species: int, dim: int) -> torch.Tensor:
    """Attention-weighted message sums of the first convolution from :func:`pair_table` (differentiable in it).

    Parameters
    ----------
    table : torch.Tensor, shape (S · S · (P - 1), 2 · (dim + 1))
        Interpolation rows from :func:`pair_table`.
    species : torch.Tensor, shape (m,), int64
        Species code of every row the centres read.
    nbr : torch.Tensor, shape (a, K), int64
        Neighbour rows of the a centres (the first a rows); padding holds any valid row.
    mask : torch.Tensor, shape (a, K), bool
        Real neighbours.
    index, fraction : torch.Tensor, shape (a, K)
        Grid interval (int64) and position inside it (float32) of each edge (:func:`grid_coordinates`).
    n_species : int
        S.
    dim : int
        Feature width.

    Returns
    -------
    torch.Tensor, shape (a, dim)
    """
    return _PairMessageSum.apply(table, species, nbr, mask, index, fraction, n_species, dim)
