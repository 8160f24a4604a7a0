"""trajml.workflows.kinetic_checks: the graph model's training budget, in Python and command-line words."""

from __future__ import annotations

import warnings

import pytest

from trajml.cli import warning_line
from trajml.workflows.kinetic_checks import MIN_TRAINING_STEPS, check_training_budget


def test_the_demo_budget_warns_with_the_epochs_that_would_do():
    # The former demo: 300 frames at lag 4, batches of 16 frame pairs, 10 epochs: 19 batches an epoch.
    with pytest.warns(UserWarning, match=r"train for only 190 optimizer steps \(10 epochs × 19 batches of 16 frame "
                                         r"pairs out of 296\).*Give epochs=53 \(or more frames\), or use "
                                         r"model='tica'") as seen:
        assert check_training_budget(296, 10, 16, "kinetic_analysis") == 190
    assert 53 * 19 >= MIN_TRAINING_STEPS > 52 * 19
    line = warning_line(seen[0].message, UserWarning, __file__)
    assert "Give --epochs 53 (or more frames), or use --model tica" in line


def test_a_sufficient_budget_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_training_budget(2960, 6, 16, "kinetic_analysis") == 6 * 185
