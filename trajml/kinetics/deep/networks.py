"""The torch networks of the VAMPNets: a softmax perceptron lobe and the graph-convolutional lobe (GDyNet-style).

After Xie et al., Nat. Commun. 2019 ("graph dynamical networks"), the graph lobe embeds every
atom's species; edges carry Gaussian-expanded minimum-image distances; a stack of
attention-weighted, gated graph convolutions with residual connections refines the atom
features; the features of the target atoms are read out through a small perceptron and a softmax
over ``m`` states. It is invariant to rotations, translations and permutations of atoms of a
species. Only atoms within ``n_conv`` hops of a target can influence its output, so each
convolution updates just the atoms the later layers read.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch_geometric.data import Batch

from trajml.kinetics.deep.fields import Field, field_from_batch
from trajml.kinetics.deep.messages import (
    GRID_PER_WIDTH,
    _lerp_rows,
    grid_coordinates,
    message_sum,
    pair_message_sum,
    pair_table,
)

__all__ = ["reuse_freed_memory"]


class _Lobe(torch.nn.Module):
    """Standardisation of the features, an ELU multilayer perceptron and a softmax over states."""

    def __init__(self, n_features: int, hidden: tuple[int, ...], n_states: int) -> None:
        super().__init__()
        self.register_buffer("shift", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        layers: list[torch.nn.Module] = []
        width = n_features
        for h in hidden:
            layers += [torch.nn.Linear(width, h), torch.nn.ELU()]
            width = h
        layers += [torch.nn.Linear(width, n_states), torch.nn.Softmax(dim=-1)]
        self.net = torch.nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.shift) / self.scale)


def _transform_arrays(lobe: _Lobe, trajs: Sequence[np.ndarray], device: torch.device,
                      chunk: int = 65536) -> list[np.ndarray]:
    out = []
    was_training = lobe.training
    lobe.eval()
    with torch.no_grad():
        for a in trajs:
            pieces = [lobe(torch.as_tensor(a[s:s + chunk], dtype=torch.float32, device=device)).double().cpu().numpy()
                      for s in range(0, len(a), chunk)]
            out.append(np.concatenate(pieces) if pieces else np.zeros((0, lobe.net[-2].out_features)))
    lobe.train(was_training)
    return out


class _GaussianDistance(torch.nn.Module):
    """exp(-((d - μ_k) / w)²) on ``n`` centres evenly spaced over [0, r_max] Å, width w = spacing."""

    def __init__(self, r_max: float, n: int) -> None:
        super().__init__()
        self.register_buffer("centres", torch.linspace(0.0, r_max, n))
        self.width = r_max / (n - 1)

    def forward(self, d: torch.Tensor) -> torch.Tensor:
        return torch.exp(-(((d[:, None] - self.centres) / self.width) ** 2))


class _AttentionConv(torch.nn.Module):
    """Gated, attention-weighted convolution with a residual: x_i += softplus(LN(Σ_j α_ij σ(f_ij) ⊙ g(s_ij))).

    ``z_ij = W_c x_i + W_n x_j + W_e e_ij`` is split into a filter f, a core s and an attention
    logit; α_ij is n_i times the softmax of the logits over the n_i neighbours j of i. Node terms are projected
    per atom before gathering. Neighbour lists have a fixed width K (padding masked out), so the
    sums over neighbours are dense reductions rather than scatters (several times faster on CPU).
    """

    def __init__(self, dim: int, edge_dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.centre = torch.nn.Linear(dim, 2 * dim + 1)
        self.neighbour = torch.nn.Linear(dim, 2 * dim + 1, bias=False)
        self.edge = torch.nn.Linear(edge_dim, 2 * dim + 1, bias=False)
        self.norm = torch.nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, active: torch.Tensor, nbr: torch.Tensor, mask: torch.Tensor,
                expanded: torch.Tensor) -> torch.Tensor:
        """Update the ``active`` atoms from their neighbours ``nbr`` (n_active, K) (padding: ``~mask``)."""
        z = self.centre(x[active])[:, None, :] + self.neighbour(x)[nbr] + self.edge(expanded)
        f, s, logit = z[..., :self.dim], z[..., self.dim:2 * self.dim], z[..., -1]
        alpha = torch.softmax(logit.masked_fill(~mask, -torch.inf), dim=1)
        alpha = torch.nan_to_num(alpha, nan=0.0)  # atoms without neighbours receive nothing
        # Weights sum to the number of neighbours, not to 1: a normalised average could not tell
        # a 4-fold from a 6-fold cage of identical atoms at equal distances.
        alpha = alpha * mask.sum(1, keepdim=True)
        out = (alpha[..., None] * torch.sigmoid(f) * torch.nn.functional.softplus(s)).sum(1)
        # Only the atoms later layers read are updated; the others keep their features.
        return x.index_add(0, active, torch.nn.functional.softplus(self.norm(out)))


class _GraphLobe(torch.nn.Module):
    """Species embedding → n_conv attention convolutions → perceptron at the targets → softmax.

    :meth:`forward` works on the receptive field of the targets (:mod:`~trajml.kinetics.deep.fields`)
    with the blocked message sums of :mod:`~trajml.kinetics.deep.messages`; with ``tabulate``
    (the default) the distance terms are interpolated from fine grids (the first layer entirely,
    per species pair, when that table is smaller than the layer's edges). :meth:`forward_reference`
    is the direct computation on a whole torch-geometric batch, kept as the tests' oracle.
    """

    def __init__(self, n_species: int, n_states: int, dim: int, n_conv: int, n_gaussians: int,
                 r_max: float) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(n_species, dim)
        self.expand = _GaussianDistance(r_max, n_gaussians)
        self.convs = torch.nn.ModuleList([_AttentionConv(dim, n_gaussians) for _ in range(n_conv)])
        self.head = torch.nn.Sequential(torch.nn.Linear(dim, dim), torch.nn.ELU(), torch.nn.Linear(dim, n_states),
                                        torch.nn.Softmax(dim=-1))
        self.r_max = float(r_max)
        self.tabulate = True

    def forward(self, data: "Field | Batch") -> torch.Tensor:
        """State probabilities (n_outputs, m) of a :class:`Field` or a torch-geometric batch."""
        field = data if isinstance(data, Field) else field_from_batch(data, len(self.convs))
        n_conv, dim = len(self.convs), self.embed.embedding_dim
        ends = field.level_end
        spacing = self.expand.width / GRID_PER_WIDTH
        n_points = int(math.ceil(max(field.d_max, self.r_max) / spacing)) + 2
        grid = torch.arange(n_points, device=field.dist.device, dtype=torch.float32) * spacing
        index, fraction = grid_coordinates(field.dist, spacing, n_points)
        n_species = self.embed.num_embeddings
        x: torch.Tensor | None = None
        for i, conv in enumerate(self.convs):
            a, m = ends[n_conv - 1 - i], ends[n_conv - i]  # rows updated, rows read
            nbr, mask = field.nbr[:a], field.mask[:a]
            if self.tabulate:
                edge_grid = self.expand(grid) @ conv.edge.weight.t()
            if i == 0 and self.tabulate and n_species ** 2 * n_points < a * nbr.shape[1]:
                emb = self.embed.weight
                table = pair_table(conv.centre(emb), conv.neighbour(emb), edge_grid, dim)
                out = pair_message_sum(table, field.species, nbr, mask, index[:a], fraction[:a], n_species, dim)
                base = self.embed(field.species[:a])
            else:
                if x is None:
                    x = self.embed(field.species[:m])
                c, h = conv.centre(x[:a]), conv.neighbour(x[:m])
                if self.tabulate:
                    out = message_sum(c, h, _lerp_rows(edge_grid), nbr, mask, dim, index[:a], fraction[:a])
                else:
                    dist = field.dist[:a]
                    edge = conv.edge(self.expand(dist.reshape(-1)).view(dist.shape + (-1,)))
                    out = message_sum(c, h, edge, nbr, mask, dim)
                base = x[:a]
            x = base + torch.nn.functional.softplus(conv.norm(out))
        assert x is not None
        return self.head(x[field.out_rows])

    def forward_reference(self, batch: Batch) -> torch.Tensor:
        """The direct computation on a whole batch from :func:`trajml.store.graphs.frames_to_batch`."""
        nbr_all, dist_all = batch.nbr, batch.nbr_dist
        n = batch.x.shape[0]
        # Atoms each layer must update: the targets for the last, then one hop wider per layer down.
        need = torch.zeros(n, dtype=torch.bool, device=batch.x.device)
        need[batch.readout] = True
        plan = []
        for _ in self.convs:
            active = torch.nonzero(need).view(-1)
            nb = nbr_all[active]
            mask = nb >= 0
            nb = nb.clamp(min=0)
            plan.append((active, nb, mask, dist_all[active]))
            need = need.clone()
            need[nb[mask]] = True
        plan.reverse()
        x = self.embed(batch.x)
        for conv, (active, nb, mask, dist) in zip(self.convs, plan):
            x = conv(x, active, nb, mask, self.expand(dist.reshape(-1)).view(dist.shape + (-1,)))
        return self.head(x[batch.readout])


_MALLOC_TUNED = False


def reuse_freed_memory() -> None:
    """Let glibc keep freed tensor buffers for reuse instead of unmapping them (Linux only).

    Torch on CPU allocates and frees buffers of tens to hundreds of MB every step; glibc serves
    those from fresh mmaps, so every step page-faults them in again. On the graph model that was
    half of the wall time (0.8 s of 1.6 s per batch, all kernel time). Raising the mmap and trim
    thresholds keeps them in the heap: memory stays at the per-batch peak, which training reaches
    anyway. Called once, on the first training or transform; a no-op where glibc is absent.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return
    _MALLOC_TUNED = True
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # mallopt parameter ids of <malloc.h>
        libc.mallopt(m_mmap_threshold, 1 << 30)
        libc.mallopt(m_trim_threshold, (1 << 31) - 1)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass
