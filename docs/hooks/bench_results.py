"""MkDocs hook: put the committed benchmark results into the performance page.

A page that contains the line ``<!-- bench-results -->`` gets, in its place, the content of
``bench/results/latest.md`` (written by ``python bench/run.py``) without its title, its headings
moved two levels down so that they fit under the page's own; ``<!-- bench-results NAME -->``
takes ``bench/results/NAME`` instead (the run on another interpreter). Without that file, the
page says how to produce it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

MARKER = re.compile(r"<!-- bench-results(?: ([\w.-]+\.md))? -->")
RESULTS = Path("bench") / "results"
MISSING = (
    "!!! note\n\n"
    "    No results are committed yet: run `python bench/run.py --quick` (or `make bench-quick`)."
)


def _results(root: Path, name: str) -> str:
    path = root / RESULTS / name
    if not path.is_file():
        return MISSING
    lines = path.read_text(encoding="utf-8").splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    text = "\n".join(lines).strip()
    return re.sub(r"^(#{1,4}) ", r"\1## ", text, flags=re.MULTILINE)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    root = Path(config.config_file_path).resolve().parent
    return MARKER.sub(lambda match: _results(root, match[1] or "latest.md"), markdown)
