"""Parallel engine: partition sources into chunks, map featurizers on Dask, merge, finalize.

Every entry point works with ``scheduler="serial"``; Dask is imported only
when another scheduler is asked for.
"""

from trajml.parallel.engine import process_chunk, run
from trajml.parallel.schedulers import SCHEDULERS, imap_ordered, map_specs, scheduler_name

__all__ = ["run", "process_chunk", "map_specs", "imap_ordered", "scheduler_name", "SCHEDULERS"]
