"""Extrapolation of long-run transport from short MD runs: tables, readers, baselines, descriptors; deep/ multitask GNN.

- :mod:`~trajml.extrapolation.tables`: the training table of short-run (low-fidelity) and long-run
  (high-fidelity) labels, predictions, cross-validation folds;
- :mod:`~trajml.extrapolation.readers`: tables from property CSVs, a wide CSV or trajml pipeline runs;
- :mod:`~trajml.extrapolation.value_units`, :mod:`~trajml.extrapolation.attachments`: published values in
  their units (S/cm, cm²/s, ...) and attachment points (``[Cu]``/``[Au]``), converted to trajml's;
- :mod:`~trajml.extrapolation.splits`: predefined training/validation/test splits (the polymernet layout);
- :mod:`~trajml.extrapolation.scores`: MAE, RMSE, R² with bootstrap intervals, z-scores of the std;
- :mod:`~trajml.extrapolation.baselines`: short-run, linear-correction and random-forest baselines,
  cross-validation;
- :mod:`~trajml.extrapolation.descriptors`: short-run descriptors (MSD slopes, ...);
- :mod:`~trajml.extrapolation.polymer_rings`: ring graphs of repeat units (SMILES via RDKit, or CG beads);
- :mod:`trajml.extrapolation.deep`: the multi-fidelity, multitask graph network (PyTorch, the ``deep`` extra).

Names are imported lazily; nothing here imports torch (only :mod:`trajml.extrapolation.deep` does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trajml._lazy import lazy_exports

_EXPORTS = {
    **{n: "tables" for n in ("TASKS", "TASK_UNITS", "ExtrapolationTable", "ExtrapolationPrediction", "kfold_indices",
                             "check_task", "check_labels", "check_short_run_inputs")},
    **{n: "readers" for n in ("read_property_csv", "table_from_csvs", "read_table_csv", "read_candidates_csv",
                              "write_table_csv",
                              "table_from_pipeline", "PIPELINE_TARGETS", "read_prediction_csv")},
    **{n: "splits" for n in ("TableSplits", "split_from_csvs", "read_polymernet", "POLYMERNET_PROPERTIES")},
    **{n: "scores" for n in ("Score", "score_values", "score_prediction", "format_scores")},
    **{n: "value_units" for n in ("VALUE_UNITS", "parse_unit", "to_task_units", "units_by_task")},
    **{n: "attachments" for n in ("normalise_attachments",)},
    **{n: "baselines" for n in ("ShortRunBaseline", "LinearCorrection", "RandomForestBaseline", "cross_validate",
                                "CrossValidation", "graph_fingerprints", "least_squares_lines")},
    **{n: "descriptors" for n in ("msd_descriptors", "short_run_descriptors")},
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from trajml.extrapolation.attachments import normalise_attachments
    from trajml.extrapolation.baselines import (
        CrossValidation,
        LinearCorrection,
        RandomForestBaseline,
        ShortRunBaseline,
        cross_validate,
        graph_fingerprints,
        least_squares_lines,
    )
    from trajml.extrapolation.descriptors import msd_descriptors, short_run_descriptors
    from trajml.extrapolation.readers import (
        PIPELINE_TARGETS,
        read_candidates_csv,
        read_prediction_csv,
        read_property_csv,
        read_table_csv,
        table_from_csvs,
        table_from_pipeline,
        write_table_csv,
    )
    from trajml.extrapolation.scores import Score, format_scores, score_prediction, score_values
    from trajml.extrapolation.splits import POLYMERNET_PROPERTIES, TableSplits, read_polymernet, split_from_csvs
    from trajml.extrapolation.tables import (
        TASK_UNITS,
        TASKS,
        ExtrapolationPrediction,
        ExtrapolationTable,
        check_labels,
        check_short_run_inputs,
        check_task,
        kfold_indices,
    )
    from trajml.extrapolation.value_units import VALUE_UNITS, parse_unit, to_task_units, units_by_task

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
