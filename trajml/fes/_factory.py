"""Estimator by name, for the command line and pipelines."""

from __future__ import annotations

from typing import Any

from trajml._validation import check_choice

__all__ = ["estimator", "METHODS"]

METHODS = ("hist", "kde", "gp", "nn")


def estimator(method: str, **params: Any) -> Any:
    """A free-energy estimator by name: "hist", "kde", "gp" or "nn", with its parameters.

    Parameters
    ----------
    method : {"hist", "kde", "gp", "nn"}
        The estimator.
    **params
        Its parameters (``temperature`` in K, ``bins``, ...).

    Examples
    --------
    >>> type(estimator("hist", temperature=300.0, bins=40)).__name__
    'HistogramFES'
    """
    check_choice(method, "method", "estimator", METHODS)
    if method == "hist":
        from trajml.fes.histogram import HistogramFES as cls
    elif method == "kde":
        from trajml.fes.kde import KernelDensityFES as cls
    elif method == "gp":
        from trajml.fes.gp import GaussianProcessFES as cls
    else:
        from trajml.fes.nn import NeuralNetworkFES as cls
    return cls(**params)
