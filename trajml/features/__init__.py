"""Streamed analyses (featurizers) that run on chunks of frames."""

from trajml.features.base import Featurizer
from trajml.features.coordination import Coordination, CoordinationResults
from trajml.features.graphs import GraphChunk, GraphResults, NeighborGraphs
from trajml.features.rdf import RDF, RDFResults, find_first_shell
from trajml.features.shell_counts import ShellCounts
from trajml.features.solvation import SPECIATION_LABELS, Solvation, SolvationResults
from trajml.features.solvation_shells import ShellsResults, SolvationShells
from trajml.features.summary import TrajectorySummary

__all__ = [
    "Featurizer",
    "TrajectorySummary",
    "RDF",
    "RDFResults",
    "find_first_shell",
    "Coordination",
    "CoordinationResults",
    "Solvation",
    "SolvationResults",
    "SPECIATION_LABELS",
    "SolvationShells",
    "ShellsResults",
    "NeighborGraphs",
    "GraphChunk",
    "GraphResults",
    "ShellCounts",
]
