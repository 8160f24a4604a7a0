"""Contact TCF arithmetic (:mod:`trajml.transport.contact_tcf`) against a direct O(T²) evaluation of the definitions."""

from __future__ import annotations

import numpy as np
import pytest

from trajml.transport.contact_tcf import tcf_from_series


def reference_tcf(h, tolerance=0):
    """Direct O(T²) evaluation of the definitions on dense 0/1 series (P, T)."""
    h = np.asarray(h, dtype=bool)
    n_pairs, n_frames = h.shape
    filled = h.copy()
    for p in range(n_pairs):
        on = np.flatnonzero(h[p])
        for a, b in zip(on[:-1], on[1:]):
            if 1 < b - a <= tolerance + 1:
                filled[p, a:b] = True
    cc, ci = np.full(n_frames, np.nan), np.full(n_frames, np.nan)
    for k in range(n_frames):
        num_c = den_c = num_i = den_i = 0
        for t in range(n_frames - k):
            den_c += filled[:, t].sum()
            den_i += h[:, t].sum()
            num_c += filled[:, t:t + k + 1].all(axis=1).sum()
            num_i += (h[:, t] & h[:, t + k]).sum()
        if den_c:
            cc[k] = num_c / den_c
        if den_i:
            ci[k] = num_i / den_i
    return cc, ci


@pytest.mark.parametrize("tolerance", [0, 1, 3])
def test_tcfs_equal_direct_reference(tolerance):
    rng = np.random.default_rng(tolerance)
    h = rng.random((9, 45)) < 0.55
    h[3] = False  # a pair never in contact
    cc, ci = tcf_from_series(h, tolerance_frames=tolerance)
    rc, ri = reference_tcf(h, tolerance)
    np.testing.assert_allclose(cc, rc, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(ci, ri, rtol=1e-12, equal_nan=True)


def test_tolerance_on_hand_made_series():
    h = np.array([[1, 1, 0, 1, 1, 0, 0, 1]])
    # Strict: intervals of 2, 2 and 1 frames.
    np.testing.assert_allclose(tcf_from_series(h)[0], [1, 0.5, 0, 0, 0, 0, 0, 0])
    # A one-frame gap is filled: intervals of 5 and 1 frames; origins with partners 6, 5, 5, 5, 4, 3, 2, 1.
    np.testing.assert_allclose(tcf_from_series(h, tolerance_frames=1)[0], [1, 0.8, 0.6, 0.4, 0.25, 0, 0, 0])
    # Both gaps filled: in contact throughout.
    np.testing.assert_allclose(tcf_from_series(h, tolerance_frames=2)[0], np.ones(8))
    # The intermittent TCF ignores the tolerance.
    np.testing.assert_allclose(tcf_from_series(h, tolerance_frames=2)[1], tcf_from_series(h)[1])
    # Gaps at the ends of a trajectory are never filled.
    np.testing.assert_allclose(tcf_from_series(np.array([[0, 1, 1, 0]]), tolerance_frames=5)[0],
                               [1, 0.5, 0, np.nan])
