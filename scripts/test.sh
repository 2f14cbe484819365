#!/usr/bin/env bash
# Install everything the test suite needs, then run all of it: lint, types, unit and
# integration tests (real containerd, runc and dockerd started by the tests themselves).
#
#   bash scripts/test.sh              # everything
#   bash scripts/test.sh -k node      # extra arguments go to pytest
#
# Needs root (or sudo) for the Debian packages and for the integration tests; without root
# the integration tests skip with a reason, except under CI=true where they must run.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# chromium and a font: the headless-browser tests of the HTML pages (tests/browser.py).
# mmdebstrap and the archive keyring: scripts/build-image.sh (the agent image) in
# tests/integration/test_agent_image.py. strace: the hostile-input tests check every path
# inspect8s opens (tests/hostile/). podman and conmon: conmon monitoring runc for real
# (tests/integration/test_conmon_live.py; CRI-O's monitor, CRI-O itself is not packaged).
APT_PACKAGES=(containerd runc docker.io busybox-static iproute2 containernetworking-plugins
  chromium fonts-dejavu-core mmdebstrap debian-archive-keyring strace podman conmon)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# System services the packages may have started (containerd, docker) are left as they are:
# the tests start their own daemons on private sockets and must pass beside any others.

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
echo "== installing inspect8s with its test extra"
# editable_mode=compat: the checkout's path in a .pth file, as a plain install puts the
# package on sys.path; the default editable finder imports pathlib and more at every
# interpreter start (about 10 ms on each CLI run the tests and benchmarks make)
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' \
  --config-settings editable_mode=compat
if [ -d plugins/examples/inspect8s-example-checks ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e plugins/examples/inspect8s-example-checks
fi
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"
ruff check inspect8s tests benchmarks plugins scripts
ruff format --check inspect8s tests benchmarks plugins scripts
echo "== mypy"
mypy
echo "== pytest"
paths=(tests)
if [ -d plugins/examples/inspect8s-example-checks/tests ]; then
  paths+=(plugins/examples/inspect8s-example-checks/tests)
fi
set +e
if [ "${INSPECT8S_BUSY_HOST:-1}" = 1 ]; then
  # The suite runs on a busy host: a containerd and a dockerd on the default sockets, with
  # pods named like the tests' own (scripts/busy_host.py; it starts nothing when something
  # already serves those sockets). INSPECT8S_BUSY_HOST=0 runs it on the machine as it is.
  python scripts/busy_host.py -- bash scripts/pytest-runs.sh "${paths[@]}" "$@"
else
  bash scripts/pytest-runs.sh "${paths[@]}" "$@"
fi
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "pytest collected no test" >&2
  rc=1
fi
exit "$rc"
