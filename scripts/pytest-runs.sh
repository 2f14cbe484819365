#!/usr/bin/env bash
# The test suite in two pytest runs (scripts/test.sh calls this; arguments go to both):
#
#   1. every test not marked integration, on four workers forked after one collection
#      (tests/forkrun.py, --workers 4: more workers than cores, as many tests wait on
#      servers, deadlines and real processes; six took more CPU and time on two cores);
#   2. the tests marked integration (they share one test bed: real containerd, runc and
#      dockerd), in one process, one after another.
#
#   bash scripts/pytest-runs.sh tests                 # both runs
#   INSPECT8S_TEST_WORKERS=0 bash scripts/pytest-runs.sh tests   # run 1 in one process too
#
# Exit code: 0 when both passed; 5 when neither selected a test; else the first failing
# run's (a run that selected no test, as with -k, does not count as failed).
set -uo pipefail
cd "$(dirname "$0")/.."

workers="${INSPECT8S_TEST_WORKERS:-4}"

echo "== pytest: unit tests (--workers $workers)"
pytest -m "not integration" --workers "$workers" "$@"
unit=$?
echo "== pytest: integration tests (the test bed)"
pytest -m integration "$@"
integration=$?

for rc in "$unit" "$integration"; do
  if [ "$rc" != 0 ] && [ "$rc" != 5 ]; then
    exit "$rc"
  fi
done
if [ "$unit" = 5 ] && [ "$integration" = 5 ]; then
  exit 5
fi
exit 0
