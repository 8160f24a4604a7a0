"""Kinetic models: Koopman/VAMP covariances, Markov state models, TICA → k-means → MSM.

Names are imported lazily, so ``import trajml.models`` stays light; deeptime is imported only
when an MSM or k-means is fitted. Nothing here imports torch (the deep models live in
``trajml.models.deep``).
"""

from __future__ import annotations

from trajml._lazy import lazy_exports

_EXPORTS = {
    "TimeLaggedCovariance": "koopman", "CovarianceModel": "koopman", "CovarianceState": "koopman",
    "lagged_chunks": "koopman", "inv_sqrt": "koopman", "koopman_matrix": "koopman",
    "singular_values": "koopman", "vamp_score": "koopman", "soft_koopman_matrix": "koopman",
    "stationary_distribution": "koopman",
    "MarkovModel": "msm", "MSMModel": "msm", "implied_timescales": "msm", "ImpliedTimescalesResults": "msm",
    "ck_test": "msm", "CKTestResults": "msm",
    "KineticProjection": "tica", "ProjectionModel": "tica", "TICAMarkovModel": "tica", "TICAMSMModel": "tica",
    "save_model": "io", "load_model": "io",
    "soft_implied_timescales": "soft_validation", "soft_ck_test": "soft_validation",
    "soft_populations": "soft_validation", "soft_pcca": "soft_validation",
    "kinetic_analysis": "workflow", "KineticAnalysis": "workflow",
    "StateInterpretation": "interpret", "StateInterpretationResults": "interpret",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
