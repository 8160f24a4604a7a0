"""The ``device`` stage parameter: ``device: cuda`` needs a CUDA GPU where the unit runs.

Stages whose analyses have CUDA twins (rdf, coordination, solvation, shells, residence, graphs,
msm) take ``device: cpu|cuda`` from their analysis' declaration (one declaration for Python, the
command line and the pipeline file). There is no silent fallback: a stage asking for ``cuda``
where numba finds no GPU is refused with the stage, the key and the fix, before anything runs
when the units run on this machine ("serial", "threads", "processes", "local"), and by the unit
itself on a remote worker (the unit fails with that message; the other units go on).
``NUMBA_ENABLE_CUDASIM=1`` runs the CUDA kernels on numba's simulator (slow; what CI tests with).
"""

from __future__ import annotations

import socket
from typing import Any

from trajml._fixes import with_cli_text
from trajml.errors import InvalidParameterError

__all__ = ["cuda_problem", "check_stage_device", "check_pipeline_devices"]


def cuda_problem() -> str | None:
    """Why numba cannot run CUDA kernels in this process, or None when it can (a GPU or the simulator).

    :func:`trajml.kernels.cuda.cuda_problem`, the check the CUDA kernels raise with, imported on the
    first call (importing the pipelines imports neither numba nor CUDA).

    Returns
    -------
    str or None
        A phrase naming what is missing, or None.
    """
    from trajml.kernels.cuda import cuda_problem as kernels_cuda_problem

    return kernels_cuda_problem()


def check_stage_device(stage_id: str, stage: str, params: dict[str, Any], where: str = "") -> None:
    """Refuse ``device: cuda`` for one stage when this process cannot run CUDA kernels.

    Parameters
    ----------
    stage_id : str
        The stage's id in the pipeline file.
    stage : str
        Its type (``"rdf"``).
    params : dict
        Its validated parameters.
    where : str
        What "here" is, for the message (default: this machine, or its host name on a worker).

    Raises
    ------
    InvalidParameterError
        ``device`` is ``"cuda"`` and :func:`cuda_problem` names a reason.
    """
    if params.get("device") != "cuda":
        return
    problem = cuda_problem()
    if problem is None:
        return
    here = where or f"host {socket.gethostname()!r}"
    text = (f"Stage {stage_id!r} ({stage}) has 'device: cuda', but on {here} {problem}. Set 'device: cpu' in "
            "that stage of the pipeline file (device=\"cpu\" in Python), or run it where the workers have a GPU; "
            "NUMBA_ENABLE_CUDASIM=1 runs the CUDA kernels on numba's slow simulator.")
    exc = InvalidParameterError(text, parameter="device", owner=f"stage {stage_id!r}",
                                constraint="a device present where the unit runs", value="cuda")
    raise with_cli_text(exc, text)  # the key is the pipeline file's on the command line too, not a flag


def check_pipeline_devices(spec: Any) -> None:
    """:func:`check_stage_device` for every stage of a pipeline spec, on this machine.

    Parameters
    ----------
    spec : trajml.pipelines.spec.PipelineSpec
        The validated pipeline.
    """
    for st in spec.stages:
        check_stage_device(st.id, st.stage, st.params, where="this machine")
