"""How much of a measured short-run value the high-fidelity head is fed: the per-member weight ``k``.

Each member of :class:`~trajml.extrapolation.deep.MultitaskExtrapolator` feeds ``low + k (measured - low)``
(``low`` its own prediction of the short run); :func:`measured_weight` estimates ``k`` per task on the
member's held-out rows, and :func:`weight_provenance` records the weights in the model's provenance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from trajml.extrapolation.deep.network import _Net

__all__ = ["LABELS_SOURCE", "LABELS_LOWER_BOUND", "measured_weight", "weight_provenance"]

#: How a weight estimated from held-out long-run labels is described in a model's provenance.
LABELS_SOURCE = "long-run labels"
#: The same, one standard error below the least-squares weight (``short_run_weight='lower-bound'``).
LABELS_LOWER_BOUND = "long-run labels (least squares, less one standard error)"


def measured_weight(net: _Net, graphs: list[Data], features: np.ndarray, low: np.ndarray, high: np.ndarray,
                    rows: np.ndarray, noise: np.ndarray | None = None, lower_bound: bool = False
                    ) -> tuple[np.ndarray, str]:
    """Per task, the weight ``k`` in [0, 1] of a measured short-run value against the low head's
    prediction of it, estimated on ``rows`` (held out from training); standardised units throughout.

    The fed value is ``low + k (measured - low)``: ``k = 0`` is the prediction without the measured
    value, ``k = 1`` trusts it fully. With the noise std of one short run (``noise``, from replicate
    runs), ``k = 1 - noise² / r²``, the share of the low head's mean square residual ``r²`` on
    ``rows`` that is not run noise (the shrinkage of a noisy measurement towards a prior whose error
    is the rest). Without it, ``k`` is the least-squares weight of the long-run labels of ``rows``:
    the prediction is close to linear in ``k``, ``p(k) ≈ p(0) + k (p(1) - p(0))``, so
    ``k̂ = Σ d e / Σ d²`` with ``d = p(1) - p(0)`` and ``e = label - p(0)``. The covariance of the high
    residual with the short run's own residual carries how much of that residual is chemistry (which
    the long run shares) rather than noise (which it does not); ``k = k̂`` clipped to [0, 1]. A dozen
    held-out rows leave ``k̂`` uncertain, and a weight they cannot support lets run noise through: with
    ``lower_bound`` the weight is one standard error below it, ``k = k̂ - se(k̂)`` with
    ``se² = Σ (e - k̂ d)² / ((n - 1) Σ d²)``, clipped to [0, 1], so the measured value is trusted only as
    far as the held-out rows show it helps (with many rows ``k`` tends to ``k̂``).
    Tasks with fewer than 3 usable rows, and linear-only tasks (infinite correction prior: their
    least-squares slope already shrinks a noisy short run), keep ``k = 1``.

    Returns
    -------
    weight : ndarray, shape (n_tasks,)
    source : str
        ``'replicate noise'``, :data:`LABELS_SOURCE` or :data:`LABELS_LOWER_BOUND`.
    """
    n_tasks = low.shape[1]
    rows = np.asarray(rows)
    weight = np.ones(n_tasks)
    if len(rows) == 0:
        return weight, "none"
    net.eval()
    lo = torch.as_tensor(low[rows], dtype=torch.float32)
    measured = torch.isfinite(lo)
    b = Batch.from_data_list([graphs[i] for i in rows])
    x = torch.as_tensor(features[rows], dtype=torch.float32)
    saved = net.measured_weight.clone()
    out = []
    with torch.no_grad():
        for k in (0.0, 1.0):
            net.measured_weight.fill_(k)
            low_pred, _, hi, _, _ = net(b, x, lo, measured)
            out.append(hi.double().numpy())
        net.measured_weight.copy_(saved)
    p0, p1, low_pred = out[0], out[1], low_pred.double().numpy()
    for j in range(n_tasks):
        has = np.isfinite(low[rows, j])
        if bool(net.linear_only[j]):  # the least-squares line already shrinks a noisy short run (its slope)
            continue
        if noise is not None:
            r2 = np.mean((low[rows, j][has] - low_pred[has, j]) ** 2) if has.sum() >= 3 else math.nan
            if math.isfinite(r2) and r2 > 0:
                weight[j] = float(np.clip(1.0 - noise[j] ** 2 / r2, 0.0, 1.0))
            continue
        ok = has & np.isfinite(high[rows, j])
        d, e = p1[ok, j] - p0[ok, j], high[rows, j][ok] - p0[ok, j]
        if ok.sum() >= 3 and np.sum(d * d) > 0:
            k = np.sum(d * e) / np.sum(d * d)
            if lower_bound:
                k -= math.sqrt(np.sum((e - k * d) ** 2) / (ok.sum() - 1) / np.sum(d * d))
            weight[j] = float(np.clip(k, 0.0, 1.0))
    if noise is not None:
        return weight, "replicate noise"
    return weight, LABELS_LOWER_BOUND if lower_bound else LABELS_SOURCE


def weight_provenance(tasks: tuple[str, ...], weights: list[np.ndarray], source: list[str]) -> dict[str, Any]:
    w = np.array(weights)
    return {"per_member": {t: [float(v) for v in w[:, j]] for j, t in enumerate(tasks)},
            "mean": {t: float(w[:, j].mean()) for j, t in enumerate(tasks)}, "estimated_from": source}
