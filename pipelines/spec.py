"""The YAML pipeline format: schema, validation up front, and the validated spec.

Format (``version: 1``)
-----------------------
.. code-block:: yaml

    version: 1
    name: peo-litfsi-sweep           # optional; default: the file's stem
    inputs:
      - bundled: spe_sample          # the sample shipped with trajml (metadata from its JSON)
      - glob: "sims/T*/"             # simulation folders, relative to this file
        topology: "*.psf"            # pattern inside each folder (default: psf, tpr, gro, pdb, data)
        trajectory: "*.xtc"          # parts of one run, sorted (default: xtc, dcd, trr, nc, lammpstrj)
        metadata: {temperature: 350.0, charges: {Li: 1.0, TFSI: -1.0}}
      - name: lammps-run             # an explicit topology/trajectory pair
        topology: run/system.data
        trajectory: [run/part1.dcd, run/part2.dcd]
        reader: {type_map: {1: C, 2: O, 3: Li, 4: TFSI}, lammps_units: real}
      - name: exported
        topology: export.pdb
        trajectory: export.xyz
        reader: {box: [40, 40, 40, 90, 90, 90], dt: 2.0}  # no box and no times in the files
    stages:
      - info                         # a stage with all defaults
      - {stage: rdf, id: rdf_li_o, sel_a: name Li, sel_b: name O, r_max: 12.0}
      - {stage: coordination, cutoff_from: rdf_li_o}
    outputs: results                 # folder (relative to the working directory)
    unit_timeout: 3600               # optional: s one unit may run; a longer one fails, the rest go on
    store_precision: float64         # optional: float32 stores arrays rounded to float32 (smaller, lossy)
    cluster:                         # optional: a SLURM/PBS cluster (dask-jobqueue), or instead
      {type: slurm, cores: 16, processes: 16, memory: 64GB, walltime: "04:00:00", jobs: 4}
    # scheduler_file: scheduler.json # a running scheduler's file (relative to the working directory)

The run keys (``scheduler_file``, ``cluster``, ``unit_timeout``, ``store_precision``) are declared once in
:mod:`trajml.pipelines.run_options`; ``run_pipeline``'s keywords and ``trajml run``'s flags
override them.

``reader:`` takes the reader options of :func:`trajml.io.open_source` (the command line's
``--dt``, ``--box``, …), declared once in :data:`trajml.io.reader_options.READER_OPTIONS`:
``backend``, ``format``, ``topology_format``, ``dt`` (ps), ``time_unit``, ``lammps_units``,
``atom_style``, ``box``, ``type_map``, ``on_damage``. The former top-level keys ``type_map``,
``backend``, ``format``, ``topology_format`` and ``on_damage`` of an input still work.

Metadata is free-form per system; known keys are checked: ``temperature``
(K, > 0) and ``charges`` (atom name -> charge in e). Input paths are relative to
the YAML file's folder; the ``outputs`` folder to the current working directory,
so a pipeline shipped inside a package never writes there.

Every problem found is reported at once in one :class:`PipelineSpecError`,
each line naming the file, the line and the key, with the closest valid name
for a misspelt stage, parameter or key.

The validated types are defined in :mod:`trajml.pipelines.spec_types`, the checks in
:mod:`trajml.pipelines.spec_validation`; all of them are importable from here.
"""

from __future__ import annotations

import os

import yaml

from trajml.pipelines.spec_types import PipelineSpec, PipelineSpecError, StageSpec, SystemSpec
from trajml.pipelines.spec_validation import BUNDLED, TOPOLOGY_PATTERNS, TRAJECTORY_PATTERNS, _Validator  # noqa: F401
from trajml.pipelines.yamlmarks import YAMLTooLarge, load_marked

__all__ = ["PipelineSpecError", "SystemSpec", "StageSpec", "PipelineSpec", "load_pipeline", "parse_pipeline",
           "BUNDLED"]

#: Longest pipeline file read (characters): bounds the memory a spec may take, even under ``--check``.
MAX_SPEC_CHARS = 1 << 20


def load_pipeline(path: str | os.PathLike) -> PipelineSpec:
    """Read and validate a pipeline YAML file.

    Parameters
    ----------
    path : str or os.PathLike
        The YAML file.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    PipelineSpecError
        Every problem found, each naming the line and the key.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Pipeline file '{path}' does not exist.")
    cap = 4 * (MAX_SPEC_CHARS + 1)  # UTF-8 takes at most 4 bytes a character: never more than the cap into memory
    with open(path, "rb") as fh:
        raw = fh.read(cap)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # the codec's message names neither the file nor the line
        if len(raw) == cap and exc.start >= cap - 4:  # a character cut by the cap: the length check refuses it
            text = raw.decode("utf-8", errors="ignore")
        else:
            raise PipelineSpecError(path, [(raw.count(b"\n", 0, exc.start) + 1, "pipeline",
                                            f"is not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
                                            f"({exc.reason}). Save the file as UTF-8.")]) from None
    return parse_pipeline(text, filename=path, base_dir=os.path.dirname(os.path.abspath(path)))


def parse_pipeline(text: str, *, filename: str = "<pipeline>", base_dir: str = ".") -> PipelineSpec:
    """Validate pipeline YAML text; input paths resolve against ``base_dir``.

    Text over :data:`MAX_SPEC_CHARS` characters, or whose aliases expand beyond
    :data:`~trajml.pipelines.yamlmarks.MAX_NODES` values, is refused before it is built.

    Parameters
    ----------
    text : str
        The YAML text.
    filename : str
        Named in messages.
    base_dir : str
        Folder that relative input paths resolve against.
    """
    if len(text) > MAX_SPEC_CHARS:
        line = text.count("\n", 0, MAX_SPEC_CHARS) + 1
        raise PipelineSpecError(filename, [(line, "pipeline", f"is longer than {MAX_SPEC_CHARS:,} characters "
                                            "(here it passes the cap): a pipeline file is a short list of inputs "
                                            "and stages; list many systems with 'glob:' instead.")])
    try:
        doc = load_marked(text)
    except YAMLTooLarge as exc:
        mark = exc.problem_mark
        raise PipelineSpecError(filename, [((mark.line + 1) if mark else 0, "yaml", f"{exc.problem}.")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise PipelineSpecError(filename, [((mark.line + 1) if mark else 0, "yaml",
                                            f"is not valid YAML: {exc.problem}")]) from None
    v = _Validator(filename, os.path.abspath(base_dir))
    return v.pipeline(doc)
