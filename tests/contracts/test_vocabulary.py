"""One vocabulary: every analysis has the same parameter names and defaults in Python, the CLI and YAML.

The command line's ``--help`` text and the pipeline stage schemas are read as a user sees them and
compared with each class's ``__init__`` signature, so a default or a name that drifts in any of
the three fails here. Former names are accepted everywhere with a deprecation note.
"""

from __future__ import annotations

import inspect
import re
import warnings

import pytest

from trajml._validation import REQUIRED, cli_value_text
from trajml.base import Parameterized, registered
from trajml.cli import build_parser
from trajml.pipelines.stages import get_stage, stage_names

# Parameters an entry point leaves out on purpose, and why (anything else missing is drift).
CLI_SKIPS = {
    ("coordination", "Coordination"): {"keep_per_frame": "the command writes the distribution only"},
    ("solvation", "Solvation"): {"keep_per_frame": "the command writes the distributions only"},
    ("shells", "SolvationShells"): {"keep_per_frame": "the command writes the distributions only"},
}
STAGE_SKIPS = {
    ("coordination", "Coordination"): {"keep_per_frame": "stored results hold the distribution only"},
    ("solvation", "Solvation"): {"keep_per_frame": "stored results hold the distributions only"},
    ("shells", "SolvationShells"): {"keep_per_frame": "stored results hold the distributions only"},
    ("msd", "MSD"): {"chunk_size": "the stage's frame parameter chunk_size (same default) is used"},
    ("residence", "ResidenceTime"): {"centers_per_task": "a unit runs serially; one task holds every centre"},
    ("msm", "KineticWorkflow"): {"graph_dir": "a unit keeps its graphs in a temporary folder"},
}


def _commands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices


def _all_parsers():
    """Every (sub)command parser, nested ones included (``extrapolate train``), by its full name."""
    from trajml.cli import command_parsers

    return command_parsers()


def _class_named(name):
    import tests.contracts._discover  # noqa: F401  (imports every trajml module: the registry is complete)

    found = [c for q, c in registered().items() if c.__name__ == name and q.startswith("trajml.")
             and not q.startswith("trajml.models")]
    return found[0] if found else None


def _exposed(defaults):
    return [c for c in (defaults.get("analysis"), defaults.get("estimator")) if c is not None]


def _help_options(subparser, monkeypatch):
    """``--flag -> help text`` read from the formatted ``--help`` text, as a user reads it."""
    monkeypatch.setenv("COLUMNS", "2000")
    lines = subparser.format_help().splitlines()
    out = {}
    for k, line in enumerate(lines):
        if not re.match(r"^  --?\w", line):
            continue
        parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        invocation, text = parts[0], parts[1] if len(parts) > 1 else ""
        if not text and k + 1 < len(lines) and not re.match(r"^  -", lines[k + 1]):
            text = lines[k + 1].strip()
        for flag in re.findall(r"(--[\w-]+)", invocation):
            out.setdefault(flag, text)
    return out


def _cli_cases():
    """Every command and every declared class it builds options from (recorded by add_parameters)."""
    cases = []
    for name, sub in _all_parsers().items():
        for owner, _ in sub._defaults.get("_declared", []):
            cls = _class_named(owner)
            if cls is not None:
                cases.append(pytest.param(name, cls, id=f"{name.replace(' ', '-')}-{owner}"))
    return cases


def _stage_cases(with_command: bool = False):
    commands = _commands()
    return [pytest.param(s, cls, id=f"{s}-{cls.__name__}") for s in stage_names() for cls in get_stage(s).analysis
            if not with_command or (s in commands and cls in _exposed(commands[s]._defaults))]


def test_every_exposed_analysis_is_declared():
    for name, sub in _commands().items():
        for cls in _exposed(sub._defaults):
            assert issubclass(cls, Parameterized), f"trajml {name} exposes {cls.__name__}, which declares nothing"
            owners = [owner for owner, _ in sub._defaults.get("_declared", [])]
            assert cls.__name__ in owners, f"trajml {name} exposes {cls.__name__} but builds no option from it"
    assert _cli_cases() and _stage_cases()
    assert {c.values[0] for c in _cli_cases()} >= {"rdf", "msd", "transport", "msm", "extrapolate train"}


@pytest.mark.parametrize("command, cls", _cli_cases())
def test_cli_help_shows_the_python_names_and_defaults(command, cls, monkeypatch):
    sub = _all_parsers()[command]
    options = _help_options(sub, monkeypatch)
    skips = CLI_SKIPS.get((command, cls.__name__), {})
    signature = inspect.signature(cls.__init__).parameters
    for name, p in cls.parameters().items():
        default = signature[name].default
        assert (REQUIRED if default is inspect.Parameter.empty else default) is p.default or \
            p.default == default, f"{cls.__name__}.{name}: declaration and signature differ"
        if not p.cli or name in skips:
            continue
        flag = ("--no-" + name.replace("_", "-")) if p.kind == "bool" and p.default is True else \
            "--" + name.replace("_", "-")
        assert flag in options, f"trajml {command} --help lacks {flag} for {cls.__name__}.{name}"
        line = options[flag]
        if p.kind == "bool" and p.default in (True, False):
            assert p.default is False or "on by default" in line, f"trajml {command} {flag}: {line!r}"
            continue  # a flag: its presence is the name, its default is off (or on, for --no-...)
        if p.default is REQUIRED:
            assert "(required)" in line, f"trajml {command} {flag}: {line!r}"
            continue
        shown = p.none_help if p.default is None and p.none_help else cli_value_text(p.default)
        assert f"(default: {shown})" in line, f"trajml {command} {flag}: {line!r} should show default {shown!r}"
    # and nothing the command skips without saying why
    recorded = [skip for owner, skip in sub._defaults.get("_declared", []) if owner == cls.__name__]
    assert recorded and set(recorded[0]) == set(skips), f"trajml {command} skips {recorded} of {cls.__name__}"


@pytest.mark.parametrize("stage, cls", _stage_cases())
def test_stage_schema_has_the_python_names_and_defaults(stage, cls):
    sdef = get_stage(stage)
    skips = STAGE_SKIPS.get((stage, cls.__name__), {})
    assert set(sdef.skipped) & set(cls.parameters()) == set(skips), f"stage {stage} skips {sdef.skipped}"
    for name, p in cls.parameters().items():
        if not p.cli or name in skips:
            continue
        assert name in sdef.params, f"stage {stage!r} lacks '{name}' of {cls.__name__}"
        q = sdef.params[name]
        assert q.default is p.default or q.default == p.default, f"stage {stage}.{name}: {q.default!r} != {p.default!r}"
        assert (q.kind, q.unit, q.constraint()) == (p.kind, p.unit, p.constraint()), f"stage {stage}.{name}"


@pytest.mark.parametrize("stage, cls", _stage_cases(with_command=True))
def test_stage_and_cli_agree_where_both_exist(stage, cls, monkeypatch):
    commands = _commands()
    sdef = get_stage(stage)
    options = _help_options(commands[stage], monkeypatch)
    for name in sdef.analysis_names:
        if name not in cls.parameters():
            continue
        p = sdef.params[name]
        flag = ("--no-" + name.replace("_", "-")) if p.kind == "bool" and p.default is True else \
            "--" + name.replace("_", "-")
        assert flag in options, f"YAML key {stage}.{name} has no CLI option {flag}"


# -- former names ----------------------------------------------------------------------------------
def test_former_python_names_warn_and_work():
    from trajml.features import RDF, Coordination, Solvation
    from trajml.transport import ResidenceTime

    with pytest.warns(DeprecationWarning, match="'sel_a' parameter of RDF is now called 'select_a'"):
        assert RDF(sel_a="name Li").select_a == "name Li"
    with pytest.warns(DeprecationWarning, match="'center' parameter of Coordination is now called 'select_a'"):
        assert Coordination(center="name Na").select_a == "name Na"
    with pytest.warns(DeprecationWarning, match="'li' parameter of Solvation is now called 'cation'"):
        assert Solvation(li="name Na").cation == "name Na"
    with pytest.warns(DeprecationWarning):
        assert ResidenceTime(ligand="name TFSI").select_b == "name TFSI"
    with pytest.raises(ValueError, match="got both 'select_a' and its former name 'sel_a'"):
        RDF("name Li", sel_a="name O")


def test_former_cli_flags_work_with_a_note(capsys):
    from trajml.cli import main

    parser = build_parser()
    args = parser.parse_args(["rdf", "--sel-a", "name Li", "--bins", "40"])
    assert args.select_a == "name Li" and args.n_bins == 40
    err = capsys.readouterr().err
    assert "--sel-a is now --select-a" in err and "--bins is now --n-bins" in err
    args = parser.parse_args(["transport", "--keep-drift"])
    assert args.remove_drift is False
    assert main is not None


def test_former_yaml_keys_work_with_a_note():
    from trajml.pipelines import parse_pipeline

    text = ("inputs:\n  - bundled: spe_sample\nstages:\n  - {stage: rdf, sel_a: name Li, sel_b: name O}\n"
            "  - {stage: residence, center: name Li, ligand: name O, cutoff: 8.0}\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = parse_pipeline(text)
    assert spec.stages[0].params["select_a"] == "name Li" and spec.stages[1].params["select_b"] == "name O"
    assert any("'stages[0].sel_a' of stage 'rdf' is now called 'select_a'" in n for n in spec.notes)
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)


# -- one message for one mistake, in the words of each place ----------------------------------------
def test_a_bad_value_reads_the_same_in_python_cli_and_yaml(capsys):
    from trajml.cli import main
    from trajml.features import RDF
    from trajml.pipelines import PipelineSpecError, parse_pipeline

    problem = "must be a float in (0, inf) Å. Got -2 instead."
    with pytest.raises(ValueError) as python:
        RDF("name Li", r_max=-2)
    assert str(python.value) == f"The 'r_max' parameter of RDF {problem}"
    with pytest.raises(SystemExit):
        main(["rdf", "--select-a", "name Li", "--r-max", "-2"])
    assert f"argument --r-max: {problem}" in capsys.readouterr().err
    with pytest.raises(PipelineSpecError) as yaml:
        parse_pipeline("inputs:\n  - bundled: spe_sample\nstages:\n  - {stage: rdf, select_a: name Li, r_max: -2}\n")
    assert f"'stages[0].r_max' of stage 'rdf' {problem}" in str(yaml.value)


def test_an_unknown_parameter_suggests_the_closest_name(capsys):
    from trajml.features import RDF
    from trajml.pipelines import PipelineSpecError, parse_pipeline

    with pytest.raises(PipelineSpecError, match=r"'stages\[0\]\.r_maxx' is not a parameter of stage 'rdf'\. "
                                                r"Did you mean 'r_max'\?"):
        parse_pipeline("inputs:\n  - bundled: spe_sample\nstages:\n  - {stage: rdf, select_a: name Li, r_maxx: 9}\n")
    with pytest.raises(ValueError, match=r"RDF has no parameter 'r_maxx'\. Did you mean 'r_max'\?"):
        RDF.validate_params({"select_a": "name Li", "r_maxx": 9})
    with pytest.raises(SystemExit):
        build_parser().parse_args(["rdf", "--select-a", "name Li", "--r-maxx", "9"])
    assert "unrecognized arguments: --r-maxx" in capsys.readouterr().err


# -- the reader options: one declaration for open_source, every analysis command and a pipeline input -----
READER_CASES = [
    ("dt", -1, ["--dt", "-1"], "must be a float in (0, inf) ps or None. Got -1 instead."),
    ("time_unit", "nm", ["--time-unit", "nm"],
     "must be a unit of time (fs, ps, ns, us, ms, s, AKMA); 'nm' is a unit of length. Got 'nm' instead."),
    ("box", [30, 30, 30], ["--box", "30", "30", "30"],
     "must be 6 numbers a b c alpha beta gamma (Å, degrees) or 9 numbers of a 3x3 box matrix (Å). "
     "Got [30, 30, 30] instead."),
    ("lammps_units", "reel", ["--lammps-units", "reel"], "Got 'reel' instead. Did you mean 'real'?"),
    ("on_damage", "skip", ["--on-damage", "skip"], "must be one of ('raise', 'truncate'). Got 'skip' instead."),
]


@pytest.mark.parametrize("name, value, argv, problem", READER_CASES, ids=[c[0] for c in READER_CASES])
def test_a_bad_reader_option_reads_the_same_in_python_cli_and_yaml(name, value, argv, problem, capsys):
    from trajml.cli import main
    from trajml.data import sample_topology, sample_trajectory
    from trajml.io import open_source
    from trajml.pipelines import PipelineSpecError, parse_pipeline

    with pytest.raises(ValueError) as python:
        open_source(sample_topology(), sample_trajectory(), **{name: value})
    assert str(python.value).startswith(f"The '{name}' parameter of open_source ") and problem in str(python.value)
    for command in ("msd", "rdf", "info"):
        with pytest.raises(SystemExit):
            main([command, *argv])
        err = capsys.readouterr().err
        assert f"argument {argv[0]}: " in err and problem in err, (command, err)
    shown = value if not isinstance(value, list) else "[" + ", ".join(map(str, value)) + "]"
    with pytest.raises(PipelineSpecError) as yaml:
        parse_pipeline(f"inputs:\n  - bundled: spe_sample\n    reader: {{{name}: {shown}}}\nstages: [info]\n")
    assert f"line 3: 'inputs[0].reader.{name}' {problem.split('. Did')[0]}" in str(yaml.value) or \
        (f"'inputs[0].reader.{name}' " in str(yaml.value) and problem in str(yaml.value))


def test_every_analysis_command_offers_the_reader_options(monkeypatch):
    from trajml.io.reader_options import READER_OPTIONS

    for name, sub in _commands().items():
        if not any(owner == "open_source" for owner, _ in sub._defaults.get("_declared", [])):
            continue
        options = _help_options(sub, monkeypatch)
        for key, p in READER_OPTIONS.items():
            assert p.cli_flag in options, f"trajml {name} lacks {p.cli_flag}"
            shown = p.none_help if p.default is None and p.none_help else cli_value_text(p.default)
            assert f"(default: {shown})" in options[p.cli_flag], (name, p.cli_flag, options[p.cli_flag])
    assert {n for n, s in _commands().items()
            if any(o == "open_source" for o, _ in s._defaults.get("_declared", []))} >= {"rdf", "msd", "info"}


def test_an_unknown_reader_key_suggests_the_closest():
    from trajml.pipelines import PipelineSpecError, parse_pipeline

    with pytest.raises(PipelineSpecError, match=r"line 3: 'inputs\[0\]\.reader\.time_units' is not a reader option\. "
                                                r"Did you mean 'time_unit'\? Reader options: backend, "):
        parse_pipeline("inputs:\n  - bundled: spe_sample\n    reader: {time_units: fs}\nstages: [info]\n")
    spec = parse_pipeline("inputs:\n  - bundled: spe_sample\n    reader: {dt: 2, box: [40, 40, 40, 90, 90, 90]}\n"
                          "stages: [info]\n")
    assert dict(spec.systems[0].reader) == {"dt": 2.0, "box": (40.0, 40.0, 40.0, 90.0, 90.0, 90.0)}
