"""Deep kinetic models (VAMPNets and graph VAMPNets), built on PyTorch and torch-geometric.

Importing this package imports torch; ``import trajml`` and ``import trajml.models`` stay
torch-free. Install the optional dependencies with ``pip install "trajml[deep]" -c constraints.txt``.
Names are resolved lazily, so importing the package costs only the torch import.
"""

from __future__ import annotations

from trajml._lazy import lazy_exports

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "trajml.models.deep needs PyTorch, which is part of the optional 'deep' extra. Install it with "
        "pip install \"trajml[deep]\" -c constraints.txt"
    ) from exc

_EXPORTS = {
    "VAMPNet": "trajml.kinetics.deep", "VAMPNetModel": "trajml.kinetics.deep", "vamp_loss": "trajml.kinetics.deep",
    "vamp_score_torch": "trajml.kinetics.deep", "lagged_pairs": "trajml.kinetics.deep",
    "pair_batches": "trajml.kinetics.deep", "split_segments": "trajml.kinetics.deep",
    "GraphVAMPNet": "trajml.kinetics.deep", "GraphVAMPNetModel": "trajml.kinetics.deep",
    "GraphDataset": "trajml.store", "frames_to_batch": "trajml.store", "chunk_to_batch": "trajml.store",
    "MultitaskExtrapolator": "multitask", "MultitaskModel": "multitask", "masked_loss": "multitask",
    "smiles_graph": "polymer_graph", "cg_graph": "polymer_graph", "cg_graph_from_topology": "polymer_graph",
    "table_graphs": "polymer_graph",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
