"""The network of the multitask extrapolator: a graph trunk with low- and high-fidelity heads, and its masked loss
(torch).

The trunk embeds the polymer repeat unit (GINE convolutions with residual connections, mean ‖ sum
pooling) together with the standardised numeric features; the low-fidelity head predicts the
short-run labels, the high-fidelity head, fed with [embedding ‖ short-run value], the long-run ones
(as a correction of the blended short-run value for residual models; see
:mod:`trajml.extrapolation.deep.multitask`). :func:`masked_loss` averages over the observed labels only.
"""

from __future__ import annotations

import torch
from torch_geometric.data import Batch
from torch_geometric.nn import GINEConv, global_add_pool, global_mean_pool

__all__ = ["masked_loss"]


def masked_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                log_var: torch.Tensor | None = None) -> torch.Tensor:
    """Mean loss over the observed entries only.

    Parameters
    ----------
    pred, target : torch.Tensor, shape (n, n_tasks)
        Predictions and labels (labels may be NaN where ``mask`` is False).
    mask : torch.Tensor, shape (n, n_tasks), bool
        True where a label exists.
    log_var : torch.Tensor, shape (n, n_tasks), optional
        Predicted log variance (heteroscedastic head): the loss is the Gaussian negative
        log-likelihood ``0.5 (log_var + (pred - target)² / exp(log_var))`` without its constant.

    Returns
    -------
    torch.Tensor, shape ()
        ``sum over observed entries / number of observed entries`` of the squared error (or the
        NLL); 0 when nothing is observed.
    """
    m = mask.to(pred.dtype)
    diff = torch.where(mask, pred - torch.nan_to_num(target), torch.zeros_like(pred))
    per = diff ** 2 if log_var is None else 0.5 * (log_var + diff ** 2 * torch.exp(-log_var))
    return (per * m).sum() / m.sum().clamp_min(1.0)


class _Net(torch.nn.Module):
    """Graph trunk (GINE convolutions, mean ‖ sum pooling) + features → embedding; low and high heads."""

    def __init__(self, node_dim: int, edge_dim: int, n_features: int, n_tasks: int, hidden: int, n_layers: int,
                 heteroscedastic: bool, residual: bool = False) -> None:
        super().__init__()
        self.register_buffer("feature_shift", torch.zeros(n_features))
        self.register_buffer("feature_scale", torch.ones(n_features))
        self.node_in = torch.nn.Linear(node_dim, hidden)
        self.convs = torch.nn.ModuleList([
            GINEConv(torch.nn.Sequential(torch.nn.Linear(hidden, hidden), torch.nn.ELU(),
                                         torch.nn.Linear(hidden, hidden)), edge_dim=edge_dim)
            for _ in range(n_layers)])
        # sum pooling keeps the ring size (a mean would not); the sum is scaled to stay O(1)
        self.embed = torch.nn.Sequential(torch.nn.Linear(2 * hidden + n_features, hidden), torch.nn.ELU(),
                                         torch.nn.Linear(hidden, hidden), torch.nn.ELU())
        out = 2 * n_tasks if heteroscedastic else n_tasks
        self.low_head = torch.nn.Linear(hidden, out)
        self.high_head = torch.nn.Sequential(torch.nn.Linear(hidden + n_tasks, hidden), torch.nn.ELU(),
                                             torch.nn.Linear(hidden, out))
        self.n_tasks = n_tasks
        self.heteroscedastic = heteroscedastic
        # Residual models: the long-run value is an affine map (slope, intercept per task; the
        # estimator starts them at the least-squares fit of the training rows) of a blend of the
        # measured short-run value and the low head's prediction (weight logit 0: half and half), plus
        # the head's correction, whose last layer starts at zero: an untrained residual model is the
        # linear correction of the blended short-run value.
        self.blend_logit = torch.nn.Parameter(torch.zeros(n_tasks)) if residual else None
        self.slope = torch.nn.Parameter(torch.ones(n_tasks)) if residual else None
        self.intercept = torch.nn.Parameter(torch.zeros(n_tasks)) if residual else None
        # tasks whose prior is infinite: no correction and no blend, just slope · fed + intercept
        self.register_buffer("linear_only", torch.zeros(n_tasks, dtype=torch.bool))
        # Weight k of a measured short-run value against the low head's prediction of it (the fed value
        # is low + k (measured - low)); 1 in training, estimated from held-out rows after it (the
        # estimator's noise-aware step). k = 0 feeds exactly what a row without a measured value gets.
        self.register_buffer("measured_weight", torch.ones(n_tasks))
        if residual:
            torch.nn.init.zeros_(self.high_head[-1].weight)
            torch.nn.init.zeros_(self.high_head[-1].bias)

    def embedding(self, batch: Batch, features: torch.Tensor) -> torch.Tensor:
        h = self.node_in(batch.x)
        for conv in self.convs:
            h = h + torch.nn.functional.elu(conv(h, batch.edge_index, batch.edge_attr))
        pooled = torch.cat([global_mean_pool(h, batch.batch), global_add_pool(h, batch.batch) / 10.0], dim=1)
        return self.embed(torch.cat([pooled, (features - self.feature_shift) / self.feature_scale], dim=1))

    def _split(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not self.heteroscedastic:
            return out, None
        return out[:, :self.n_tasks], out[:, self.n_tasks:].clamp(-10.0, 10.0)

    def forward(self, batch: Batch, features: torch.Tensor, low_in: torch.Tensor,
                use_low: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None,
                                                torch.Tensor]:
        """Standardised (low mean, low log var, high mean, high log var, high head output); ``use_low``
        picks the measured short-run value over the predicted one as the high head's input. The head
        output is the correction of a residual model (penalised in training) and the prediction itself
        otherwise."""
        z = self.embedding(batch, features)
        low, low_lv = self._split(self.low_head(z))
        measured = torch.isfinite(low_in)  # NaN where no short run may be fed
        shrunk = low + self.measured_weight * (torch.nan_to_num(low_in) - low)
        fed = torch.where(use_low & measured, shrunk, low)
        head, high_lv = self._split(self.high_head(torch.cat([z, fed], dim=1)))
        high = head
        if self.blend_logit is not None:  # residual: the head learns a correction, not the value itself
            w = torch.sigmoid(self.blend_logit)
            high = head + self.slope * (w * fed + (1.0 - w) * low) + self.intercept
            # linear-only tasks: the measured value even where training drops it out of the head's input
            fed_lin = torch.where(measured, shrunk, low)
            high = torch.where(self.linear_only, self.slope * fed_lin + self.intercept, high)
        return low, low_lv, high, high_lv, head
