"""Version data for the pre-upgrade checks, in one place (update here, not in the checks).

Every table cites its source in the project's runtime-facts reference (sections 4.1-4.4);
items marked "(verify)" there say which source was used.
"""

from __future__ import annotations

import re

Version = tuple[int, ...]

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str | None) -> Version | None:
    """``"1.6.20~ds1"`` -> (1, 6, 20); ``"v1.26.4"`` -> (1, 26, 4); ``"1.26"`` -> (1, 26, 0);
    None when no ``N.N`` is found. Pre-release and distribution suffixes are ignored."""
    if not text:
        return None
    match = _VERSION.search(text)
    if match is None:
        return None
    return (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))


def kube_minor(text: str | None) -> int | None:
    """The minor of a Kubernetes version ("1.31", "v1.31.2", "1.31.2-00"); None: not 1.x."""
    parsed = parse_version(text)
    if parsed is None or parsed[0] != 1:
        return None
    return parsed[1]


def show(version: Version) -> str:
    return ".".join(str(p) for p in version)


# ``--target-version``: "1.N" or "v1.N[.P]" (a Kubernetes 1.x release), nothing else.
_TARGET = re.compile(r"^(?:1\.(\d+)|v1\.(\d+)(?:\.\d+)?)$")


def parse_target_version(text: str) -> str:
    """The one parser of ``--target-version`` for every check that has a version.

    ``"1.31"``, ``"v1.31"``, ``"v1.31.2"`` -> ``"1.31"`` (only the minor counts); anything
    else (``"banana"``, ``"1.31.2"`` without the v, ``"2.0"``) raises UsageError (exit 2)
    with a one-line message. Checks then read the minor with :func:`kube_minor`.
    """
    from inspect8s.errors import UsageError

    match = _TARGET.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise UsageError(
            f"target version {text!r}: expected a Kubernetes release like 1.31 or v1.31.2",
            param="target_version",
        )
    minor = match.group(1) or match.group(2)
    return f"1.{int(minor)}"


# --------------------------------------------------------------------------- kubelet flags

# K1: kubelet flags removed with dockershim in 1.24 (kubernetes/kubernetes#106907 release
# note; CHANGELOG-1.24 as quoted in kubernetes-sigs/sig-windows-tools#230).
FLAGS_REMOVED_1_24: tuple[str, ...] = (
    "--experimental-dockershim-root-directory",
    "--docker-endpoint",
    "--image-pull-progress-deadline",
    "--network-plugin",
    "--cni-conf-dir",
    "--cni-bin-dir",
    "--cni-cache-dir",
    "--network-plugin-mtu",
)

# K4: --container-runtime removed in 1.27 (kubernetes/kubernetes#114017).
CONTAINER_RUNTIME_FLAG_REMOVED = 27
# K6: --pod-infra-container-image removed in 1.35 (kubernetes/kubernetes#133779 and
# CHANGELOG-1.35 as cited by kubermatic/operating-system-manager#555; "(verify)": a
# sig-windows-tools note says 1.34, the Kubernetes sources say 1.35, which is used).
POD_INFRA_FLAG_REMOVED = 35
# K6: from 1.29 the kubelet takes the pinned sandbox image from the CRI (kubernetes#118544).
POD_INFRA_FLAG_NO_EFFECT = 29
# K3: dockershim removed in 1.24 (kubernetes/kubernetes#97252, KEP-2221).
DOCKERSHIM_REMOVED = 24

# --------------------------------------------------------------------------- CRI and runtimes

# R1: kubelet >= 1.26 speaks only CRI v1 (kubernetes/kubernetes#110618).
CRI_V1_REQUIRED = 26

# R2/R3: containerd releases per Kubernetes minor, as containerd RELEASES.md lists them
# ("v1.6.15+, v1.7.0+ | 1.26+ | v1" and the per-minor recommendations for 1.30-1.33); the
# 1.34 and 1.35 rows are the containerd.io releases table as transcribed in the reference
# ("(verify)"). Keys: Kubernetes minor -> {(containerd major, minor): lowest patch release}.
# A release line older than every line of the row is below the minimum; a line newer than
# every line is accepted; a line between listed lines is not judged.
_CRI_V1_ROW: dict[tuple[int, int], Version] = {
    (1, 6): (1, 6, 15),
    (1, 7): (1, 7, 0),
    (2, 0): (2, 0, 0),
}
CONTAINERD_MINIMUM: dict[int, dict[tuple[int, int], Version]] = {
    26: _CRI_V1_ROW,
    27: _CRI_V1_ROW,
    28: _CRI_V1_ROW,
    29: _CRI_V1_ROW,
    30: {(1, 6): (1, 6, 28), (1, 7): (1, 7, 13), (2, 0): (2, 0, 0), (2, 1): (2, 1, 0)},
    31: {(1, 6): (1, 6, 34), (1, 7): (1, 7, 20), (2, 0): (2, 0, 0)},
    32: {(1, 6): (1, 6, 36), (1, 7): (1, 7, 24), (2, 0): (2, 0, 1)},
    33: {(1, 6): (1, 6, 36), (1, 7): (1, 7, 24), (2, 0): (2, 0, 4)},
    34: {(1, 6): (1, 6, 36), (1, 7): (1, 7, 28), (2, 0): (2, 0, 6), (2, 1): (2, 1, 3)},
    35: {(1, 7): (1, 7, 28), (2, 1): (2, 1, 5), (2, 2): (2, 2, 0)},
}


def containerd_minimum(target_minor: int, version: Version) -> Version | None:
    """The lowest containerd release of ``version``'s line for Kubernetes ``target_minor``,
    when ``version`` is below it; None when it is fine or the table does not judge it."""
    if target_minor < min(CONTAINERD_MINIMUM):
        return None
    row = CONTAINERD_MINIMUM.get(target_minor) or CONTAINERD_MINIMUM[max(CONTAINERD_MINIMUM)]
    line = (version[0], version[1])
    if line in row:
        return row[line] if version < row[line] else None
    lines = sorted(row)
    if line < lines[0]:
        return row[lines[0]]
    return None


# R4: Kubernetes 1.35 is the last minor that supports containerd 1.x (AWS EKS 1.35 notes;
# kubernetes/kubernetes#133774).
CONTAINERD_1X_LAST_KUBERNETES = 35

# R5: CRI-O minor tracks the Kubernetes minor (cri-o README "Compatibility matrix").

# D1: containerd config versions: 1 (any), 2 (>= 1.3), 3 (>= 2.0) (containerd RELEASES.md
# "Daemon Configuration").
CONTAINERD_CONFIG_VERSION_SINCE: dict[int, Version] = {1: (1, 0, 0), 2: (1, 3, 0), 3: (2, 0, 0)}

# --------------------------------------------------------------------------- cgroups

# C3: KubeletCgroupDriverFromCRI on by default in 1.31, GA in 1.34 with the
# kubelet_cri_losing_support metric; fallback to the config planned to stop in 1.36
# (kubernetes/kubernetes#125828, #133157, #136731).
CGROUP_DRIVER_FROM_CRI = 31
CGROUP_DRIVER_FROM_CRI_LOSING_SUPPORT = 34
# C4: kubelet refuses cgroup v1 by default from 1.35 (KEP-5573, kubernetes/kubernetes#134298).
CGROUP_V1_REFUSED = 35
