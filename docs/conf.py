"""Sphinx configuration of the trajml documentation.

Build (from the repository root, with the ``docs`` extra installed)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Generated at build time, never written by hand (all git-ignored): ``api/`` (one page per subject,
every public name), ``reference/cli.rst`` (each command's ``--help``), ``reference/pipeline_yaml.rst``
(the stage schemas) and ``auto_examples/`` (sphinx-gallery runs every script of ``examples/``).

Intersphinx: links to NumPy, MDAnalysis, deeptime, dask and torch-geometric need their
``objects.inv``. trajml's CI and many clusters have no internet access, so inventories are read from
``docs/_inventories/NAME.inv`` when such a file exists (drop a downloaded copy there) and are
otherwise not fetched at all: references to those projects then render as plain text instead of
links, and the build stays warning-free offline. Set ``TRAJML_DOCS_INTERSPHINX=online`` to fetch
them from the web instead (a fetch failure is then a warning, hence an error under ``-W``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))

import trajml  # noqa: E402

project = "trajml"
author = "trajml developers"
copyright = "trajml developers"
release = version = trajml.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "trajml_api",
    "trajml_cli",
]

exclude_patterns = ["_build", "README.md", "_gallery_src", "_inventories"]
templates_path: list[str] = []
smartquotes = False  # selections such as 'name Li' and YAML values must keep their straight quotes
html_theme = "pydata_sphinx_theme"
html_title = f"trajml {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "header_links_before_dropdown": 4,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_show_sourcelink = False
html_sidebars = {"reference/*": [], "index": []}  # wide pages for the --help texts and YAML tables
# No web fonts, analytics or other remote assets: the site must work offline.
html_static_path: list[str] = []

# -- autodoc / numpydoc ----------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc type lines carry shape, dtype and unit
autodoc_inherit_docstrings = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()  # tests/docs check Parameters against signatures

# -- intersphinx (offline-first; see the module docstring) -----------------------------------------
_PROJECTS = {
    "numpy": "https://numpy.org/doc/stable/",
    "mdanalysis": "https://docs.mdanalysis.org/stable/",
    "deeptime": "https://deeptime-ml.github.io/latest/",
    "dask": "https://docs.dask.org/en/stable/",
    "torch_geometric": "https://pytorch-geometric.readthedocs.io/en/latest/",
}
_ONLINE = os.environ.get("TRAJML_DOCS_INTERSPHINX", "").lower() == "online"
intersphinx_mapping = {}
for _name, _url in _PROJECTS.items():
    _local = HERE / "_inventories" / f"{_name}.inv"
    if _ONLINE:
        intersphinx_mapping[_name] = (_url, None)
    elif _local.is_file():
        intersphinx_mapping[_name] = (_url, str(_local))
intersphinx_timeout = 10

# -- sphinx-gallery: every script of examples/ is run and rendered ----------------------------------
# The scripts are copied into _gallery_src first: sphinx-gallery runs each one in its own folder,
# and the files the examples write (figures, model folders) must not land in examples/.
_GALLERY_SRC = HERE / "_gallery_src"
_GALLERY_SRC.mkdir(exist_ok=True)
for _old in _GALLERY_SRC.glob("*.py"):
    if not (ROOT / "examples" / _old.name).exists():
        _old.unlink()
for _f in [*(ROOT / "examples").glob("*.py"), ROOT / "examples" / "GALLERY_HEADER.rst"]:
    _dst = _GALLERY_SRC / _f.name
    if not _dst.exists() or _dst.read_bytes() != _f.read_bytes():
        shutil.copyfile(_f, _dst)


sphinx_gallery_conf = {
    "examples_dirs": str(_GALLERY_SRC),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",  # execute every example, not only plot_*.py
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib",),  # close figures and reset rcParams between examples
    # every build runs every example, so the numbers on the pages come from the installed trajml
    "run_stale_examples": True,
    "abort_on_example_error": False,  # run them all, then fail the build listing each one that raised
    "only_warn_on_example_error": False,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "show_signature": False,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "capture_repr": (),
    "line_numbers": True,
}
