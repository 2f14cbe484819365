#!/usr/bin/env bash
# Build the agent image (what Containerfile describes) without a registry or a container
# engine, as an OCI image archive tagged with the default --agent-image of this version:
#
#   sudo bash scripts/build-image.sh OUT.tar [--mirror 'deb URI bookworm main' ...]
#   ctr -n k8s.io images import OUT.tar            # or: podman load -i OUT.tar
#
# Needs root, mmdebstrap and a Python with pip (the project's .venv if there is one);
# reaches only PyPI and the Debian mirror named in /etc/apt (or --mirror). See
# docs/agent.md and scripts/build_image.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
exec "$PY" scripts/build_image.py --python "$PY" "$@"
