"""Streamed analyses (featurizers) that run on chunks of frames."""

from trajml.features.base import Featurizer
from trajml.features.summary import TrajectorySummary

__all__ = ["Featurizer", "TrajectorySummary"]
