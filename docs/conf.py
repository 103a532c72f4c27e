"""Sphinx configuration of the sb3-vpg docs (MyST Markdown pages, as SB3 and sb3-contrib keep theirs)."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import sb3_vpg

project = "sb3-vpg"
copyright = "2026, the sb3-vpg developers"
author = "the sb3-vpg developers"
version = release = sb3_vpg.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_parser",
]
# offline builds: no intersphinx inventories are fetched
autodoc_typehints = "description"
autodoc_member_order = "bysource"
myst_heading_anchors = 3
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
master_doc = "index"
language = "en"
exclude_patterns = ["_build", "README.md"]
pygments_style = "sphinx"
html_theme = "sphinx_rtd_theme"
html_static_path = ["_static"]

# Broken references to our own objects fail the build (warnings are errors); other projects' objects are not
# resolved offline (no intersphinx inventories), so references to them are not checked
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!sb3_vpg\.).*"), (r"py:.*", r"sb3_vpg\..*\.Self[A-Za-z]+")]
html_css_files = ["fit.css"]
html_js_files = ["fit.js"]
