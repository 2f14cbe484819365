"""The replay bundles of ``tests/fixtures/bundles/`` as ``inspect8s record`` writes them.

In the repository each bundle's ``host`` is a link to its node tree under
``tests/fixtures/nodes/`` (one copy of the tree for two uses). ``--from`` refuses a bundle
whose ``host`` is a link, as a bundle is data from another machine and a link out of it
would make inspect8s read this one (docs/security.md), so tests replay a copy with the
tree copied in: :func:`materialized`.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

FIXTURE_BUNDLES = Path(__file__).resolve().parent / "fixtures" / "bundles"
_made: dict[str, Path] = {}
_base: list[Path] = []


def materialized(name: str) -> Path:
    """A copy of ``tests/fixtures/bundles/<name>`` with ``host/`` a real directory; one per
    test session, removed at exit."""
    if name not in _made:
        if not _base:
            _base.append(Path(tempfile.mkdtemp(prefix="inspect8s-bundles-")))
            atexit.register(shutil.rmtree, _base[0], True)
        source = FIXTURE_BUNDLES / name
        bundle = _base[0] / name
        bundle.mkdir()
        shutil.copy(source / "bundle.json", bundle / "bundle.json")
        shutil.copytree(source / "runtime", bundle / "runtime")
        shutil.copytree((source / "host").resolve(), bundle / "host", symlinks=True)
        _made[name] = bundle
    return _made[name]
