"""Deep kinetic models: VAMPNets and graph VAMPNets, built on PyTorch and torch-geometric.

- :mod:`~trajml.kinetics.deep.losses`: differentiable VAMP scores and the VAMP loss;
- :mod:`~trajml.kinetics.deep.data`: time-lagged pairs inside each trajectory, batches, held-out segments;
- :mod:`~trajml.kinetics.deep.networks`: the torch lobes (perceptron, graph convolutions);
- :mod:`~trajml.kinetics.deep.fields` and :mod:`~trajml.kinetics.deep.messages`: how the graph lobe
  computes: the receptive fields of the targets, and the message sums of its convolutions (blocked
  autograd functions; fused numba kernels on the CPU; distance filters read from fine tables);
- :mod:`~trajml.kinetics.deep.models`: the trained, frozen models (:class:`VAMPNetModel`,
  :class:`GraphVAMPNetModel`);
- :mod:`~trajml.kinetics.deep.training`: the estimators (:class:`VAMPNet`, :class:`GraphVAMPNet`)
  and their training loop.

Graph datasets live in :mod:`trajml.store.graphs` (:class:`~trajml.store.GraphDataset`).
Importing this package imports torch; ``import trajml`` and ``import trajml.kinetics`` stay
torch-free. Install the optional dependencies with ``pip install "trajml[deep]" -c constraints.txt``.
Names are resolved lazily, so importing the package costs only the torch import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trajml._lazy import lazy_exports

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "trajml.kinetics.deep needs PyTorch, which is part of the optional 'deep' extra. Install it with "
        "pip install \"trajml[deep]\" -c constraints.txt"
    ) from exc

_EXPORTS = {
    "vamp_loss": "losses", "vamp_score_torch": "losses",
    "lagged_pairs": "data", "pair_batches": "data", "split_segments": "data",
    "SoftStateModel": "models", "VAMPNetModel": "models", "GraphVAMPNetModel": "models",
    "VAMPNet": "training", "GraphVAMPNet": "training",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from trajml.kinetics.deep.data import lagged_pairs, pair_batches, split_segments
    from trajml.kinetics.deep.losses import vamp_loss, vamp_score_torch
    from trajml.kinetics.deep.models import GraphVAMPNetModel, SoftStateModel, VAMPNetModel
    from trajml.kinetics.deep.training import GraphVAMPNet, VAMPNet

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
