#!/usr/bin/env bash
# Regenerate the CRI stubs in inspect8s/runtime/_cri/ from api.proto with grpcio-tools.
#
#   bash scripts/gen_cri.sh            # rewrite the committed modules
#   bash scripts/gen_cri.sh OUTDIR     # write them to OUTDIR instead (tests/test_cri_stubs.py)
#
# grpcio-tools writes `import api_pb2` in api_pb2_grpc.py; that only works with the
# directory on sys.path, so it is rewritten to a package-relative import. The grpcio-tools
# version is pinned in pyproject.toml's test extra: other versions write other code.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
SRC=inspect8s/runtime/_cri
OUT="${1:-$SRC}"
mkdir -p "$OUT"
"$PY" -m grpc_tools.protoc -I "$SRC" \
  --python_out="$OUT" --pyi_out="$OUT" --grpc_python_out="$OUT" \
  "$SRC/api.proto"
sed -i -e 's/^import api_pb2 as api__pb2$/from . import api_pb2 as api__pb2/' "$OUT/api_pb2_grpc.py"
grep -q '^from \. import api_pb2 as api__pb2$' "$OUT/api_pb2_grpc.py" || {
  echo "gen_cri.sh: did not find the api_pb2 import to make package-relative" >&2
  exit 1
}
