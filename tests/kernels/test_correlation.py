"""The displacement-moment and segment-sum kernels against their NumPy references."""

from __future__ import annotations

import numpy as np
import pytest

from trajml.kernels import correlation, reference


def _walks(n_part: int, n_frames: int, seed: int = 0) -> np.ndarray:
    """Random walks far from the origin, (B, T, 3) float64 in Å: the FFT's centring is exercised."""
    rng = np.random.default_rng(seed)
    return 500.0 + rng.standard_normal((n_part, n_frames, 3)).cumsum(axis=1)


@pytest.mark.parametrize("n_frames", [1, 2, 57, 128])
def test_moments_match_the_direct_reference(n_frames):
    x = _walks(6, n_frames)
    want_msd, want_m4 = np.empty((6, n_frames)), np.empty((6, n_frames))
    reference.displacement_moments_direct_reference(x, want_msd, want_m4)
    for kernel, rtol in ((correlation.displacement_moments_fft, 1e-8),
                         (correlation.displacement_moments_direct, 1e-12)):
        msd, m4 = np.full((6, n_frames), np.nan), np.full((6, n_frames), np.nan)
        kernel(x, msd, m4)
        np.testing.assert_allclose(msd, want_msd, rtol=rtol, atol=rtol * want_msd.max(initial=1.0))
        np.testing.assert_allclose(m4, want_m4, rtol=rtol, atol=rtol * want_m4.max(initial=1.0))
        assert np.all(msd[:, 0] == 0.0) and np.all(m4[:, 0] == 0.0)
    msd = np.empty((6, n_frames))
    correlation.msd_fft(x.astype(np.float32), msd)
    want = np.empty((6, n_frames))
    reference.msd_fft_reference(x.astype(np.float32), want)
    np.testing.assert_allclose(msd, want, rtol=1e-8, atol=1e-8 * want.max(initial=1.0))


@pytest.mark.parametrize("n_part, run", [(7, 3), (6, 6), (5, 16)])
def test_run_sums_match_the_reference(n_part, run):
    x = _walks(n_part, 40, seed=2).astype(np.float32)
    weights = np.random.default_rng(3).random((n_part, 2))
    got = correlation.msd_fft_run_sums(x, weights, run)
    want = reference.msd_fft_run_sums_reference(x, weights, run)
    assert got.shape == (-(-n_part // run), 2, 40)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-8 * want.max())
    assert np.all(got[:, :, 0] == 0.0)


def test_run_sums_refuse_bad_shapes():
    with pytest.raises(ValueError, match=r"weights must have shape \(4, G\)"):
        correlation.msd_fft_run_sums(np.zeros((4, 5, 3)), np.zeros((3, 2)), 2)
    with pytest.raises(ValueError, match="run must be >= 1"):
        correlation.msd_fft_run_sums(np.zeros((4, 5, 3)), np.zeros((4, 2)), 0)


def test_segment_weighted_sums_match_the_reference():
    rng = np.random.default_rng(1)
    positions = rng.standard_normal((7, 20, 3)).astype(np.float32)
    atoms = rng.permutation(20)[:15].astype(np.int64)
    weights = rng.random(15)
    offsets = np.array([0, 4, 4, 9, 15], dtype=np.int64)  # one empty segment
    out, want = np.full((7, 4, 3), np.nan), np.empty((7, 4, 3))
    correlation.segment_weighted_sums(positions, atoms, weights, offsets, out)
    reference.segment_weighted_sums_reference(positions, atoms, weights, offsets, want)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r"positions must have shape \(B, T, 3\)"):
        correlation.msd_fft(np.zeros((2, 5)), np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"out arrays must be float64 of shape \(2, 5\)"):
        correlation.displacement_moments_direct(np.zeros((2, 5, 3)), np.zeros((2, 5), np.float32), None)
