"""The ``device`` parameter of the estimators that train torch networks (torch imported only when used).

A core module, so every subject that trains networks (:mod:`trajml.kinetics.deep`,
:mod:`trajml.extrapolation.deep`) declares and resolves its device the same way without crossing
subjects.
"""

from __future__ import annotations

from typing import Any

from trajml._validation import Param, invalid

__all__ = ["DEVICE", "torch_device_name", "resolve_torch_device"]

#: Constraint text of a torch device name.
DEVICE_CONSTRAINT = "a torch device such as 'cpu' or 'cuda'"


def torch_device_name(value: str) -> str:
    """A ``Param`` check: ``value`` names a torch device (``'cpu'``, ``'cuda'``, ``'cuda:1'`` …)."""
    import torch

    try:
        torch.device(value)
    except (RuntimeError, TypeError):
        raise ValueError(DEVICE_CONSTRAINT) from None
    return value


#: The declaration of the ``device`` parameter of a trained estimator (the model itself predicts on the CPU).
DEVICE = Param("str", help="torch device to train on", describe=DEVICE_CONSTRAINT, check=torch_device_name)


def resolve_torch_device(value: str, owner: str) -> Any:
    """The ``torch.device`` of a declared device name; refuses a CUDA device on a machine without one."""
    import torch

    dev = torch.device(value)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise invalid("device", owner, "a torch device present on this machine", value,
                      suffix=" There is no CUDA device here.")
    return dev
