"""The Python examples of docs/library.md, extracted and run as written.

Every fenced ``python`` block is run, in order, in one namespace (a later example uses what
an earlier one defined, as a reader's session would).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

LIBRARY_DOC = Path(__file__).resolve().parents[1] / "docs" / "library.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def examples(path: Path = LIBRARY_DOC) -> list[str]:
    return _BLOCK.findall(path.read_text(encoding="utf-8"))


def run_examples(path: Path = LIBRARY_DOC) -> str:
    """Run every example; what they printed."""
    namespace: dict[str, object] = {"__name__": "__library_doc__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for number, code in enumerate(examples(path), start=1):
            exec(compile(code, f"{path.name} example {number}", "exec"), namespace)
    return out.getvalue()
