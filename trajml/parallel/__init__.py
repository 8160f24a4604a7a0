"""The parallel engine: partition sources into chunks (or particles into blocks), map on Dask, merge, finalize.

Every entry point works with ``scheduler="serial"``; Dask is imported only
when another scheduler is asked for.
"""

from trajml.parallel.analysis import Analysis, ParticleAnalysis
from trajml.parallel.engine import process_chunk, run, stream
from trajml.parallel.options import FRAME_OPTIONS, RUN_OPTIONS, check_run_options, show_progress
from trajml.parallel.provenance import library_versions, provenance_record
from trajml.parallel.schedulers import SCHEDULERS, imap_ordered, map_specs, scheduler_name, task_slots

__all__ = ["Analysis", "ParticleAnalysis", "run", "stream", "process_chunk", "map_specs", "imap_ordered",
           "scheduler_name", "task_slots", "SCHEDULERS", "RUN_OPTIONS",
           "FRAME_OPTIONS", "check_run_options", "show_progress", "provenance_record", "library_versions"]
