"""The CUDA twins of the pair-search kernels (trajml.kernels.cuda) against the CPU kernels, on numba's CUDA simulator.

``NUMBA_ENABLE_CUDASIM`` must be set before ``numba.cuda`` is first imported, so
the simulator checks run in a subprocess. On a machine with a GPU the same
script can be run without the variable to check the real device.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from trajml.kernels import cuda as nbc, neighbors as nb

    from trajml.pipelines import devices

    assert nbc.cuda_problem() is None and devices.cuda_problem() is None  # the simulator runs CUDA kernels

    rng = np.random.default_rng(0)
    F, N = 2, 50
    base = np.array([[12.0, 0.0, 0.0], [-3.0, 13.0, 0.0], [2.5, 4.0, 14.0]])  # triclinic
    boxes = base[None] * (1.0 + 0.02 * rng.standard_normal((F, 3)))[:, :, None]  # NPT-like
    pos = np.einsum("fnj,fjk->fnk", rng.uniform(-0.2, 1.2, (F, N, 3)), boxes).astype(np.float32)
    ids = np.arange(N, dtype=np.int64)
    mol = ids // 5
    r = nb.max_cutoff(boxes)
    a = np.arange(0, N, 2)

    # Histograms: A == B with molecule exclusion (shared-memory bins), A != B with global bins.
    for pa, ia, ma, mb, n_bins in [(pos, ids, mol, mol, 30), (pos[:, a], ids[a], None, None, 3000)]:
        cpu = np.full(n_bins, 3, dtype=np.int64)
        gpu = np.full(n_bins, 3, dtype=np.int64)
        nb.pair_histogram(pa, pos, boxes, 0.3, r, ia, ids, ma, mb, cpu)
        nb.pair_histogram(pa, pos, boxes, 0.3, r, ia, ids, ma, mb, gpu, device="cuda")
        assert np.array_equal(cpu, gpu), (cpu, gpu)
        assert cpu.sum() > 3 * n_bins + 100

    species = (ids % 3).astype(np.int32)
    cpu = np.zeros((F, a.size, 3), dtype=np.int32)
    gpu = np.full_like(cpu, -1)
    nb.neighbor_counts(pos[:, a], pos, boxes, 0.7 * r, ids[a], ids, species, 3, cpu)
    nbc.neighbor_counts(pos[:, a], pos, boxes, 0.7 * r, ids[a], ids, species, 3, gpu)
    assert np.array_equal(cpu, gpu)

    for m in (None, 6):
        c = nb.radius_neighbors(pos, pos, boxes, r, ids, ids, max_neighbors=m)
        g = nb.radius_neighbors(pos, pos, boxes, r, ids, ids, max_neighbors=m, device="cuda")
        assert np.array_equal(c[0], g[0]) and np.array_equal(c[1], g[1])
        assert np.allclose(c[2], g[2], rtol=0, atol=1e-5)

    for k in (4, 80):  # 80: more than any row holds
        cpu = [np.empty((F, a.size, k), np.int64), np.empty((F, a.size, k), np.float32),
               np.empty((F, a.size), np.int64)]
        gpu = [np.full_like(x, 7) for x in cpu]
        nb.knn_neighbors(pos[:, a], pos, boxes, r, ids[a], ids, k, *cpu)
        nb.knn_neighbors(pos[:, a], pos, boxes, r, ids[a], ids, k, *gpu, device="cuda")
        assert np.array_equal(cpu[0], gpu[0]) and np.array_equal(cpu[2], gpu[2])
        assert np.allclose(cpu[1], gpu[1], rtol=0, atol=1e-5)
        assert (cpu[0] == -1).any() == (k == 80)
        # count_all=False: the same rows, counts saturated at k + 1 on both devices.
        sat = [np.full_like(x, 7) for x in cpu]
        nb.knn_neighbors(pos[:, a], pos, boxes, r, ids[a], ids, k, *sat, device="cuda", count_all=False)
        assert np.array_equal(sat[0], gpu[0]) and np.array_equal(sat[1], gpu[1])
        assert np.array_equal(sat[2], np.minimum(cpu[2], k + 1))
        nb.knn_neighbors(pos[:, a], pos, boxes, r, ids[a], ids, k, *sat, count_all=False)
        assert np.array_equal(sat[0], cpu[0]) and np.array_equal(sat[2], np.minimum(cpu[2], k + 1))
        # The CSR form: one call over every frame on the GPU, batches of frames on the CPU.
        c = nb.knn_neighbors_csr(pos[:, a], pos, boxes, r, ids[a], ids, k)
        g = nb.knn_neighbors_csr(pos[:, a], pos, boxes, r, ids[a], ids, k, device="cuda")
        assert np.array_equal(c[0], g[0]) and np.array_equal(c[1], g[1]) and np.array_equal(c[3], g[3])
        assert np.allclose(c[2], g[2], rtol=0, atol=1e-5)

    # The tie rule on both devices: twelve partners at 3.0 Å in float32, six of them (the lower indices)
    # slightly farther in float64; the rows keep the lowest indices.
    axes = np.concatenate([np.eye(3), -np.eye(3)])
    centre = np.full(3, 6.0)
    tie = np.concatenate([centre[None], centre + 3.0 * axes + np.roll(axes, 1, axis=1) * 4e-4,
                          centre + 3.0 * axes]).astype(np.float32)[None]
    tie_box = np.diag([20.0, 20.0, 20.0])[None]
    tie_ids = np.arange(tie.shape[1], dtype=np.int64)
    cpu = [np.empty((1, 13, 4), np.int64), np.empty((1, 13, 4), np.float32), np.empty((1, 13), np.int64)]
    gpu = [np.full_like(x, 7) for x in cpu]
    nb.knn_neighbors(tie, tie, tie_box, 3.5, tie_ids, tie_ids, 4, *cpu)
    nb.knn_neighbors(tie, tie, tie_box, 3.5, tie_ids, tie_ids, 4, *gpu, device="cuda")
    assert cpu[0][0, 0].tolist() == [1, 2, 3, 4] and cpu[2][0, 0] == 12, cpu
    assert all(np.array_equal(x, y) for x, y in zip(cpu, gpu)), (cpu, gpu)

    counts = np.empty((F, N), dtype=np.int64)
    nbc.count_neighbors(pos, pos, boxes, r, ids, ids, counts)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    try:
        nbc.fill_neighbors(pos, pos, boxes, 0.5 * r, ids, ids, offsets,
                           np.empty(offsets[-1], np.int64), np.empty(offsets[-1], np.float32))
    except ValueError as exc:
        assert "disagrees with the neighbour counts at frame 0" in str(exc), exc
    else:
        raise AssertionError("mismatched offsets were not reported")
    try:  # the twins run on the GPU only
        nbc.radius_neighbors(pos, pos, boxes, r, ids, ids, device="cpu")
    except ValueError as exc:
        assert "must be 'cuda'" in str(exc), exc
    else:
        raise AssertionError("a CUDA twin accepted device='cpu'")
    print("CUDA-OK")
    """
)


def test_cuda_simulator_matches_cpu():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "CUDA-OK" in proc.stdout, proc.stdout + proc.stderr


def test_cuda_without_device_raises_runtime_error():
    from numba import cuda

    if cuda.is_available():
        pytest.skip("a CUDA device (or the simulator) is available here")
    from trajml.kernels import neighbors as nb

    pos = np.zeros((1, 2, 3), dtype=np.float32)
    ids = np.arange(2, dtype=np.int64)
    out = np.zeros(4, dtype=np.int64)
    with pytest.raises(RuntimeError, match="device='cuda' cannot run here: numba finds no usable CUDA GPU "
                                           r"\(no device, driver or CUDA toolkit\)\. Use device='cpu'.*"
                                           "NUMBA_ENABLE_CUDASIM=1"):
        nb.pair_histogram(pos, pos, np.eye(3)[None] * 10.0, 0.0, 4.0, ids, ids, None, None, out, device="cuda")


def test_one_cuda_check_serves_the_kernels_and_the_pipelines(monkeypatch):
    """The pipelines' refusal of ``device: cuda`` asks the kernels' own check, whatever it answers."""
    from numba import cuda

    from trajml.kernels import cuda as kernels_cuda
    from trajml.kernels.cuda import _device
    from trajml.pipelines import devices

    assert (kernels_cuda.cuda_problem() is None) == cuda.is_available()
    assert devices.cuda_problem() == kernels_cuda.cuda_problem()
    monkeypatch.setattr(_device, "cuda_problem", lambda: "numba's CUDA target cannot be imported (test)")
    with pytest.raises(RuntimeError, match=r"cannot run here: numba's CUDA target cannot be imported \(test\)\. "
                                           r"Install the 'cuda' extra"):
        _device._cuda()
    monkeypatch.setattr(kernels_cuda, "cuda_problem", lambda: "no GPU here (test)")
    assert devices.cuda_problem() == "no GPU here (test)"


def test_import_needs_no_cuda():
    code = (
        "import sys; import trajml.kernels.neighbors, trajml.kernels.cuda, trajml.kernels.neighbors_cuda; "
        "print('numba.cuda' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "False", proc.stdout + proc.stderr
