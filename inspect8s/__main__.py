"""Entry point for `inspect8s`, `kubectl-inspect8s` and `python -m inspect8s`.

`--version` is answered here without importing the CLI framework, so that it stays cheap.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from inspect8s._version import __version__

        sys.stdout.write(f"inspect8s {__version__}\n")
        sys.exit(0)
    from inspect8s.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
