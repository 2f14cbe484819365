"""The kubelet's security settings and files: the CIS Kubernetes Benchmark 1.12 node items.

One check per item of the benchmark's worker node section (4.1 configuration files, 4.2
kubelet), IDs ``I8S-KUBELET-*`` (``I8S-PROXY-*`` for the two kube-proxy items), the CIS
number in the rationale and in the check's properties (SARIF rule properties,
``--benchmark cis``). Item numbers, flag and field names and the expected values are those
of the benchmark as kube-bench encodes it (aquasecurity/kube-bench ``cfg/cis-1.12/node.yaml``);
the table in docs/cis-kubelet.md maps each item to its check.

Every setting is judged on the kubelet's **effective** value (``nodeconfig/kubelet.py``):
the running command line, else the unit with its drop-ins and environment files, over the
``--config`` file and ``--config-dir`` drop-ins, over the defaults of the kubelet's
version. A finding names the value, the place that set it (file and line, or the env file
and ``$KUBELET_*_ARGS`` variable that passed the flag), what it overrode, and what to set
instead. With ``--kubeconfig``, the running kubelet's ``/configz`` (through the API
server's node proxy) is judged too and the finding says which source each value came from.

Unlike kube-bench, a setting left out is judged by its default: ``rotateCertificates``
defaults to false, ``podPidsLimit`` to -1, ``seccompDefault`` to false, and a kubelet
without ``--config`` keeps its flag defaults (anonymous authentication on,
``AlwaysAllow``, read-only port 10255).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from inspect8s.audit.checks.versions import kube_minor
from inspect8s.audit.registry import CheckSettings, Scope, Skip, Violation, check
from inspect8s.audit.results import Location, Severity
from inspect8s.model import ConfigValue, KubeletConfig, KubeletConfigz, KubeletFile, Snapshot
from inspect8s.model.frozen import frozen

BENCHMARK = "cis-1.12"

# 4.2.12: the strong cipher suites CIS accepts (any subset of them).
STRONG_CIPHERS = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
)


def cis(item: str) -> dict[str, str]:
    return {"benchmark": BENCHMARK, "cis": item}


# --------------------------------------------------------------------------- provenance


def _minor(version: str | None) -> int | None:
    return kube_minor(version)


def describe(value: ConfigValue, kc: KubeletConfig | None) -> str:
    """Where a value came from, in words, for a finding."""
    origin = value.origin or ("cmdline" if value.source == "cmdline" else "")
    if origin == "default":
        version = f"kubelet {kc.version}" if kc and kc.version else "the kubelet (version unknown)"
        kind = (
            "its flag default: the kubelet has no --config file"
            if kc is not None and kc.legacy_defaults
            else "the KubeletConfiguration default"
        )
        return f"not set anywhere: the default of {version}, {kind}"
    if origin == "configz":
        return "the running kubelet's /configz"
    if origin == "known-location":
        return f"found at {value.value}, where kubeadm or the distribution puts it"
    if origin == "cmdline":
        return "the running kubelet's command line (no unit file passes it)"
    where = value.where()
    if origin == "config":
        text = f"{where}, the --config file"
    elif origin == "config-drop-in":
        text = f"{where}, a --config-dir drop-in"
    elif origin == "env-file":
        text = f"{where}, ${value.via}" if value.via else where
    elif origin in ("unit", "unit-drop-in"):
        kind = "a kubelet.service drop-in" if origin == "unit-drop-in" else "kubelet.service"
        text = f"{where}, {kind}" + (f", ${value.via}" if value.via else "")
    else:
        text = where
    if value.key.startswith("-") and kc is not None and kc.flags_from == "cmdline":
        return f"the running kubelet's command line, put there by {text}"
    return text


def location(value: ConfigValue, kc: KubeletConfig | None) -> Location | None:
    """The file to edit: where the value was written, or the config file for a default."""
    if value.source.startswith("/"):
        return Location(value.source, line=value.line)
    if value.origin == "default" and kc is not None and kc.config_file:
        return Location(kc.config_file)
    return None


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def overridden(value: ConfigValue, kc: KubeletConfig | None) -> str:
    """ "; it overrides X (Y) and Z (W)" for the values this one replaced that were written
    somewhere, latest first (a default being replaced is not news)."""
    parts = [
        f"{previous.key}: {_shown(previous.value)} ({describe(previous, kc)})"
        for previous in value.overrides
        if previous.origin != "default"
    ]
    return "; it overrides " + " and ".join(parts) if parts else ""


# --------------------------------------------------------------------------- sources


@frozen
class Sources:
    """The kubelet configuration a check judges: from the node's files, from /configz."""

    files: KubeletConfig | None
    live: KubeletConfigz | None  # None: /configz not read


def sources(snap: Snapshot) -> Sources:
    """The kubelet's files and /configz; Skip when neither is there."""
    kc = snap.node_config.kubelet if snap.node_config is not None else None
    live = snap.kubelet_configz
    usable = live if live is not None and live.error is None else None
    if kc is None and usable is None:
        reasons = []
        if snap.node_config is None:
            reasons.append("node configuration not collected")
        else:
            reasons.append("no kubelet on this node (no process, unit or configuration found)")
        if live is not None and live.error:
            reasons.append(f"the kubelet's /configz was not read: {live.error}")
        raise Skip("; ".join(reasons))
    return Sources(kc, usable)


JudgeFn = Callable[[ConfigValue | None], str | None]


def judge_setting(
    snap: Snapshot, path: str, bad: JudgeFn, fix: str, *, label: str | None = None
) -> Iterator[Violation]:
    """Judge one setting in every source: ``bad(value)`` says what is wrong (None: fine).

    The value from the files is judged with its provenance; the running kubelet's
    /configz value, when read, is judged too. One finding per distinct wrong value.
    """
    src = sources(snap)
    name = label or path
    subject = f"kubelet/{path}"
    file_value = src.files.get(path) if src.files is not None else None
    live_value = src.live.get(path) if src.live is not None else None
    file_problem = bad(file_value) if src.files is not None else None
    live_problem = bad(live_value) if src.live is not None else None
    kc = src.files
    if file_problem is not None and file_value is not None:
        confirmed = (
            "; the running kubelet's /configz reports the same"
            if live_value is not None and live_value.value == file_value.value
            else ""
        )
        yield Violation(
            f"{name} is {_shown(file_value.value)}: {file_problem} ({describe(file_value, kc)})"
            f"{overridden(file_value, kc)}{confirmed}; {_remedy(file_value, bad, fix)}",
            subject=subject,
            location=location(file_value, kc),
        )
    elif file_problem is not None:
        where = f" (in {kc.config_file})" if kc is not None and kc.config_file else ""
        yield Violation(
            f"{name} is not set anywhere{where}: {file_problem}; {fix}",
            subject=subject,
            location=Location(kc.config_file) if kc is not None and kc.config_file else None,
        )
    if live_problem is None:
        return
    if file_problem is not None and (
        (live_value is None and file_value is None)
        or (
            live_value is not None
            and file_value is not None
            and live_value.value == file_value.value
        )
    ):
        return  # the same wrong value: said above
    shown = _shown(live_value.value) if live_value is not None else "not set"
    files_say = ""
    if file_value is not None:
        files_say = (
            f"; the node's files give {_shown(file_value.value)} ({describe(file_value, kc)}), "
            "so a kubelet restart would change it"
        )
    yield Violation(
        f"{name} is {shown} in the running kubelet (its /configz through the API): "
        f"{live_problem}{files_say}; {fix}",
        subject=subject,
        location=location(file_value, kc) if file_value is not None else None,
    )


def _remedy(value: ConfigValue, bad: JudgeFn, fix: str) -> str:
    """What to do: for a flag, remove it where it is written (flags win over the config
    file); when the file underneath is right, that is all."""
    if not value.key.startswith("-"):
        return fix
    where = value.where() if value.source.startswith("/") else "the kubelet's command line"
    written = (
        f"{value.key}={_shown(value.value).strip(chr(39))} from {where}"
        if value.source.startswith("/")
        else value.key
    )
    below = next(
        (o for o in value.overrides if not o.key.startswith("-") and o.origin != "default"),
        None,
    )
    if below is not None and bad(below) is None:
        return (
            f"remove {written}: the config file's {below.key}: {_shown(below.value)} then applies"
        )
    return f"remove {written} and {fix}"


def _is(expected: object, problem: str) -> JudgeFn:
    def judge(value: ConfigValue | None) -> str | None:
        if value is None or value.value != expected:
            return problem
        return None

    return judge


def _is_not(unwanted: object, problem: str) -> JudgeFn:
    def judge(value: ConfigValue | None) -> str | None:
        if value is not None and value.value == unwanted:
            return problem
        return None

    return judge


# --------------------------------------------------------------------------- files


def _octal(mode: int) -> str:
    return f"{mode:04o}"


def _file_label(item: KubeletFile, kc: KubeletConfig) -> str:
    names = {
        "unit": "the kubelet unit",
        "unit-drop-in": "the kubelet unit drop-in",
        "config": "the kubelet config file",
        "config-drop-in": "the kubelet config drop-in",
        "kubeconfig": "the kubelet's kubeconfig",
        "client-ca": "the client CA file",
    }
    text = f"{names.get(item.role, item.role)} {item.path}"
    if item.named_by is not None:
        text += f" (named by {item.named_by.key}, {describe(item.named_by, kc)})"
    return text


def judge_files(
    snap: Snapshot,
    roles: Sequence[str],
    *,
    max_mode: int | None = None,
    what: str,
) -> Iterator[Violation]:
    """Mode at most ``max_mode`` (no bit outside it), or, without ``max_mode``, owner
    root:root, of the kubelet's files of ``roles``."""
    kc = snap.node_config.kubelet if snap.node_config is not None else None
    if kc is None:
        sources(snap)  # raises the reason
        raise Skip("the kubelet's files are known only from the node (no host probe)")
    chosen = [f for f in kc.files if f.role in roles]
    if not chosen:
        raise Skip(f"the kubelet uses no {what}")
    unknown: list[str] = []
    found = 0
    for item in chosen:
        if item.mode is None or item.uid is None or item.gid is None:
            detail = item.error.detail if item.error is not None else "not read"
            kind = item.error.kind.value if item.error is not None else "unknown"
            unknown.append(f"{item.path}: {kind}: {detail}")
            continue
        label = _file_label(item, kc)
        if max_mode is not None:
            extra = item.mode & ~max_mode
            if extra:
                found += 1
                yield Violation(
                    f"{label} has mode {_octal(item.mode)}, more than {_octal(max_mode)} "
                    f"allows ({_bits(extra)}); run chmod {max_mode:o} {item.path}",
                    subject=f"kubelet/file:{item.path}",
                    location=Location(item.path),
                )
        elif item.uid != 0 or item.gid != 0:
            found += 1
            yield Violation(
                f"{label} is owned by uid {item.uid}, gid {item.gid}, not root:root; "
                f"run chown root:root {item.path}",
                subject=f"kubelet/file:{item.path}",
                location=Location(item.path),
            )
    if unknown and not found:
        raise Skip("mode and owner unknown: " + "; ".join(unknown))


def _bits(extra: int) -> str:
    who = []
    if extra & 0o7000:
        who.append("setuid/setgid/sticky")
    if extra & 0o700:
        who.append("owner " + _rwx(extra >> 6))
    if extra & 0o070:
        who.append("group " + _rwx(extra >> 3))
    if extra & 0o007:
        who.append("others " + _rwx(extra))
    return ", ".join(who)


def _rwx(bits: int) -> str:
    return "".join(c for c, b in (("r", 4), ("w", 2), ("x", 1)) if bits & b) + " too"


# --------------------------------------------------------------------------- 4.1 files


@check(
    "I8S-KUBELET-UNIT-MODE",
    title="Kubelet service file permissions wider than 600",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.1.1"),
)
def unit_mode(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.1.1: the kubelet service file must be mode 600 or more restrictive; whoever
    can edit it chooses the kubelet's flags.

    Judges ``kubelet.service`` and every drop-in systemd applies (kubeadm's
    ``10-kubeadm.conf``), as found in the unit directories, not a guessed path. Packages
    install the unit 0644, which this item rejects. Source: CIS Kubernetes Benchmark 1.12
    4.1.1 (kube-bench cfg/cis-1.12/node.yaml: ``stat -c %a``, bitmask 600).
    """
    yield from judge_files(snap, ("unit", "unit-drop-in"), max_mode=0o600, what="unit file")


@check(
    "I8S-KUBELET-UNIT-OWNER",
    title="Kubelet service file not owned by root:root",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.1.2"),
)
def unit_owner(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.1.2: the kubelet service file and its drop-ins must be owned by root:root.

    Source: CIS Kubernetes Benchmark 1.12 4.1.2 (kube-bench: ``stat -c %U:%G``).
    """
    yield from judge_files(snap, ("unit", "unit-drop-in"), what="unit file")


@check(
    "I8S-KUBELET-KUBECONFIG-MODE",
    title="Kubelet kubeconfig permissions wider than 600",
    severity=Severity.HIGH,
    scope=Scope.NODE,
    properties=cis("4.1.5"),
)
def kubeconfig_mode(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.1.5: the file named by ``--kubeconfig`` (kubeadm: /etc/kubernetes/kubelet.conf)
    holds the node's credentials to the API server; mode 600 or more restrictive.

    Source: CIS Kubernetes Benchmark 1.12 4.1.5 (kube-bench: bitmask 600).
    """
    yield from judge_files(snap, ("kubeconfig",), max_mode=0o600, what="--kubeconfig")


@check(
    "I8S-KUBELET-KUBECONFIG-OWNER",
    title="Kubelet kubeconfig not owned by root:root",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.1.6"),
)
def kubeconfig_owner(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.1.6: the ``--kubeconfig`` file must be owned by root:root.

    Source: CIS Kubernetes Benchmark 1.12 4.1.6.
    """
    yield from judge_files(snap, ("kubeconfig",), what="--kubeconfig")


@check(
    "I8S-KUBELET-CLIENTCA-MODE",
    title="Kubelet client CA file permissions wider than 644",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.1.7"),
)
def client_ca_mode(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.1.7: the certificate authorities file the kubelet trusts for client
    certificates (``authentication.x509.clientCAFile`` / ``--client-ca-file``) must be mode
    644 or more restrictive: whoever can write it can add a CA and log in to the kubelet.

    The file is the one the effective setting names, not a guessed path. Source: CIS
    Kubernetes Benchmark 1.12 4.1.7 (kube-bench: bitmask 644).
    """
    yield from judge_files(snap, ("client-ca",), max_mode=0o644, what="client CA file")


@check(
    "I8S-KUBELET-CLIENTCA-OWNER",
    title="Kubelet client CA file not owned by root:root",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.1.8"),
)
def client_ca_owner(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.1.8: the client CA file must be owned by root:root.

    Source: CIS Kubernetes Benchmark 1.12 4.1.8.
    """
    yield from judge_files(snap, ("client-ca",), what="client CA file")


@check(
    "I8S-KUBELET-CONFIG-MODE",
    title="Kubelet config file permissions wider than 600",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.1.9"),
)
def config_mode(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.1.9: the kubelet's ``--config`` file (kubeadm: /var/lib/kubelet/config.yaml),
    and here also every ``--config-dir`` drop-in it merges, must be mode 600 or more
    restrictive. kubeadm writes the file 0644, which this item rejects.

    Source: CIS Kubernetes Benchmark 1.12 4.1.9 (kube-bench: bitmask 600).
    """
    yield from judge_files(snap, ("config", "config-drop-in"), max_mode=0o600, what="--config file")


@check(
    "I8S-KUBELET-CONFIG-OWNER",
    title="Kubelet config file not owned by root:root",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.1.10"),
)
def config_owner(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.1.10: the kubelet's ``--config`` file and drop-ins must be owned by root:root.

    Source: CIS Kubernetes Benchmark 1.12 4.1.10.
    """
    yield from judge_files(snap, ("config", "config-drop-in"), what="--config file")


# --------------------------------------------------------------------------- 4.1.3 / 4.1.4


def _proxy_files(snap: Snapshot) -> KubeletFile:
    proxy = snap.node_config.kube_proxy if snap.node_config is not None else None
    if proxy is None:
        raise Skip(
            "no kube-proxy process runs on this node's host (kubeadm runs it as a pod, "
            "its kubeconfig in a ConfigMap)"
        )
    if proxy.kubeconfig is None:
        raise Skip(proxy.reason or "kube-proxy runs without a kubeconfig file")
    return proxy.kubeconfig


def _judge_proxy(snap: Snapshot, *, max_mode: int | None) -> Iterator[Violation]:
    item = _proxy_files(snap)
    if item.mode is None or item.uid is None or item.gid is None:
        detail = f"{item.error.kind.value}: {item.error.detail}" if item.error else "not read"
        raise Skip(f"mode and owner of {item.path} unknown: {detail}")
    label = f"kube-proxy's kubeconfig {item.path}"
    if item.named_by is not None:
        label += f" (named by {item.named_by.key} on its command line)"
    if max_mode is not None:
        extra = item.mode & ~max_mode
        if extra:
            yield Violation(
                f"{label} has mode {_octal(item.mode)}, more than {_octal(max_mode)} allows "
                f"({_bits(extra)}); run chmod {max_mode:o} {item.path}",
                subject=f"kube-proxy/file:{item.path}",
                location=Location(item.path),
            )
    elif item.uid != 0 or item.gid != 0:
        yield Violation(
            f"{label} is owned by uid {item.uid}, gid {item.gid}, not root:root; run chown "
            f"root:root {item.path}",
            subject=f"kube-proxy/file:{item.path}",
            location=Location(item.path),
        )


@check(
    "I8S-PROXY-KUBECONFIG-MODE",
    title="kube-proxy kubeconfig permissions wider than 600",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.1.3"),
)
def proxy_kubeconfig_mode(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.1.3: if kube-proxy runs on the host with a kubeconfig file, that file must be
    mode 600 or more restrictive. The file is the one kube-proxy's ``--kubeconfig`` names
    (or its ``--config`` file's ``clientConnection.kubeconfig``); a kube-proxy in a pod
    (kubeadm) has it in a ConfigMap, outside the host's files: skipped with the reason.

    Source: CIS Kubernetes Benchmark 1.12 4.1.3 (kube-bench: bitmask 600, Manual).
    """
    yield from _judge_proxy(snap, max_mode=0o600)


@check(
    "I8S-PROXY-KUBECONFIG-OWNER",
    title="kube-proxy kubeconfig not owned by root:root",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.1.4"),
)
def proxy_kubeconfig_owner(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.1.4: kube-proxy's kubeconfig file, if it exists on the host, must be owned
    by root:root.

    Source: CIS Kubernetes Benchmark 1.12 4.1.4 (Manual).
    """
    yield from _judge_proxy(snap, max_mode=None)


# --------------------------------------------------------------------------- 4.2 settings


@check(
    "I8S-KUBELET-ANON-AUTH",
    title="Kubelet accepts anonymous requests",
    severity=Severity.HIGH,
    scope=Scope.NODE,
    properties=cis("4.2.1"),
)
def anonymous_auth(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.2.1: ``authentication.anonymous.enabled`` (``--anonymous-auth``) must be
    false: requests that no authenticator rejects reach the kubelet's API (port 10250,
    exec, logs) as ``system:anonymous``.

    A kubelet without ``--config`` keeps the flag default, true. Source: CIS Kubernetes
    Benchmark 1.12 4.2.1; kubelet-authn-authz (kubernetes.io).
    """
    yield from judge_setting(
        snap,
        "authentication.anonymous.enabled",
        _is_not(True, "anonymous requests are served"),
        "set authentication.anonymous.enabled: false in the config file "
        "(or --anonymous-auth=false)",
    )


@check(
    "I8S-KUBELET-AUTHZ-ALWAYSALLOW",
    title="Kubelet authorizes every request (AlwaysAllow)",
    severity=Severity.HIGH,
    scope=Scope.NODE,
    properties=cis("4.2.2"),
)
def authorization_mode(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.2.2: ``authorization.mode`` (``--authorization-mode``) must not be
    ``AlwaysAllow``: every authenticated (or anonymous) caller may then exec into pods.

    ``Webhook`` asks the API server (SubjectAccessReview). A kubelet without ``--config``
    defaults to AlwaysAllow. Source: CIS Kubernetes Benchmark 1.12 4.2.2.
    """
    yield from judge_setting(
        snap,
        "authorization.mode",
        _is_not("AlwaysAllow", "every request is authorized"),
        "set authorization.mode: Webhook in the config file (or --authorization-mode=Webhook)",
    )


def _empty(problem: str) -> JudgeFn:
    def judge(value: ConfigValue | None) -> str | None:
        if value is None or not isinstance(value.value, str) or not value.value.strip():
            return problem
        return None

    return judge


@check(
    "I8S-KUBELET-CLIENT-CA",
    title="Kubelet has no client CA file",
    severity=Severity.HIGH,
    scope=Scope.NODE,
    properties=cis("4.2.3"),
)
def client_ca(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.2.3: ``authentication.x509.clientCAFile`` (``--client-ca-file``) must name
    the cluster's CA, so that the API server's client certificate is verified when it
    calls the kubelet.

    Source: CIS Kubernetes Benchmark 1.12 4.2.3.
    """
    yield from judge_setting(
        snap,
        "authentication.x509.clientCAFile",
        _empty("client certificates are not verified"),
        "set authentication.x509.clientCAFile to the cluster CA (kubeadm: "
        "/etc/kubernetes/pki/ca.crt)",
    )


def _port_open(value: ConfigValue | None) -> str | None:
    if value is None:
        return None
    if value.value == 0:
        return None
    return "the unauthenticated read-only API is served on that port"


@check(
    "I8S-KUBELET-READONLY-PORT",
    title="Kubelet serves the unauthenticated read-only port",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.2.4"),
)
def read_only_port(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.2.4: ``readOnlyPort`` (``--read-only-port``) must be 0: the read-only port
    (10255) answers without authentication (pods, their specs and environment, metrics).

    With a config file the default is 0; without ``--config`` the flag default is 10255.
    Source: CIS Kubernetes Benchmark 1.12 4.2.4.
    """
    yield from judge_setting(snap, "readOnlyPort", _port_open, "set readOnlyPort: 0")


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_duration_seconds(text: str) -> float | None:
    """A Go duration ("4h0m0s", "5m", "0") in seconds; None when it is not one."""
    text = text.strip()
    if text in ("0", "+0", "-0"):
        return 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    total, pos = 0.0, 0
    for match in _DURATION.finditer(body):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    return sign * total if pos == len(body) and body else None


def _no_timeout(value: ConfigValue | None) -> str | None:
    if value is None:
        return None
    seconds = go_duration_seconds(str(value.value))
    if seconds is None:
        return "not a duration the kubelet accepts"
    return (
        "idle streaming connections (exec, attach, port-forward) never time out"
        if (seconds == 0)
        else None
    )


@check(
    "I8S-KUBELET-STREAMING-TIMEOUT",
    title="Kubelet streaming connections never time out",
    severity=Severity.LOW,
    scope=Scope.NODE,
    properties=cis("4.2.5"),
)
def streaming_timeout(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.2.5: ``streamingConnectionIdleTimeout``
    (``--streaming-connection-idle-timeout``) must not be 0: idle exec/attach/port-forward
    sessions would stay open forever, exhausting the node. The default is 4h.

    Source: CIS Kubernetes Benchmark 1.12 4.2.5.
    """
    yield from judge_setting(
        snap,
        "streamingConnectionIdleTimeout",
        _no_timeout,
        "set streamingConnectionIdleTimeout to a duration such as 5m",
    )


@check(
    "I8S-KUBELET-IPTABLES-CHAINS",
    title="Kubelet does not manage its iptables chains",
    severity=Severity.LOW,
    scope=Scope.NODE,
    properties=cis("4.2.6"),
)
def iptables_chains(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.2.6: ``makeIPTablesUtilChains`` (``--make-iptables-util-chains``) must be
    true, so the kubelet keeps its iptables rules in line with the pods' network settings.
    The default is true.

    Source: CIS Kubernetes Benchmark 1.12 4.2.6.
    """
    yield from judge_setting(
        snap,
        "makeIPTablesUtilChains",
        _is(True, "the kubelet leaves iptables to others"),
        "set makeIPTablesUtilChains: true (or remove it: true is the default)",
    )


@check(
    "I8S-KUBELET-HOSTNAME-OVERRIDE",
    title="Kubelet runs with --hostname-override",
    severity=Severity.LOW,
    scope=Scope.NODE,
    properties=cis("4.2.7"),
)
def hostname_override(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.2.7: ``--hostname-override`` should not be set: a node name that differs from
    the host's breaks the TLS between the API server and the kubelet (the serving
    certificate names the host).

    A flag only (no config field, not in /configz): judged on the running command line and
    on what the unit would pass. Source: CIS Kubernetes Benchmark 1.12 4.2.7 (Manual).
    """
    src = sources(snap)
    kc = src.files
    if kc is None:
        raise Skip("--hostname-override is a flag: only the node's command line or unit tells")
    seen: set[str] = set()
    running = "runs with" if kc.flags_from == "cmdline" else "would start with"
    for table, state in ((kc.flags, running), (kc.unit_flags, "would start with")):
        value = table.get("--hostname-override")
        if value is None or value.where() in seen:
            continue
        seen.add(value.where())
        yield Violation(
            f"the kubelet {state} --hostname-override={value.value} ({describe(value, kc)}); "
            "remove the flag so the node is named after its host",
            subject="kubelet/--hostname-override",
            location=location(value, kc),
        )


def _event_qps(settings: CheckSettings) -> JudgeFn:
    raw = settings.options.get("event-qps-min", "0")
    try:
        floor = int(raw)
    except ValueError:
        floor = 0

    def judge(value: ConfigValue | None) -> str | None:
        if value is None:
            return None
        if isinstance(value.value, bool) or not isinstance(value.value, int):
            return "not a number the kubelet accepts"
        if value.value < 0:
            return "negative: the kubelet refuses it"
        if value.value < floor:
            return f"below the event-qps-min of {floor}: events would be dropped"
        return None

    return judge


@check(
    "I8S-KUBELET-EVENT-QPS",
    title="Kubelet event rate limit is invalid or below the set minimum",
    severity=Severity.LOW,
    scope=Scope.NODE,
    properties=cis("4.2.8"),
)
def event_qps(snap: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """CIS 4.2.8: ``eventRecordQPS`` (``--event-qps``) must be set to a level that keeps
    the events needed for security (the benchmark accepts any value >= 0; in the config
    file 0 means no limit). The default is 5 before 1.27 and 50 from 1.27.

    Option: ``--check-option event-qps-min=N`` for the lowest rate acceptable here
    (default 0). Source: CIS Kubernetes Benchmark 1.12 4.2.8 (Manual).
    """
    yield from judge_setting(
        snap,
        "eventRecordQPS",
        _event_qps(settings),
        "set eventRecordQPS to a rate that keeps security events (0: no limit)",
    )


@check(
    "I8S-KUBELET-TLS-CERT",
    title="Kubelet serves a self-signed certificate",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.2.9"),
)
def tls_cert(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.2.9: ``tlsCertFile`` and ``tlsPrivateKeyFile`` (``--tls-cert-file``,
    ``--tls-private-key-file``) must name the kubelet's serving certificate and key.
    Without them the kubelet generates a self-signed pair in its ``--cert-dir``, which no
    client can verify. A kubelet that requests its serving certificate from the cluster
    (``serverTLSBootstrap: true``) passes too.

    Source: CIS Kubernetes Benchmark 1.12 4.2.9 (Manual); kubelet reference
    (``--tls-cert-file``).
    """
    src = sources(snap)
    for view, kc, label in (
        (src.files, src.files, None),
        (src.live, src.files, "the running kubelet (its /configz)"),
    ):
        if view is None:
            continue
        cert = view.get("tlsCertFile")
        key = view.get("tlsPrivateKeyFile")
        bootstrap = view.get("serverTLSBootstrap")
        has_cert = cert is not None and isinstance(cert.value, str) and bool(cert.value)
        has_key = key is not None and isinstance(key.value, str) and bool(key.value)
        if bootstrap is not None and bootstrap.value is True:
            continue
        if has_cert and has_key:
            continue
        missing = [n for n, ok in (("tlsCertFile", has_cert), ("tlsPrivateKeyFile", has_key))
                   if not ok]  # fmt: skip
        given = cert if has_cert else key if has_key else None
        extra = f"; {given.key} is set ({describe(given, kc)})" if given is not None else ""
        who = label or "the kubelet"
        yield Violation(
            f"{who} has no {' and no '.join(missing)} and serverTLSBootstrap is not true: it "
            f"serves a self-signed certificate{extra}; set tlsCertFile and tlsPrivateKeyFile "
            "to a certificate signed by the cluster CA, or serverTLSBootstrap: true",
            subject="kubelet/tlsCertFile",
            location=Location(kc.config_file) if kc is not None and kc.config_file else None,
        )
        if label is None and src.live is not None:
            break  # the files already say it; /configz would repeat it


@check(
    "I8S-KUBELET-CERT-ROTATION",
    title="Kubelet client certificate rotation is off",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.2.10"),
)
def cert_rotation(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.2.10: ``rotateCertificates`` (``--rotate-certificates``) must not be false:
    the kubelet's client certificate then expires unrenewed and the node drops out.

    Left out, the setting is false (the KubeletConfiguration has no default for it);
    kubeadm writes ``rotateCertificates: true``. kube-bench passes an unset value; this
    check judges the effective one. Source: CIS Kubernetes Benchmark 1.12 4.2.10.
    """
    yield from judge_setting(
        snap,
        "rotateCertificates",
        _is(True, "the client certificate is not renewed"),
        "set rotateCertificates: true",
    )


@check(
    "I8S-KUBELET-SERVER-CERT-ROTATION",
    title="RotateKubeletServerCertificate feature gate is off",
    severity=Severity.LOW,
    scope=Scope.NODE,
    properties=cis("4.2.11"),
)
def server_cert_rotation(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.2.11: the ``RotateKubeletServerCertificate`` feature gate must not be false;
    it lets the kubelet renew its serving certificate (with ``serverTLSBootstrap``).

    The gate is on by default from 1.12 (beta). Source: CIS Kubernetes Benchmark 1.12
    4.2.11 (Manual); kubernetes feature-gates reference.
    """
    src = sources(snap)
    gate = "RotateKubeletServerCertificate"
    kc = src.files
    value = kc.feature_gates.get(gate) if kc is not None else None
    live = src.live.feature_gates.get(gate) if src.live is not None else None
    for given, label in ((value, None), (live, "the running kubelet's /configz")):
        if given is None or given.value is not False:
            continue
        if label is not None and value is not None and value.value is False:
            continue
        where = label or describe(given, kc)
        yield Violation(
            f"feature gate {gate} is false ({where}){overridden(given, kc)}; remove "
            f"{gate}=false from featureGates/--feature-gates (the gate is on by default)",
            subject=f"kubelet/featureGates.{gate}",
            location=location(given, kc) if label is None else None,
        )


def _ciphers(value: ConfigValue | None) -> str | None:
    if value is None or value.value in (None, [], ""):
        return "not limited: the kubelet accepts Go's default cipher suites"
    suites = value.value if isinstance(value.value, list) else [value.value]
    weak = [str(s) for s in suites if str(s) not in STRONG_CIPHERS]
    if weak:
        return "it allows suites outside the strong list: " + ", ".join(weak)
    return None


@check(
    "I8S-KUBELET-TLS-CIPHERS",
    title="Kubelet TLS cipher suites not limited to strong ones",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.2.12"),
)
def tls_ciphers(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.2.12: ``tlsCipherSuites`` (``--tls-cipher-suites``) must be a subset of
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384. Unset,
    the kubelet accepts Go's defaults.

    Source: CIS Kubernetes Benchmark 1.12 4.2.12 (Manual; the list as kube-bench encodes it).
    """
    yield from judge_setting(
        snap,
        "tlsCipherSuites",
        _ciphers,
        "set tlsCipherSuites to the strong suites (" + ",".join(STRONG_CIPHERS) + ")",
    )


def _pids(value: ConfigValue | None) -> str | None:
    if value is None:
        return "no per-pod PID limit"
    if isinstance(value.value, bool) or not isinstance(value.value, int):
        return "not a number the kubelet accepts"
    if value.value <= 0:
        return "no per-pod PID limit (a fork bomb in one pod can exhaust the node's PIDs)"
    return None


@check(
    "I8S-KUBELET-POD-PIDS",
    title="Kubelet sets no per-pod PID limit",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.2.13"),
)
def pod_pids(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.2.13: ``podPidsLimit`` (``--pod-max-pids``) must limit the processes of each
    pod. The default, -1, leaves only the node-wide limit.

    Source: CIS Kubernetes Benchmark 1.12 4.2.13 (Manual).
    """
    yield from judge_setting(
        snap, "podPidsLimit", _pids, "set podPidsLimit to a limit such as 4096"
    )


@check(
    "I8S-KUBELET-SECCOMP-DEFAULT",
    title="Kubelet does not apply RuntimeDefault seccomp by default",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
    properties=cis("4.2.14"),
)
def seccomp_default(snap: Snapshot) -> Iterator[Violation]:
    """CIS 4.2.14: ``seccompDefault`` (``--seccomp-default``) must be true, so containers
    that ask for no seccomp profile get the runtime's default instead of none.

    The field exists from 1.22 (KEP-2413); in 1.22 to 1.24 it also needs the
    ``SeccompDefault`` feature gate, on by default from 1.25. Source: CIS Kubernetes
    Benchmark 1.12 4.2.14 (Manual).
    """
    src = sources(snap)
    kc = src.files
    minor = _minor(kc.version) if kc is not None else None
    if kc is not None and minor is not None and minor < 22:
        yield Violation(
            f"kubelet {kc.version} has no seccompDefault (added in 1.22): containers without "
            "a seccomp profile run unconfined; upgrade the kubelet, then set "
            "seccompDefault: true",
            subject="kubelet/seccompDefault",
            location=Location(kc.config_file) if kc.config_file else None,
        )
        return
    found = list(
        judge_setting(
            snap,
            "seccompDefault",
            _is(True, "containers without a seccomp profile run unconfined"),
            "set seccompDefault: true",
        )
    )
    yield from found
    gate = kc.feature_gates.get("SeccompDefault") if kc is not None else None
    value = kc.get("seccompDefault") if kc is not None else None
    if (
        not found
        and kc is not None
        and minor is not None
        and minor < 25
        and value is not None
        and value.value is True
        and (gate is None or gate.value is not True)
    ):
        yield Violation(
            f"seccompDefault is true ({describe(value, kc)}) but kubelet {kc.version} also "
            "needs the SeccompDefault feature gate (alpha, off, before 1.25); set "
            "featureGates: {SeccompDefault: true}",
            subject="kubelet/featureGates.SeccompDefault",
            location=location(value, kc),
        )


@check(
    "I8S-KUBELET-PROTECT-KERNEL",
    title="Kubelet does not protect kernel defaults",
    severity=Severity.LOW,
    scope=Scope.NODE,
    properties={"cis": "4.2.6 in CIS 1.6 to 1.8; not a CIS 1.12 item"},
)
def protect_kernel_defaults(snap: Snapshot) -> Iterator[Violation]:
    """``protectKernelDefaults`` (``--protect-kernel-defaults``) makes the kubelet refuse
    to start when the kernel's tunables differ from what it expects, instead of changing
    them. Earlier CIS releases required it (4.2.6 in kube-bench's cis-1.6 to cis-1.8
    node.yaml); CIS 1.12 dropped the item, so ``--benchmark cis`` does not run this check.
    The default is false.
    """
    yield from judge_setting(
        snap,
        "protectKernelDefaults",
        _is(True, "the kubelet overrides the kernel's tunables"),
        "set protectKernelDefaults: true after setting the sysctls it expects "
        "(vm.overcommit_memory=1, kernel.panic=10, kernel.panic_on_oops=1)",
    )
