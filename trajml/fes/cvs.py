"""Collective variables from featurizer outputs: per-frame, per-atom arrays pooled into samples."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["stack_cvs"]


def stack_cvs(*columns: Any) -> np.ndarray:
    """Pool per-frame (and per-atom) quantities into a (samples, CVs) array for the estimators.

    Each argument is one CV: an array of shape (T,) (one value per frame) or (T, n_targets)
    (one per frame and target atom, e.g. ``Coordination(..., keep_per_frame=True).per_frame``
    for every Li⁺, or a per-Li⁺ distance to the nearest anion). Every target's frames become
    samples, so all arguments must have the same shape. To use VAMPnet state probabilities of
    shape (T, n_states), pass the columns wanted, e.g. ``probs[:, 0]``.

    Parameters
    ----------
    *columns : array_like, each shape (T,) or (T, n_targets)
        One to three CVs, each in its own units.

    Returns
    -------
    ndarray, shape (T * n_targets, n_columns), float64

    Examples
    --------
    >>> cn = np.array([[4, 5], [5, 5], [4, 6]])          # 3 frames x 2 Li
    >>> d = np.array([[3.1, 5.0], [3.3, 4.8], [3.0, 6.2]])
    >>> stack_cvs(cn, d).shape
    (6, 2)
    """
    if not 1 <= len(columns) <= 3:
        raise ValueError(f"stack_cvs takes 1 to 3 collective variables. Got {len(columns)} instead.")
    arrays = [np.asarray(c, dtype=np.float64) for c in columns]
    for k, a in enumerate(arrays):
        if a.ndim not in (1, 2):
            raise ValueError(f"CV {k} of stack_cvs must have shape (T,) or (T, n_targets). Got {a.shape} instead.")
    if any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError(f"The CVs given to stack_cvs must have the same shape. Got {[a.shape for a in arrays]}.")
    return np.stack([a.reshape(-1) for a in arrays], axis=1)
