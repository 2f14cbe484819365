"""The inspect8s test bed: a private containerd (CRI) and dockerd, and kubelet-made pods.

Usable from pytest (``tests/conftest.py``'s session fixture ``testbed``) and from plain
scripts such as benchmarks (put ``tests/`` on ``sys.path``)::

    from testbed import ContainerRequest, TestBed

    with TestBed() as bed:
        pod = bed.run_pod("web", qos="guaranteed",
                          containers=[ContainerRequest("app", memory_limit_bytes=64 << 20)])
        print(pod.container_pids["app"], bed.cri_endpoint)

See README.md here for what runs where.
"""

from .bed import (
    CRI_NAMESPACE,
    DOCKER_NAMESPACE,
    DockerHandle,
    Footprint,
    PodHandle,
    TestBed,
    TestBedError,
    TestBedUnavailable,
    leftovers,
    missing_requirements,
)
from .kubelet import ContainerRequest

__all__ = [
    "CRI_NAMESPACE",
    "DOCKER_NAMESPACE",
    "ContainerRequest",
    "DockerHandle",
    "Footprint",
    "PodHandle",
    "TestBed",
    "TestBedError",
    "TestBedUnavailable",
    "leftovers",
    "missing_requirements",
]
