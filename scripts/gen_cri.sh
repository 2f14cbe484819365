#!/usr/bin/env bash
# Regenerate the CRI modules from inspect8s/runtime/_cri/api.proto: with grpcio-tools the
# messages (api_pb2.py, api_pb2.pyi: protobuf) and the gRPC service stubs (api_pb2_grpc.py:
# grpcio) the tests use, in tests/testbed/; then from those messages the wire codec's table,
# inspect8s/runtime/_cri/schema.py (scripts/gen_cri_schema.py). inspect8s itself imports
# neither protobuf nor grpcio: both are test dependencies.
#
#   bash scripts/gen_cri.sh            # rewrite the committed modules
#   bash scripts/gen_cri.sh OUTDIR     # write all four to OUTDIR instead (tests/test_cri_stubs.py)
#
# grpcio-tools writes `import api_pb2` in api_pb2_grpc.py; that only works with the
# directory on sys.path, so it is rewritten to a package-relative import. The grpcio-tools
# version is pinned in pyproject.toml's test extra: other versions write other code.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
SRC=inspect8s/runtime/_cri
OUT="${1:-tests/testbed}"
SCHEMA_OUT="${1:-$SRC}"
mkdir -p "$OUT"
"$PY" -m grpc_tools.protoc -I "$SRC" \
  --python_out="$OUT" --pyi_out="$OUT" --grpc_python_out="$OUT" \
  "$SRC/api.proto"
STUBS="$OUT/api_pb2_grpc.py"
sed -i -e 's/^import api_pb2 as api__pb2$/from . import api_pb2 as api__pb2/' "$STUBS"
grep -q '^from \. import api_pb2 as api__pb2$' "$STUBS" || {
  echo "gen_cri.sh: did not find the api_pb2 import to make package-relative" >&2
  exit 1
}
"$PY" scripts/gen_cri_schema.py --pb2 "$OUT/api_pb2.py" --out "$SCHEMA_OUT/schema.py"
