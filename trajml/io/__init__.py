"""Trajectory input: lazy sources that read chunks of frames.

The only place in trajml that knows file formats, nm vs Å and box conventions.
"""

from trajml.io.source import Source, TrajectoryMember, open_source
from trajml.io.topology import AtomTable

__all__ = ["Source", "TrajectoryMember", "open_source", "AtomTable"]
