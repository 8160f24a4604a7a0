"""Messages that name their fix in the user's syntax: a keyword in Python, a flag on the command line.

An error raised deep in trajml knows which option would fix it (``on_damage``, ``format``, ``box``)
but not whether the user called Python or the command line. :func:`cli_text` writes the message
both ways from one template; :func:`with_cli_text` attaches the command-line wording to the
exception, which :func:`trajml.cli._options.render_error` shows instead of ``str(exc)``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["fix_text", "cli_text", "with_cli_text"]


def fix_text(name: str, value: Any, cli: bool = False) -> str:
    """How a user sets option ``name`` to ``value``.

    ``on_damage='truncate'`` in Python, ``--on-damage truncate`` on the command line (options are
    named ``--`` + the keyword with hyphens). A str ``value`` starting with ``<`` is a placeholder
    (``<DT>``), written as is.
    """
    placeholder = isinstance(value, str) and value.startswith("<")
    if not cli:
        return f"{name}={value}" if placeholder else f"{name}={value!r}"
    flag = "--" + name.replace("_", "-")
    if placeholder:
        return f"{flag} {value}"
    from trajml._validation import cli_value_text

    text = cli_value_text(value)
    return f"{flag} {text!r}" if " " in text and not isinstance(value, (list, tuple)) else f"{flag} {text}"


def cli_text(template: str, **fixes: Any) -> tuple[str, str]:
    """A message in Python and in command-line words: ``{name}`` in ``template`` becomes each fix.

    Returns
    -------
    python, cli : str
        The two wordings. Only the named placeholders are replaced (paths in the text may hold braces).
    """
    python = cli = template
    for name, value in fixes.items():
        python = python.replace("{" + name + "}", fix_text(name, value))
        cli = cli.replace("{" + name + "}", fix_text(name, value, cli=True))
    return python, cli


def with_cli_text(exc: BaseException, cli: str) -> BaseException:
    """Attach the command-line wording of ``exc`` (its ``cli_message``) and return it."""
    exc.cli_message = cli  # type: ignore[attr-defined]
    return exc
