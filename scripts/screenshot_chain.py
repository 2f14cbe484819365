"""Write docs/chain.png: the runtime chain of one container, as `-o html` draws it.

The page is the real output of `inspect8s pod NAME --trace-runtime -o html` (by default on
the recorded cri-dockerd bundle under tests/fixtures/bundles, whose chain runs
kubelet -> cri-dockerd -> dockerd -> containerd -> shim -> runc), opened in headless
Chromium (tests/browser.py); the PNG is the first container's chain section.

    python scripts/screenshot_chain.py [--out docs/chain.png] [-- POD ARGS...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT = [
    "pod",
    "web-7d9f8-abcde",
    "-n",
    "shop",
    "--trace-runtime",
    "--from",
    "tests/fixtures/bundles/cri-dockerd-0.3",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "chain.png"))
    parser.add_argument("args", nargs="*", help="inspect8s arguments (default: the bundle)")
    opts = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tests.browser import Browser

    args = opts.args or DEFAULT
    page = subprocess.run(
        [sys.executable, "-m", "inspect8s", *args, "-o", "html"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory() as tmp, Browser(width=1100) as browser:
        path = Path(tmp) / "trace.html"
        path.write_text(page)
        report = browser.load(path)
        if report.errors:
            print("\n".join(report.errors), file=sys.stderr)
            return 1
        selector = "section.chain[data-container]:not(:first-of-type)"
        if not browser.evaluate(f"!!document.querySelector({selector!r})"):
            selector = "section.chain"
        width, height = browser.screenshot(Path(opts.out), selector=selector)
    print(f"wrote {opts.out} ({width}x{height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
