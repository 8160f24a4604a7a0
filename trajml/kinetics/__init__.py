"""Kinetics: Koopman/VAMP covariances, Markov state models, TICA → k-means → MSM, soft validation, state interpretation.

- :mod:`~trajml.kinetics.koopman`: streamed time-lagged covariances, Koopman matrices, VAMP scores;
- :mod:`~trajml.kinetics.msm`: Markov state models, implied timescales, Chapman–Kolmogorov tests;
- :mod:`~trajml.kinetics.tica`: TICA/VAMP projections and the TICA → k-means → MSM model;
- :mod:`~trajml.kinetics.soft_validation`: timescales, CK tests and PCCA+ of soft state assignments;
- :mod:`~trajml.kinetics.interpret`: what the first shell of a target looks like in each state;
- :mod:`~trajml.kinetics.diagnostics`: plain-language checks of a model (timescales converged and
  longer than the lag, distinct states, Chapman–Kolmogorov test, truncated graphs);
- :mod:`trajml.kinetics.deep`: VAMPNets and graph VAMPNets (PyTorch, the ``deep`` extra).

Names are imported lazily, so ``import trajml.kinetics`` stays light; deeptime is imported only
when an MSM or k-means is fitted, and torch only under :mod:`trajml.kinetics.deep`. Fitted models
are saved with :func:`trajml.store.save_model`; :func:`trajml.workflows.kinetic_analysis` chains
features, a model, its validation and the interpretation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trajml._lazy import lazy_exports

_EXPORTS = {
    "TimeLaggedCovariance": "koopman", "CovarianceModel": "koopman", "CovarianceState": "koopman",
    "lagged_chunks": "koopman", "inv_sqrt": "koopman", "koopman_matrix": "koopman",
    "singular_values": "koopman", "vamp_score": "koopman", "soft_koopman_matrix": "koopman",
    "stationary_distribution": "koopman",
    "MarkovModel": "msm", "MSMModel": "msm", "implied_timescales": "msm", "ImpliedTimescalesResults": "msm",
    "ck_test": "msm", "CKTestResults": "msm",
    "KineticProjection": "tica", "ProjectionModel": "tica", "TICAMarkovModel": "tica", "TICAMSMModel": "tica",
    "soft_implied_timescales": "soft_validation", "soft_ck_test": "soft_validation",
    "soft_populations": "soft_validation", "soft_pcca": "soft_validation",
    "StateInterpretation": "interpret", "StateInterpretationResults": "interpret_results",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from trajml.kinetics.interpret import StateInterpretation
    from trajml.kinetics.interpret_results import StateInterpretationResults
    from trajml.kinetics.koopman import (
        CovarianceModel,
        CovarianceState,
        TimeLaggedCovariance,
        inv_sqrt,
        koopman_matrix,
        lagged_chunks,
        singular_values,
        soft_koopman_matrix,
        stationary_distribution,
        vamp_score,
    )
    from trajml.kinetics.msm import (
        CKTestResults,
        ImpliedTimescalesResults,
        MarkovModel,
        MSMModel,
        ck_test,
        implied_timescales,
    )
    from trajml.kinetics.soft_validation import soft_ck_test, soft_implied_timescales, soft_pcca, soft_populations
    from trajml.kinetics.tica import KineticProjection, ProjectionModel, TICAMarkovModel, TICAMSMModel

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
