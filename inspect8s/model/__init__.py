"""Frozen models: what the collectors turn raw data into. No I/O here.

Units are in field names; where a field may be ``None`` the comment on the same line
says what ``None`` means. One module per domain; every model is re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inspect8s.model.answers import PodTrace, ProcessTrace, RecordedBundle
    from inspect8s.model.chain import ContainerTrace, Link, ProcessOrigin, RuntimeChain
    from inspect8s.model.config import (
        ConfigValue,
        ContainerdConfig,
        ContainerdRuntime,
        CrictlConfig,
        CrioConfig,
        CrioRuntime,
        DeprecatedKey,
        DockerDaemonConfig,
        KubeletConfig,
        KubeletConfigz,
        KubeletFile,
        KubeProxyConfig,
        NodeConfig,
    )
    from inspect8s.model.host import (
        NAMESPACE_TYPES,
        CgroupEntry,
        CgroupLimits,
        CgroupVersion,
        ContainerIdentity,
        ContainerMount,
        Mount,
        ProcessInfo,
        QoS,
    )
    from inspect8s.model.kube import (
        OWN_POD_LABEL,
        ContainerSpec,
        KubeNode,
        Pod,
        ResourceList,
        RuntimeClass,
        Volume,
        VolumeMount,
    )
    from inspect8s.model.node import (
        Container,
        DockerEngineStatus,
        KubeletProcess,
        KubeletRuntime,
        KubeletVersion,
        NamespaceReference,
        NodeInfo,
        NodeReport,
        RuntimeCondition,
        RuntimeDaemon,
        RuntimeStatus,
        Shim,
        SocketHolder,
        SocketInfo,
        UidMapRange,
        host_uid,
    )
    from inspect8s.model.objects import ApiServerInfo, KubeObject, ServedResource, WrittenVersion
    from inspect8s.model.snapshot import Snapshot, UnreadSource

# Each name's module: a model module is imported on first use of one of its names (a
# command reads the models it needs, not all 70 of them: dataclass creation costs).
_MODULES: dict[str, str] = {
    "PodTrace": "inspect8s.model.answers",
    "ProcessTrace": "inspect8s.model.answers",
    "RecordedBundle": "inspect8s.model.answers",
    "ApiServerInfo": "inspect8s.model.objects",
    "CgroupEntry": "inspect8s.model.host",
    "CgroupLimits": "inspect8s.model.host",
    "CgroupVersion": "inspect8s.model.host",
    "ConfigValue": "inspect8s.model.config",
    "Container": "inspect8s.model.node",
    "ContainerIdentity": "inspect8s.model.host",
    "ContainerMount": "inspect8s.model.host",
    "ContainerSpec": "inspect8s.model.kube",
    "ContainerTrace": "inspect8s.model.chain",
    "ContainerdConfig": "inspect8s.model.config",
    "ContainerdRuntime": "inspect8s.model.config",
    "CrictlConfig": "inspect8s.model.config",
    "CrioConfig": "inspect8s.model.config",
    "CrioRuntime": "inspect8s.model.config",
    "DeprecatedKey": "inspect8s.model.config",
    "DockerDaemonConfig": "inspect8s.model.config",
    "DockerEngineStatus": "inspect8s.model.node",
    "KubeNode": "inspect8s.model.kube",
    "KubeObject": "inspect8s.model.objects",
    "KubeProxyConfig": "inspect8s.model.config",
    "KubeletConfig": "inspect8s.model.config",
    "KubeletConfigz": "inspect8s.model.config",
    "KubeletFile": "inspect8s.model.config",
    "KubeletProcess": "inspect8s.model.node",
    "KubeletRuntime": "inspect8s.model.node",
    "KubeletVersion": "inspect8s.model.node",
    "Link": "inspect8s.model.chain",
    "Mount": "inspect8s.model.host",
    "NAMESPACE_TYPES": "inspect8s.model.host",
    "NamespaceReference": "inspect8s.model.node",
    "NodeConfig": "inspect8s.model.config",
    "NodeInfo": "inspect8s.model.node",
    "NodeReport": "inspect8s.model.node",
    "OWN_POD_LABEL": "inspect8s.model.kube",
    "Pod": "inspect8s.model.kube",
    "ProcessInfo": "inspect8s.model.host",
    "ProcessOrigin": "inspect8s.model.chain",
    "QoS": "inspect8s.model.host",
    "ResourceList": "inspect8s.model.kube",
    "RuntimeChain": "inspect8s.model.chain",
    "RuntimeClass": "inspect8s.model.kube",
    "RuntimeCondition": "inspect8s.model.node",
    "RuntimeDaemon": "inspect8s.model.node",
    "RuntimeStatus": "inspect8s.model.node",
    "ServedResource": "inspect8s.model.objects",
    "Shim": "inspect8s.model.node",
    "Snapshot": "inspect8s.model.snapshot",
    "SocketHolder": "inspect8s.model.node",
    "SocketInfo": "inspect8s.model.node",
    "UidMapRange": "inspect8s.model.node",
    "UnreadSource": "inspect8s.model.snapshot",
    "Volume": "inspect8s.model.kube",
    "VolumeMount": "inspect8s.model.kube",
    "WrittenVersion": "inspect8s.model.objects",
    "host_uid": "inspect8s.model.node",
}

__all__ = [
    "NAMESPACE_TYPES",
    "OWN_POD_LABEL",
    "ApiServerInfo",
    "CgroupEntry",
    "CgroupLimits",
    "CgroupVersion",
    "ConfigValue",
    "Container",
    "ContainerIdentity",
    "ContainerMount",
    "ContainerSpec",
    "ContainerTrace",
    "ContainerdConfig",
    "ContainerdRuntime",
    "CrictlConfig",
    "CrioConfig",
    "CrioRuntime",
    "DeprecatedKey",
    "DockerDaemonConfig",
    "DockerEngineStatus",
    "KubeNode",
    "KubeObject",
    "KubeProxyConfig",
    "KubeletConfig",
    "KubeletConfigz",
    "KubeletFile",
    "KubeletProcess",
    "KubeletRuntime",
    "KubeletVersion",
    "Link",
    "Mount",
    "NamespaceReference",
    "NodeConfig",
    "NodeInfo",
    "NodeReport",
    "Pod",
    "PodTrace",
    "ProcessInfo",
    "ProcessOrigin",
    "ProcessTrace",
    "QoS",
    "RecordedBundle",
    "ResourceList",
    "RuntimeChain",
    "RuntimeClass",
    "RuntimeCondition",
    "RuntimeDaemon",
    "RuntimeStatus",
    "ServedResource",
    "Shim",
    "Snapshot",
    "SocketHolder",
    "SocketInfo",
    "UidMapRange",
    "UnreadSource",
    "Volume",
    "VolumeMount",
    "WrittenVersion",
    "host_uid",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'inspect8s.model' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
