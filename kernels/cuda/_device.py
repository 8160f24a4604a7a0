"""What every CUDA twin needs: :mod:`numba.cuda` on demand, the minimum-image device function, launches.

Importing this module needs no CUDA: :func:`_cuda` imports :mod:`numba.cuda`
on the first kernel call and says what is missing when it cannot.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numba.core import config as _numba_config

from .._validation import _raise_nonfinite

#: Threads per block, also the tile of B atoms staged in shared memory (the
#: simulator runs every thread as a Python thread: keep its blocks small).
_THREADS = 32 if _numba_config.ENABLE_CUDASIM else 128
#: CUDA's limit on the second grid dimension (frames per launch).
_MAX_GRID_Y = 65535


#: The reason :func:`cuda_problem` gives when numba imports but sees no GPU.
_NO_GPU = "numba finds no usable CUDA GPU (no device, driver or CUDA toolkit)"


def cuda_problem() -> str | None:
    """Why numba cannot run CUDA kernels in this process, or None when it can (a GPU or the simulator).

    The one availability check of trajml: the CUDA twins raise with it, and the pipelines refuse a
    ``device: cuda`` stage with it before anything runs. Imports :mod:`numba.cuda` (unless the
    simulator is on, ``NUMBA_ENABLE_CUDASIM=1``).

    Returns
    -------
    str or None
        A phrase naming what is missing (numba's CUDA target, or a usable GPU), or None.
    """
    if _numba_config.ENABLE_CUDASIM:
        return None
    try:
        from numba import cuda
    except ImportError as exc:  # pragma: no cover - depends on the numba build
        return f"numba's CUDA target cannot be imported ({exc})"
    return None if cuda.is_available() else _NO_GPU


def _cuda() -> Any:
    """numba.cuda, or a RuntimeError that says what is missing (:func:`cuda_problem`) and the fix."""
    problem = cuda_problem()
    if problem is not None:
        fix = ("Use device='cpu', or set NUMBA_ENABLE_CUDASIM=1 before numba.cuda is first imported to run the "
               "CUDA kernels on the (slow) simulator." if problem == _NO_GPU else
               "Install the 'cuda' extra (pip install 'trajml[cuda]') or use device='cpu'.")
        raise RuntimeError(f"device='cuda' cannot run here: {problem}. {fix}")
    from numba import cuda

    return cuda


@functools.lru_cache(maxsize=None)
def _min_image_d2() -> Any:
    """The compiled device function ``min_image_d2(dx, dy, dz, ortho, box, inv)``: squared minimum image, Å²."""
    cuda = _cuda()

    @cuda.jit(device=True, inline=True)
    def min_image_d2(dx, dy, dz, ortho, box, inv):
        if ortho:
            dx -= box[0, 0] * math.floor(dx * inv[0, 0] + 0.5)
            dy -= box[1, 1] * math.floor(dy * inv[1, 1] + 0.5)
            dz -= box[2, 2] * math.floor(dz * inv[2, 2] + 0.5)
            return dx * dx + dy * dy + dz * dz
        f0 = dx * inv[0, 0] + dy * inv[1, 0] + dz * inv[2, 0]
        f1 = dx * inv[0, 1] + dy * inv[1, 1] + dz * inv[2, 1]
        f2 = dx * inv[0, 2] + dy * inv[1, 2] + dz * inv[2, 2]
        f0 -= math.floor(f0 + 0.5)
        f1 -= math.floor(f1 + 0.5)
        f2 -= math.floor(f2 + 0.5)
        wx = f0 * box[0, 0] + f1 * box[1, 0] + f2 * box[2, 0]
        wy = f0 * box[0, 1] + f1 * box[1, 1] + f2 * box[2, 1]
        wz = f0 * box[0, 2] + f1 * box[1, 2] + f2 * box[2, 2]
        return wx * wx + wy * wy + wz * wz

    return min_image_d2


def _check_cuda_device(func: str, device: object) -> None:
    if device != "cuda":
        raise ValueError(
            f"The 'device' parameter of trajml.kernels.cuda.{func} must be 'cuda'. Got {device!r} instead; "
            f"call trajml.kernels.neighbors.{func} for other devices."
        )


def _launch(kernel: Any, n_frames: int, n_a: int, *args: Any) -> None:
    """Launch over (atom blocks, frames), in frame batches that fit CUDA's grid limit."""
    if n_frames == 0 or n_a == 0:
        return
    blocks = (n_a + _THREADS - 1) // _THREADS
    for t0 in range(0, n_frames, _MAX_GRID_Y):
        grid = (blocks, min(_MAX_GRID_Y, n_frames - t0))
        kernel[grid, _THREADS](*args[:5], t0, *args[5:])


def _device_inputs(cuda: Any, p: Any) -> tuple[Any, Any, Any, Any]:
    return (
        cuda.to_device(p.pos_a),
        cuda.to_device(p.pos_b),
        cuda.to_device(p.boxes),
        cuda.to_device(p.invs),
    )


def _check_finite(func: str, p: Any) -> None:
    """Raise on non-finite positions before any launch (the kernels do not check them)."""
    _raise_nonfinite(func, ~np.isfinite(p.pos_a).all(axis=(1, 2)) | ~np.isfinite(p.pos_b).all(axis=(1, 2)))
