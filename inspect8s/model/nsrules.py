"""Which namespaces a pod shares with the host, by the runtime that runs it.

A pod spec asks for three host namespaces (``hostNetwork``, ``hostPID``, ``hostIPC``); what
the runtime then gives differs, and checks that compare the kernel with the spec must know
the runtime's rule or they report the runtime's design as a finding:

* **containerd** (CRI plugin): ``hostNetwork`` leaves out the network *and the UTS*
  namespace of the sandbox spec, so the pod shares the host's hostname too; ``hostPID`` the
  PID namespace, ``hostIPC`` the IPC namespace. Source: containerd
  ``internal/cri/server/podsandbox/sandbox_run_linux.go`` (``pkg/cri/server`` before 2.0):
  ``if nsOptions.GetNetwork() == NODE { WithoutNamespace(NetworkNamespace);
  WithoutNamespace(UTSNamespace) }``; seen on the real-node-1.28-two-containerds recording
  (pod ``shop/hostns``: host ``net``, ``pid``, ``uts``).
* **CRI-O**: ``hostNetwork`` shares only the network namespace; CRI-O always pins a new UTS
  namespace for the pod ("There's no option to set hostUTS") and a new IPC namespace unless
  ``hostIPC``. Source: cri-o ``server/sandbox_run_linux.go``
  (``configureGeneratorForSandboxNamespaces``); seen on the real-crio-1.28.11 recording (pod
  ``shop/hostns``: host ``net`` and ``pid``, its own ``uts`` and ``ipc`` pinned under
  ``/run/crio-rk/ns/``).
* **cri-dockerd** (and dockershim before it): the sandbox gets ``NetworkMode host``, the
  app containers ``NetworkMode container:<sandbox>`` and, with ``hostNetwork``, ``UTSMode
  host``; ``hostPID`` gives ``PidMode host``, ``hostIPC`` ``IpcMode host``. Source:
  cri-dockerd ``core/security_context.go`` (``modifyHostOptionsForSandbox``,
  ``modifyHostOptionsForContainer``).

Any other runtime: ``hostNetwork`` shares the network namespace and may or may not share UTS
(the CRI leaves it to the runtime); the others as the spec says.
"""

from __future__ import annotations

from inspect8s.model.frozen import frozen

# spec field -> the host namespace it asks for (its first effect in every runtime)
SPEC_FIELDS: tuple[tuple[str, str], ...] = (
    ("net", "hostNetwork"),
    ("uts", "hostNetwork"),
    ("pid", "hostPID"),
    ("ipc", "hostIPC"),
)


@frozen
class HostNamespaceRule:
    """What one runtime shares with the host for a pod's host-namespace fields."""

    runtime: str  # "containerd" | "crio" | "cri-dockerd" | "other"
    network_shares_uts: bool | None  # hostNetwork also shares UTS; None: the runtime decides
    text: str  # the rule in one sentence
    source: str  # where it comes from (file of the runtime's source, a recording)

    def expected(self, host_network: bool, host_pid: bool, host_ipc: bool) -> frozenset[str]:
        """The namespaces a pod with this spec must share with the host."""
        out = set()
        if host_network:
            out.add("net")
            if self.network_shares_uts:
                out.add("uts")
        if host_pid:
            out.add("pid")
        if host_ipc:
            out.add("ipc")
        return frozenset(out)

    def optional(self, host_network: bool) -> frozenset[str]:
        """Namespaces the pod may share or not without anything being wrong."""
        return (
            frozenset({"uts"}) if host_network and self.network_shares_uts is None else frozenset()
        )


RULES: dict[str, HostNamespaceRule] = {
    "containerd": HostNamespaceRule(
        "containerd",
        True,
        "containerd shares the host's UTS namespace with a hostNetwork pod",
        "containerd internal/cri/server/podsandbox/sandbox_run_linux.go",
    ),
    "crio": HostNamespaceRule(
        "crio",
        False,
        "CRI-O gives every pod its own UTS namespace, and its own IPC namespace unless "
        "hostIPC, hostNetwork pods included",
        "cri-o server/sandbox_run_linux.go (configureGeneratorForSandboxNamespaces)",
    ),
    "cri-dockerd": HostNamespaceRule(
        "cri-dockerd",
        True,
        "cri-dockerd runs a hostNetwork pod's containers with UTSMode host",
        "cri-dockerd core/security_context.go (modifyHostOptionsForContainer)",
    ),
}
OTHER = HostNamespaceRule(
    "other",
    None,
    "hostNetwork shares the host's network namespace; whether UTS too is the runtime's choice",
    "Kubernetes CRI NamespaceOption (network NODE)",
)
_ALIASES = {"docker": "cri-dockerd", "dockershim": "cri-dockerd", "cri-o": "crio"}


def host_namespace_rule(runtime: str | None) -> HostNamespaceRule:
    """The rule of ``runtime`` (a container's ``runtime``: "containerd", "crio", "docker",
    "cri-dockerd"); :data:`OTHER` for one not listed."""
    name = _ALIASES.get(runtime or "", runtime or "")
    return RULES.get(name, OTHER)
