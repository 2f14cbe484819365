#!/usr/bin/env bash
# Build kubectl-inspect8s (a PEX zipapp: inspect8s and its dependencies' wheels for each
# platform) and the krew archives plugins/kubectl/krew/inspect8s.yaml names:
#
#   bash scripts/build-zipapp.sh OUT                         # every platform of the manifest
#   bash scripts/build-zipapp.sh OUT --platform linux_amd64  # one
#   bash scripts/build-zipapp.sh OUT --list                  # the archive names only
#
# Writes OUT/<os>_<arch>/kubectl-inspect8s and OUT/kubectl-inspect8s_<tag>_<os>_<arch>.tar.gz
# (+ .sha256). Needs a Python with pip and pex (the project's .venv has both: the test
# extra) and PyPI. See docs/kubectl-plugin.md and scripts/build_zipapp.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
exec "$PY" scripts/build_zipapp.py --build-python "$PY" "$@"
