"""Decoding a large CRI answer: the wire codec against protobuf + ``MessageToDict``.

    python benchmarks/cri_decode.py [--containers 500] [--runs 15]

Builds one ``ListContainersResponse`` of ``--containers`` containers shaped as containerd
answers for kubelet-made pods (ids, metadata, image, the kubelet's four labels and five
annotations), serializes it with protobuf, checks that both decoders give the same dict, then
times alternately ``FromString`` + ``MessageToDict`` (what CRIClient did) and
``wire.decode`` (what it does) on the same bytes, and prints medians. Then it times the
imports each needs (fresh interpreters, beyond ``import inspect8s.runtime``). Needs protobuf
(the test extra).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from google.protobuf.json_format import MessageToDict  # noqa: E402
from testbed import api_pb2  # noqa: E402

from inspect8s.runtime._cri import wire  # noqa: E402

# what each way imports beyond inspect8s.runtime (api_pb2 as tests/testbed/ holds it)
BASELINE = "import inspect8s.runtime"
IMPORTS = {
    "protobuf, api_pb2, json_format": f"{BASELINE}; import api_pb2; "
    "from google.protobuf import json_format",
    "wire codec and its table": f"{BASELINE}; from inspect8s.runtime._cri import wire; "
    "wire.cri_codec()",
}


def container(i: int) -> Any:
    pod_uid = f"{i:08x}-0000-4000-8000-000000000000"
    return api_pb2.Container(
        id=f"{i:064x}",
        pod_sandbox_id=f"{i * 7919:064x}",
        metadata=api_pb2.ContainerMetadata(name=f"app-{i}", attempt=i % 3),
        image=api_pb2.ImageSpec(image=f"sha256:{i * 31:064x}"),
        image_ref=f"docker.io/library/busybox@sha256:{i * 31:064x}",
        state=api_pb2.CONTAINER_RUNNING if i % 5 else api_pb2.CONTAINER_EXITED,
        created_at=1795318501598010029 + i,
        labels={
            "io.kubernetes.container.name": f"app-{i}",
            "io.kubernetes.pod.name": f"pod-{i // 2}",
            "io.kubernetes.pod.namespace": "default",
            "io.kubernetes.pod.uid": pod_uid,
        },
        annotations={
            "io.kubernetes.container.hash": f"{i:08x}",
            "io.kubernetes.container.restartCount": str(i % 3),
            "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
            "io.kubernetes.container.terminationMessagePolicy": "File",
            "io.kubernetes.pod.terminationGracePeriod": "30",
        },
        image_id=f"sha256:{i * 31:064x}",
    )


def import_ms(code: str, runs: int) -> float:
    """Median wall time of a fresh interpreter running CODE, less that of one importing
    only inspect8s.runtime."""

    def once(text: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", text], check=True, cwd=REPO / "tests" / "testbed")
        return time.perf_counter() - start

    code_times, base_times = [], []
    for _ in range(runs):
        code_times.append(once(code))
        base_times.append(once(BASELINE))
    return (statistics.median(code_times) - statistics.median(base_times)) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--runs", type=int, default=15)
    opts = parser.parse_args()

    answer = api_pb2.ListContainersResponse(
        containers=[container(i) for i in range(opts.containers)]
    )
    data = answer.SerializeToString()

    def with_protobuf() -> Any:
        return MessageToDict(api_pb2.ListContainersResponse.FromString(data))

    def with_codec() -> Any:
        return wire.decode(data, "ListContainersResponse")

    if with_codec() != with_protobuf():
        print("the two decoders disagree", file=sys.stderr)
        return 1
    ways = {"protobuf FromString + MessageToDict": with_protobuf, "wire.decode": with_codec}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(opts.runs):
        for name, way in ways.items():
            start = time.perf_counter()
            way()
            times[name].append(time.perf_counter() - start)
    print(f"ListContainersResponse of {opts.containers} containers: {len(data):,} bytes")
    for name, samples in times.items():
        print(
            f"{name:<38} median {statistics.median(samples) * 1000:6.2f} ms  "
            f"min {min(samples) * 1000:6.2f}  max {max(samples) * 1000:6.2f}"
        )
    for name, code in IMPORTS.items():
        print(f"import of {name:<29} {import_ms(code, opts.runs):6.1f} ms (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
