"""The command-line reference is each command's ``--help``, and the YAML reference the stage schemas.

The references are generated (docs/_ext/trajml_cli.py); these tests check the generator against
what a user sees: ``trajml COMMAND --help`` run in a subprocess, and the registry's schemas, and
that the built pages hold exactly that text.
"""

from __future__ import annotations

import html
import importlib
import os
import re
import subprocess
import sys

import pytest

from tests.docs.docs_site_build import ROOT, build_site

trajml_cli = importlib.import_module("trajml_cli")


def _pre_blocks(page: str) -> list[str]:
    blocks = re.findall(r"<pre>(.*?)</pre>", page, flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", b)) for b in blocks]


@pytest.fixture(scope="module")
def help_texts():
    return trajml_cli.help_texts()


def test_every_command_is_in_the_reference(help_texts):
    from trajml.cli import COMMANDS

    assert set(COMMANDS) <= set(help_texts)
    assert "extrapolate train" in help_texts  # nested sub-commands too


@pytest.mark.parametrize("command", ["", "rdf", "msd", "run", "extrapolate train"])
def test_generated_help_equals_the_command_line(help_texts, command):
    env = {**os.environ, "COLUMNS": str(trajml_cli.COLUMNS)}
    proc = subprocess.run([sys.executable, "-m", "trajml", *command.split(), "--help"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # `python -m trajml` names the program as `trajml` does
    assert proc.stdout == help_texts[command], f"trajml {command} --help differs from the reference"


def test_built_cli_page_holds_every_help_text(help_texts):
    page = (build_site() / "reference" / "cli.html").read_text(encoding="utf-8")
    blocks = {b.rstrip("\n") for b in _pre_blocks(page)}
    missing = [name or "(trajml)" for name, text in help_texts.items()
               if "\n".join(line.rstrip() for line in text.rstrip("\n").splitlines()) not in blocks]
    assert not missing, f"commands whose --help is not on the CLI page: {missing}"


def test_yaml_reference_has_every_stage_and_key_with_its_default():
    from trajml._validation import REQUIRED
    from trajml.pipelines import get_stage, stage_names

    page = html.unescape(re.sub(r"<[^>]+>", "", (build_site() / "reference" / "pipeline_yaml.html")
                                .read_text(encoding="utf-8")))
    rst = trajml_cli.yaml_rst()
    for name in stage_names():
        assert f"``{name}``\n" in rst, f"stage {name!r} missing from the YAML reference"
        section = rst.split(f"``{name}``\n", 1)[1].split("\n``", 1)[0]
        keys = re.findall(r"^   \* - ``(\w+)``$", section, flags=re.M)
        assert keys == list(get_stage(name).params), f"stage {name!r}: keys {keys} != schema"
        for key, param in get_stage(name).params.items():
            default = "(required)" if param.default is REQUIRED else repr(param.default)
            row = section.split(f"   * - ``{key}``\n", 1)[1].split("   * - ", 1)[0]
            assert default.replace("|", "\\|") in row, f"stage {name!r} key {key!r}: default {default} not shown"
            assert param.unit in row
        assert name in page


def test_yaml_reference_follows_a_changed_schema(monkeypatch):
    from trajml.pipelines import get_stage
    from trajml.pipelines.registry import _REGISTRY

    sdef = get_stage("rdf")
    changed = dict(sdef.params)
    changed["r_max"] = changed["r_max"].replace(default=11.5)
    monkeypatch.setitem(_REGISTRY, "rdf", sdef.__class__(**{**sdef.__dict__, "params": changed}))
    row = trajml_cli.yaml_rst().split("``rdf``\n", 1)[1].split("   * - ``r_max``\n", 1)[1].split("   * - ", 1)[0]
    assert "11.5" in row
