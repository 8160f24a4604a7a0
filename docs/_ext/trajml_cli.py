"""The command-line and pipeline-YAML references, generated at build time from the live code.

``reference/cli.rst`` holds each command's ``--help`` text exactly as ``trajml COMMAND --help``
prints it (at :data:`COLUMNS` columns); ``reference/pipeline_yaml.rst`` one table per registered
stage from its schema (:func:`trajml.pipelines.get_stage`). Nothing is written twice:
``tests/docs/test_cli_yaml_reference_docs.py`` compares both with the parser and the registry.
"""

from __future__ import annotations

import os
from pathlib import Path

from trajml_api import _write_if_changed

from trajml.cli import command_parsers

#: Width the help texts are formatted at (argparse reads the COLUMNS environment variable).
COLUMNS = 80


def help_texts() -> dict[str, str]:
    """``command -> its --help text`` at :data:`COLUMNS` columns (``""`` is ``trajml --help``)."""
    from trajml.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(COLUMNS)
    try:
        texts = {"": build_parser().format_help()}
        texts.update({name: p.format_help() for name, p in command_parsers().items()})
    finally:
        if old is None:
            os.environ.pop("COLUMNS")
        else:
            os.environ["COLUMNS"] = old
    return texts


def _literal(text: str) -> list[str]:
    return [".. code-block:: text", ""] + [("    " + line).rstrip() for line in text.rstrip("\n").splitlines()] + [""]


def cli_rst() -> str:
    """The reST of the command-line reference."""
    lines = [".. _cli-reference:", "", "Command-line reference", "======================", "",
             "Generated from the argument parser at build time: each block is exactly what "
             "``trajml COMMAND --help`` prints. Lengths in Å, times in ps, energies in kJ/mol. Every option "
             "has the name of the Python keyword it sets (``--r-max`` is ``r_max``) and the same default.", ""]
    for name, text in help_texts().items():
        title = f"trajml {name}".strip()
        lines += [title, "-" * len(title), ""] + _literal(text)
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def stage_rows(name: str) -> list[tuple[str, str, str, str, str, str]]:
    """``(key, kind, default, unit, allowed values, help)`` of each parameter of a stage, in schema order."""
    from trajml._validation import REQUIRED
    from trajml.pipelines import get_stage

    rows = []
    for key, param in get_stage(name).params.items():
        default = "(required)" if param.default is REQUIRED else repr(param.default)
        rows.append((key, param.kind, default, param.unit, param.constraint(), param.help))
    return rows


def yaml_rst() -> str:
    """The reST of the pipeline YAML reference."""
    from trajml.pipelines import get_stage, stage_names

    lines = [".. _yaml-reference:", "", "Pipeline YAML reference", "=======================", "",
             "Generated from the stage schemas (``trajml.pipelines.get_stage(NAME).params``) at build time. "
             "A stage entry is ``{stage: NAME, id: ..., KEY: value, ...}``; every key below is optional unless "
             "marked required, and its default, unit and check are the analysis' own (the same as the Python "
             "keyword and the command-line option). ``trajml run FILE --check`` validates a file without running "
             "it.", ""]
    for name in stage_names():
        sdef = get_stage(name)
        lines += [f"``{name}``", "-" * (len(name) + 4), ""]
        if sdef.doc:
            lines += [sdef.doc, ""]
        facts = []
        if sdef.requires:
            facts.append("requires earlier stages: " + ", ".join(f"``{r}``" for r in sdef.requires))
        if sdef.metadata:
            facts.append("reads system metadata: " + ", ".join(f"``{m}``" for m in sdef.metadata))
        if sdef.analysis:
            facts.append("parameters of: " + ", ".join(f"``{c.__module__}.{c.__name__}``" for c in sdef.analysis))
        lines += [f"- {f}" for f in facts] + ([""] if facts else [])
        lines += [".. list-table::", "   :header-rows: 1", "   :widths: 14 9 12 6 24 35", "",
                  "   * - key", "     - kind", "     - default", "     - unit", "     - allowed", "     - meaning"]
        for row in stage_rows(name):
            lines.append(f"   * - ``{row[0]}``")
            # kind and default as code: a YAML value is shown exactly as it is written
            lines += [f"     - ``{_cell(c)}``" if i in (1, 2) else f"     - {_cell(c) or ' '}"
                      for i, c in enumerate(row[1:], start=1)]
        lines += [""]
    return "\n".join(lines) + "\n"


def _generate(app) -> None:
    folder = Path(app.srcdir) / "reference"
    folder.mkdir(exist_ok=True)
    _write_if_changed(folder / "cli.rst", cli_rst())
    _write_if_changed(folder / "pipeline_yaml.rst", yaml_rst())


def setup(app):
    app.connect("builder-inited", _generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
