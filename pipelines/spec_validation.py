"""Validation of a parsed pipeline file (the format: :mod:`trajml.pipelines.spec`).

Checks the top-level keys and ``version``; the run keys (``scheduler_file``, ``cluster``,
``unit_timeout``, ``store_precision``) by their declarations; ``outputs``; each input (``bundled:``,
``glob:`` or ``topology:``/``trajectory:``: the files exist, system names are distinct, ``metadata``
and the reader options are valid); and each stage (a registered name, a distinct ``id``, known
parameters with valid values and relations, the stages it requires and the ids it references earlier
in the list). Every problem is collected with its line and key and raised at once in one
:class:`~trajml.pipelines.spec_types.PipelineSpecError`.
"""

from __future__ import annotations

import glob as globlib
import os
import re
import warnings
from collections.abc import Mapping
from typing import Any

import trajml.pipelines.stages  # noqa: F401  (registers the built-in stages)
from trajml._validation import TEMPERATURE_RANGE_K
from trajml.pipelines.registry import REQUIRED, check_param, closest, get_stage, stage_names
from trajml.pipelines.run_options import FILE_KEYS, RUN_PIPELINE_OPTIONS
from trajml.pipelines.spec_types import PipelineSpec, PipelineSpecError, StageSpec, SystemSpec
from trajml.pipelines.yamlmarks import line_of

#: Values of ``bundled:`` an input may name.
BUNDLED = ("spe_sample", "spe_aa_sample")
TOPOLOGY_PATTERNS = ("*.psf", "*.tpr", "*.gro", "*.pdb", "*.data")
TRAJECTORY_PATTERNS = ("*.xtc", "*.dcd", "*.trr", "*.nc", "*.lammpstrj", "*.dump")
_TOP_KEYS = ("version", "name", "inputs", "stages", "outputs", *FILE_KEYS)
_INPUT_KEYS = ("name", "bundled", "glob", "topology", "trajectory", "metadata", "reader", "type_map", "backend",
               "format", "topology_format", "on_damage")
#: Reader options an input may also give at its top level (the format before ``reader:``).
_FORMER_READER_KEYS = ("type_map", "backend", "format", "topology_format", "on_damage")
_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


class _Validator:
    def __init__(self, filename: str, base_dir: str) -> None:
        self.filename = filename
        self.base = base_dir
        self.problems: list[tuple[int, str, str]] = []
        self.notes: list[str] = []
        self.all_ids: dict[Any, int] = {}

    def bad(self, line: int, key: str, msg: str) -> None:
        self.problems.append((line, key, msg))

    def unknown_keys(self, node: Mapping, allowed: Any, where: str, what: str) -> None:
        for key in node:
            if key not in allowed:
                self.bad(line_of(node, key), f"{where}{key}", f"is not a known {what}.{closest(key, allowed)} "
                         f"Known: {', '.join(allowed)}.")

    # -- top level ----------------------------------------------------------------------------
    def pipeline(self, doc: Any) -> PipelineSpec:
        if not isinstance(doc, Mapping):
            raise PipelineSpecError(self.filename, [(line_of(doc), "pipeline", "must be a mapping with keys "
                                                     f"{', '.join(_TOP_KEYS)}; got {type(doc).__name__}.")])
        self.unknown_keys(doc, _TOP_KEYS, "", "top-level key")
        if doc.get("version", 1) != 1:
            self.bad(line_of(doc, "version"), "version", f"must be 1; got {doc.get('version')!r}.")
        name = doc.get("name") or os.path.splitext(os.path.basename(self.filename))[0] or "pipeline"
        for key in ("inputs", "stages"):
            if key not in doc:
                self.bad(line_of(doc), key, "is missing: a pipeline needs 'inputs' and 'stages'.")
        systems = self.inputs(doc["inputs"], line_of(doc, "inputs")) if "inputs" in doc else []
        stages = self.stages(doc["stages"], line_of(doc, "stages")) if "stages" in doc else []
        outputs = self.outputs(doc.get("outputs", f"{name}_results"), line_of(doc, "outputs"))
        run = self.run_options(doc)
        if self.problems:
            raise PipelineSpecError(self.filename, self.problems)
        for note in self.notes:
            warnings.warn(note, DeprecationWarning, stacklevel=3)
        return PipelineSpec(str(name), os.path.abspath(self.filename), tuple(systems), tuple(stages), outputs,
                            tuple(self.notes), **run)

    def run_options(self, doc: Mapping) -> dict[str, Any]:
        """``scheduler_file``, ``cluster``, ``unit_timeout``, ``store_precision``: each checked by its declaration."""
        from trajml.parallel.jobqueue import cluster_problems

        out: dict[str, Any] = {}
        if "scheduler_file" in doc and "cluster" in doc:
            self.bad(line_of(doc, "cluster"), "cluster", "cannot be combined with 'scheduler_file' (line "
                     f"{line_of(doc, 'scheduler_file')}): give one.")
        for key in FILE_KEYS:
            if doc.get(key) is None:
                continue
            line = line_of(doc, key)
            if key == "cluster":  # one line per bad setting, at its own line
                node = doc[key]
                for k, text in cluster_problems(node):
                    own = isinstance(node, Mapping) and k in node
                    self.bad(line_of(node, k) if own else line, f"cluster.{k}" if k else "cluster", text)
            value, problem = check_param(RUN_PIPELINE_OPTIONS[key], _plain(doc[key]), "pipeline")
            if problem and key != "cluster":
                self.bad(line, key, problem)
            elif not problem:
                out[key] = os.path.abspath(os.path.expanduser(value)) if key == "scheduler_file" else value
        return out

    def outputs(self, node: Any, line: int) -> str:
        if isinstance(node, Mapping):
            self.unknown_keys(node, ("folder",), "outputs.", "outputs key")
            node = node.get("folder")
        if not isinstance(node, str) or not node.strip():
            self.bad(line, "outputs", f"must be a folder name (or {{folder: NAME}}); got {node!r}.")
            return ""
        return os.path.abspath(os.path.expanduser(node))

    # -- inputs -------------------------------------------------------------------------------
    def inputs(self, node: Any, line: int) -> list[SystemSpec]:
        if not isinstance(node, list) or not node:
            self.bad(line, "inputs", "must be a non-empty list of inputs (bundled:, glob: or topology:/trajectory:).")
            return []
        systems: list[SystemSpec] = []
        for i, entry in enumerate(node):
            systems += self.input(entry, f"inputs[{i}]", line_of(node, i))
        seen: dict[str, int] = {}
        for s in systems:
            if s.name in seen:
                self.bad(s.line, "inputs", f"define system {s.name!r} twice (first on line {seen[s.name]}); "
                         "give each input a distinct 'name'.")
            seen.setdefault(s.name, s.line)
        return systems

    def path(self, value: str) -> str:
        return os.path.normpath(os.path.join(self.base, os.path.expanduser(value)))

    def input(self, e: Any, where: str, line: int) -> list[SystemSpec]:
        if not isinstance(e, Mapping):
            self.bad(line, where, f"must be a mapping (bundled:, glob: or topology:/trajectory:); got {e!r}.")
            return []
        self.unknown_keys(e, _INPUT_KEYS, f"{where}.", "input key")
        kinds = [k for k in ("bundled", "glob") if k in e] + (
            ["topology"] if "glob" not in e and "topology" in e else [])
        if len(kinds) != 1:
            self.bad(line, where, "needs exactly one of 'bundled', 'glob', or 'topology' with 'trajectory'"
                     f"{'' if not kinds else '; got ' + ', '.join(kinds)}.")
            return []
        meta, options = self.metadata(e, where), self.reader(e, where)
        if kinds == ["bundled"]:
            return self.bundled(e, where, line, meta, options)
        if kinds == ["glob"]:
            return self.globbed(e, where, line, meta, options)
        top = self.file(e, "topology", where)
        trajs = e.get("trajectory")
        trajs = [trajs] if isinstance(trajs, str) else trajs
        if not isinstance(trajs, list) or not trajs or not all(isinstance(t, str) for t in trajs):
            self.bad(line_of(e, "trajectory"), f"{where}.trajectory", "must be a file or a list of files "
                     "(consecutive parts of one run).")
            return []
        paths = [self.path(t) for t in trajs]
        for t, p in zip(trajs, paths):
            if not os.path.isfile(p):
                self.bad(line_of(e, "trajectory"), f"{where}.trajectory", f"names {t!r}, which does not exist "
                         f"(resolved to '{p}').")
        name = e.get("name") or os.path.splitext(os.path.basename(str(e["topology"])))[0]
        return [SystemSpec(str(name), top or "", tuple(paths), meta, *options, line=line)] if top else []

    def file(self, e: Mapping, key: str, where: str) -> str | None:
        value = e.get(key)
        if not isinstance(value, str) or not value:
            self.bad(line_of(e, key), f"{where}.{key}", f"must be a file path; got {value!r}.")
            return None
        p = self.path(value)
        if not os.path.isfile(p):
            self.bad(line_of(e, key), f"{where}.{key}", f"names {value!r}, which does not exist (resolved to '{p}').")
            return None
        return p

    def bundled(self, e: Mapping, where: str, line: int, meta: dict, options: tuple) -> list[SystemSpec]:
        value = e["bundled"]
        value = "spe_sample" if value is True else value
        if value not in BUNDLED:
            self.bad(line_of(e, "bundled"), f"{where}.bundled", f"names {value!r}, which is not a bundled data "
                     f"set.{closest(value, BUNDLED)} Bundled: {', '.join(BUNDLED)}.")
            return []
        from trajml.data import (
            sample_aa_parameters,
            sample_aa_topology,
            sample_aa_trajectory,
            sample_parameters,
            sample_topology,
            sample_trajectory,
        )

        if value == "spe_aa_sample":  # all-atom: charges per residue (ions are molecules), scaled by the run
            info = sample_aa_parameters()
            scale = float(info["force_field"]["charge_scale"])
            files = (sample_aa_topology(), sample_aa_trajectory())
            base = {"temperature": info["parameters"]["temperature"], "charges": {"LI": scale, "TFSI": -scale}}
        else:
            info = sample_parameters()
            files = (sample_topology(), sample_trajectory())
            base = {"temperature": info.get("parameters", {}).get("temperature"), "charges": {"Li": 1.0, "TFSI": -1.0}}
        return [SystemSpec(str(e.get("name") or value), files[0], (files[1],), {**base, **meta}, *options, line=line)]

    def globbed(self, e: Mapping, where: str, line: int, meta: dict, options: tuple) -> list[SystemSpec]:
        pattern = e["glob"]
        if "name" in e:
            self.bad(line_of(e, "name"), f"{where}.name", "cannot be used with 'glob': each system is named after "
                     "its folder.")
        if not isinstance(pattern, str) or not pattern:
            self.bad(line_of(e, "glob"), f"{where}.glob", f"must be a glob pattern of folders; got {pattern!r}.")
            return []
        folders = sorted(p for p in globlib.glob(self.path(pattern)) if os.path.isdir(p))
        if not folders:
            self.bad(line_of(e, "glob"), f"{where}.glob", f"{pattern!r} matched no folder (relative to '{self.base}').")
            return []
        pats = {k: self.patterns(e, k, where, d) for k, d in (("topology", TOPOLOGY_PATTERNS),
                                                               ("trajectory", TRAJECTORY_PATTERNS))}
        systems = []
        for folder in folders:
            found = {}
            for key, patterns in pats.items():
                for pat in patterns:
                    hits = sorted(globlib.glob(os.path.join(folder, pat)))
                    if hits:
                        found[key] = hits
                        break
            if "topology" not in found or "trajectory" not in found:
                missing = "topology" if "topology" not in found else "trajectory"
                self.bad(line_of(e, "glob"), f"{where}.glob", f"matched folder '{folder}', which holds no {missing} "
                         f"file matching {', '.join(pats[missing])}; set '{missing}:' to its pattern.")
                continue
            if len(found["topology"]) > 1:
                self.bad(line_of(e, "glob"), f"{where}.glob", f"matched folder '{folder}', which holds "
                         f"{len(found['topology'])} topologies "
                         f"({', '.join(map(os.path.basename, found['topology']))}); "
                         "set 'topology:' to a pattern that picks one.")
                continue
            systems.append(SystemSpec(os.path.basename(folder.rstrip(os.sep)), found["topology"][0],
                                      tuple(found["trajectory"]), dict(meta), *options, line=line))
        return systems

    def patterns(self, e: Mapping, key: str, where: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = e.get(key, default)
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
            self.bad(line_of(e, key), f"{where}.{key}", f"must be a file pattern (or list of them); got {value!r}.")
            return default
        return tuple(value)

    def metadata(self, e: Mapping, where: str) -> dict[str, Any]:
        meta = e.get("metadata", {})
        if not isinstance(meta, Mapping):
            self.bad(line_of(e, "metadata"), f"{where}.metadata", f"must be a mapping; got {meta!r}.")
            return {}
        t = meta.get("temperature")
        low, high = TEMPERATURE_RANGE_K  # the range every declared temperature has
        if "temperature" in meta and (isinstance(t, bool) or not isinstance(t, (int, float)) or not low < t < high):
            self.bad(line_of(meta, "temperature"), f"{where}.metadata.temperature",
                     f"must be a number in ({low:g}, {high:g}) K; got {t!r}.")
        q = meta.get("charges")
        if "charges" in meta and not (isinstance(q, Mapping) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in q.values())):
            self.bad(line_of(meta, "charges"), f"{where}.metadata.charges",
                     f"must map atom names to charges in e, e.g. {{Li: 1.0, TFSI: -1.0}}; got {q!r}.")
        return _plain(meta)

    def reader(self, e: Mapping, where: str) -> tuple[tuple, tuple]:
        """The reader options of an input: its ``reader:`` mapping and the former top-level keys."""
        from trajml.io.reader_options import READER_OPTIONS, check_reader_options

        node = e.get("reader", {})
        if not isinstance(node, Mapping):
            self.bad(line_of(e, "reader"), f"{where}.reader", "must be a mapping of reader options, e.g. "
                     f"{{dt: 0.5, box: [40, 40, 40, 90, 90, 90]}}; got {node!r}.")
            node = {}
        given: dict[str, tuple[Any, int, str]] = {}
        for key in _FORMER_READER_KEYS:
            if key in e:
                given[key] = (e[key], line_of(e, key), f"{where}.{key}")
        for key, value in node.items():
            kl, at = line_of(node, key) or line_of(e, "reader"), f"{where}.reader.{key}"
            if key not in READER_OPTIONS:
                self.bad(kl, at, f"is not a reader option.{closest(key, READER_OPTIONS)} "
                         f"Reader options: {', '.join(READER_OPTIONS)}.")
            elif key in given:
                self.bad(kl, at, f"is given twice (also as '{given[key][2]}', line {given[key][1]}).")
            else:
                given[key] = (value, kl, at)
        values, ok = {}, True
        for key, (value, kl, at) in given.items():
            values[key], problem = check_param(READER_OPTIONS[key], value, "open_source")
            if problem:
                ok = False
                self.bad(kl, at, problem)
        if ok and values:
            try:
                values = check_reader_options(**values)
            except ValueError as exc:
                key = getattr(exc, "parameter", None) or next(iter(given))
                value, kl, at = given.get(key, next(iter(given.values())))
                self.bad(kl, at, getattr(exc, "problem", str(exc)))
        tmap = values.pop("type_map", None) or {}
        opts = [(k, v) for k, v in values.items() if v is not None]
        return tuple(sorted((str(k), str(v)) for k, v in tmap.items())), tuple(sorted(opts))

    # -- stages -------------------------------------------------------------------------------
    def stages(self, node: Any, line: int) -> list[StageSpec]:
        if not isinstance(node, list) or not node:
            self.bad(line, "stages", f"must be a non-empty list of stages ({', '.join(stage_names())}).")
            return []
        out: list[StageSpec] = []
        self.all_ids = {(it if isinstance(it, str) else it.get("id", it.get("stage"))): line_of(node, i)
                        for i, it in enumerate(node) if isinstance(it, (str, Mapping))}
        for i, item in enumerate(node):
            spec = self.stage(item, f"stages[{i}]", line_of(node, i), out)
            if spec is not None:
                out.append(spec)
        return out

    def stage(self, item: Any, where: str, line: int, earlier: list[StageSpec]) -> StageSpec | None:
        item = {"stage": item} if isinstance(item, str) else item
        if not isinstance(item, Mapping) or "stage" not in item:
            self.bad(line, where, f"must be a stage name or a mapping with a 'stage' key; got {item!r}.")
            return None
        name = item["stage"]
        try:
            sdef = get_stage(str(name))
        except KeyError:
            self.bad(line_of(item, "stage") or line, f"{where}.stage", f"names unknown stage {name!r}."
                     f"{closest(name, stage_names())} Known stages: {', '.join(stage_names())}.")
            return None
        sid = item.get("id", name)
        if not isinstance(sid, str) or not _ID.match(sid):
            self.bad(line_of(item, "id") or line, f"{where}.id",
                     f"must be letters, digits, '_', '.' or '-'; got {sid!r}.")
        elif any(s.id == sid for s in earlier):
            first = next(s for s in earlier if s.id == sid)
            self.bad(line_of(item, "id") or line, f"{where}.id", f"{sid!r} is used twice (first on line {first.line}); "
                     "give each stage a distinct 'id'.")
        params: dict[str, Any] = {}
        renamed = {a: k for k, p in sdef.params.items() for a in p.aliases if not a.startswith("-")}
        bad_keys = set()
        for key, value in item.items():
            if key in ("stage", "id"):
                continue
            kl = line_of(item, key) or line
            if key in renamed and renamed[key] not in item:
                self.notes.append(f"{self.filename}, line {kl}: '{where}.{key}' of stage {name!r} is now called "
                                  f"'{renamed[key]}'; the old name will be removed in the next release.")
                key = renamed[key]
            if key not in sdef.params:
                self.bad(kl, f"{where}.{key}", f"is not a parameter of stage {name!r}.{closest(key, sdef.params)} "
                         f"Parameters: {', '.join(sdef.params)}.")
                continue
            params[key], problem = check_param(sdef.params[key], value, f"stage {name!r}")
            if problem:
                bad_keys.add(key)
                self.bad(kl, f"{where}.{key}", f"of stage {name!r} {problem}")
        for key, p in sdef.params.items():
            if key not in params:
                if p.default is REQUIRED:
                    self.bad(line, f"{where}.{key}", f"is required by stage {name!r} ({p.doc}).")
                params[key] = p.default
        if not bad_keys and not any(p.default is REQUIRED and params[k] is REQUIRED for k, p in sdef.params.items()):
            for key, msg in sdef.check_relations(params):
                kl = next((line_of(item, k) for k in [key, *(a for a, t in renamed.items() if t == key)]
                           if k in item), line)
                msg = msg if msg.endswith((".", "?")) else msg + "."
                self.bad(kl or line, f"{where}.{key}", f"of stage {name!r} {msg}")
        self.order(sdef, params, item, where, line, earlier)
        return StageSpec(str(sid), sdef.name, params, line)

    def order(self, sdef: Any, params: dict, item: Mapping, where: str, line: int, earlier: list[StageSpec]) -> None:
        for req in sdef.requires:
            if not any(s.stage == req for s in earlier):
                self.bad(line, f"{where}.stage", f"{sdef.name!r} requires a {req!r} stage before it; add one "
                         "earlier in 'stages'.")
        for key, p in sdef.params.items():
            target, ref = p.references, params.get(key)
            if target is None or ref is None:
                continue
            kl = line_of(item, key) or line
            match = [s for s in earlier if s.id == ref]
            if not match:
                later = (f"it comes later (line {self.all_ids[ref]}); move it before this stage"
                         if ref in self.all_ids else f"no stage has that id.{closest(ref, [s.id for s in earlier])}")
                self.bad(kl, f"{where}.{key}", f"refers to stage {ref!r}, but {later} (stages run in order).")
            elif match[0].stage != target:
                self.bad(kl, f"{where}.{key}", f"must name a {target!r} stage; {ref!r} (line {match[0].line}) is a "
                         f"{match[0].stage!r} stage.")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
