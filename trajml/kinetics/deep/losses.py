"""Differentiable VAMP scores and the VAMP loss of time-lagged network outputs (torch).

Score convention
----------------
Scores follow :func:`trajml.kinetics.koopman.vamp_score`: with ``include_constant=True``
(the default, deeptime's convention) the constant singular function is counted, so VAMP-2 of
``m`` softmax states lies in ``[1, m]``; with ``include_constant=False`` (GDyNet's convention)
it lies in ``[0, m - 1]``. Training and validation curves use ``include_constant=True``.
"""

from __future__ import annotations

from typing import Any

import torch

from trajml._validation import check_bool, check_float, invalid

__all__ = ["vamp_loss", "vamp_score_torch"]

_METHODS: dict[str, int | str] = {"VAMP1": 1, "VAMP2": 2, "VAMPE": "E"}


#: The constraint text of a VAMP score method.
METHOD_CONSTRAINT = f"one of {sorted(_METHODS)}"


def method_key(value: Any) -> str:
    """``"VAMP1"``, ``"VAMP2"`` or ``"VAMPE"`` for a score method in any case, with or without a hyphen.

    Raises ``ValueError`` with the constraint text otherwise (a :class:`~trajml._validation.Param` ``check``).
    """
    key = value.strip().upper().replace("-", "") if isinstance(value, str) else None
    if key not in _METHODS:
        raise ValueError(METHOD_CONSTRAINT)
    return key


def _check_method(value: Any, name: str, owner: str) -> str:
    try:
        return method_key(value)
    except ValueError:
        raise invalid(name, owner, METHOD_CONSTRAINT, value) from None


def _covariances(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # mean-free covariances normalised by the number of pairs N (the VAMP scores do not depend on
    # the normalisation, so deeptime's N - 1 gives the same scores)
    n = x.shape[0]
    x = x - x.mean(dim=0, keepdim=True)
    y = y - y.mean(dim=0, keepdim=True)
    return x.T @ x / n, x.T @ y / n, y.T @ y / n


def _inv_sqrt(c: torch.Tensor, epsilon: float) -> torch.Tensor:
    # symmetric inverse square root on the eigenvalues above epsilon (the others are dropped)
    s, v = torch.linalg.eigh(0.5 * (c + c.T))
    keep = s > epsilon
    if not bool(keep.any()):
        raise ValueError(f"All eigenvalues of a covariance matrix are below epsilon={epsilon}: the lobe outputs "
                         "are constant over the batch.")
    s, v = s[keep], v[:, keep]
    return (v / torch.sqrt(s)) @ v.T


def _check_batch(owner: str, x: Any, y: Any) -> None:
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise TypeError(f"{owner} takes torch tensors 'x' and 'y'. Got {type(x).__name__} and {type(y).__name__}.")
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"The 'x' and 'y' parameters of {owner} must be 2-D tensors (batch, m) with the same batch "
                         f"size. Got shapes {tuple(x.shape)} and {tuple(y.shape)}.")
    if x.shape[0] < 2:
        raise ValueError(f"{owner} needs a batch of at least 2 pairs. Got {x.shape[0]}.")


def vamp_score_torch(x: torch.Tensor, y: torch.Tensor, method: str = "VAMP2", epsilon: float = 1e-6,
                     include_constant: bool = True) -> torch.Tensor:
    """Differentiable VAMP score of a batch of time-lagged lobe outputs.

    Parameters
    ----------
    x, y : torch.Tensor, shape (batch, m), float
        Lobe outputs at times t and t + lag, row i of ``x`` paired with row i of ``y``.
    method : {'VAMP1', 'VAMP2', 'VAMPE'}
        Sum of the singular values, of their squares, or the VAMP-E score.
    epsilon : float
        Eigenvalues of the mean-free covariances (and singular values, for VAMP-E) at or below
        ``epsilon`` are dropped from the inverse square roots.
    include_constant : bool
        Count the constant singular function (``+ 1``; deeptime's convention) or not (GDyNet's).

    Returns
    -------
    torch.Tensor, shape (), dimensionless
        The score; gradients flow to ``x`` and ``y``.
    """
    owner = "vamp_score_torch"
    key = _check_method(method, "method", owner)
    eps = check_float(epsilon, "epsilon", owner, unit="")
    include_constant = check_bool(include_constant, "include_constant", owner)
    _check_batch(owner, x, y)
    c00, c0t, ctt = _covariances(x, y)
    a, b = _inv_sqrt(c00, eps), _inv_sqrt(ctt, eps)
    k = a @ c0t @ b
    if key == "VAMP1":
        score = torch.linalg.matrix_norm(k, ord="nuc")
    elif key == "VAMP2":
        score = torch.sum(k * k)
    else:
        u, s, vh = torch.linalg.svd(k)
        keep = s > eps
        u, s, v = a @ u[:, keep], s[keep], b @ vh[keep].T
        kd = torch.diag(s)
        score = torch.trace(2.0 * kd @ u.T @ c0t @ v - kd @ u.T @ c00 @ u @ kd @ v.T @ ctt @ v)
    return score + 1.0 if include_constant else score


def vamp_loss(x: torch.Tensor, y: torch.Tensor, method: str = "VAMP2", epsilon: float = 1e-6,
              include_constant: bool = True) -> torch.Tensor:
    """Negative VAMP score, a loss to minimise; see :func:`vamp_score_torch`.

    Parameters
    ----------
    x, y : torch.Tensor, shape (batch, m), float
        Lobe outputs at times t and t + lag.
    method : {'VAMP1', 'VAMP2', 'VAMPE'}
        Score to maximise.
    epsilon : float
        Truncation of the inverse square roots of the mean-free covariances.
    include_constant : bool
        True equals ``deeptime.decomposition.deep.vampnet_loss`` (which counts the constant
        function); False is GDyNet's convention. The two differ by exactly 1.

    Returns
    -------
    torch.Tensor, shape (), dimensionless

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(100, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> round(float(vamp_loss(x, x, "VAMP2")), 6)  # identical x and y: three singular values of 1, plus 1
    -4.0
    """
    return -vamp_score_torch(x, y, method=method, epsilon=epsilon, include_constant=include_constant)
