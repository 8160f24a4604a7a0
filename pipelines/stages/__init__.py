"""The built-in pipeline stages, one module per subject; importing this package registers them.

- :mod:`~trajml.pipelines.stages.structure`: info, rdf, coordination, solvation, shells;
- :mod:`~trajml.pipelines.stages.transport`: msd, residence, transport;
- :mod:`~trajml.pipelines.stages.kinetics`: graphs, msm, fes;
- :mod:`~trajml.pipelines.stages.extrapolation`: extrapolate.

The registry's API (:func:`register_stage`, :class:`Param`, ...) lives in
:mod:`trajml.pipelines.registry` and is re-exported here, where plug-ins used to import it.
"""

from trajml.pipelines.registry import (
    FRAME_PARAMS,
    REQUIRED,
    Param,
    StageContext,
    StageDef,
    StageOutput,
    analysis_params,
    check_param,
    closest,
    get_stage,
    register_stage,
    stage_names,
    unregister_stage,
)
from trajml.pipelines.stages import extrapolation, kinetics, structure, transport  # noqa: F401  (register)

__all__ = ["Param", "StageDef", "StageOutput", "StageContext", "REQUIRED", "FRAME_PARAMS", "register_stage",
           "unregister_stage", "get_stage", "stage_names", "check_param", "closest", "analysis_params"]
