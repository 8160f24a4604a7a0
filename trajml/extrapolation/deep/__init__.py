"""The multi-fidelity, multitask graph network that extrapolates long-run transport (PyTorch and torch-geometric).

- :mod:`~trajml.extrapolation.deep.polymer_graph`: repeat-unit ring graphs as torch-geometric ``Data``;
- :mod:`~trajml.extrapolation.deep.network`: the graph trunk with low- and high-fidelity heads, the masked loss;
- :mod:`~trajml.extrapolation.deep.model`: the trained ensemble (:class:`MultitaskModel`);
- :mod:`~trajml.extrapolation.deep.multitask`: its estimator (:class:`MultitaskExtrapolator`).

Importing this package imports torch; ``import trajml.extrapolation`` stays torch-free. Install the
optional dependencies with ``pip install "trajml[deep]" -c constraints.txt`` (SMILES graphs also need
the ``chem`` extra). Names are resolved lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trajml._lazy import lazy_exports

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "trajml.extrapolation.deep needs PyTorch, which is part of the optional 'deep' extra. Install it with "
        "pip install \"trajml[deep]\" -c constraints.txt"
    ) from exc

_EXPORTS = {
    "MultitaskExtrapolator": "multitask", "PRIOR_GRID": "multitask", "MultitaskModel": "model",
    "masked_loss": "network",
    "ring_data": "polymer_graph", "smiles_graph": "polymer_graph", "cg_graph": "polymer_graph",
    "cg_graph_from_topology": "polymer_graph", "table_graphs": "polymer_graph",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from trajml.extrapolation.deep.model import MultitaskModel
    from trajml.extrapolation.deep.multitask import PRIOR_GRID, MultitaskExtrapolator
    from trajml.extrapolation.deep.network import masked_loss
    from trajml.extrapolation.deep.polymer_graph import (
        cg_graph,
        cg_graph_from_topology,
        ring_data,
        smiles_graph,
        table_graphs,
    )

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
