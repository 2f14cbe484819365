"""Find and load the cluster configuration: kubeconfig files or the in-cluster service account.

Order, as kubectl does it: ``--kubeconfig FILE`` (one file); else every file in
``$KUBECONFIG`` (colon-separated, merged: the first file that names a cluster, user or
context wins, the last ``current-context`` wins); else ``~/.kube/config``; else, inside a
pod (``KUBERNETES_SERVICE_HOST`` set), the service account under
``/var/run/secrets/kubernetes.io/serviceaccount``.

Each kubeconfig file is checked before the ``kubernetes`` loader sees it (a mapping whose
``clusters``, ``users`` and ``contexts`` are lists of named mappings): anything else is a
usage error naming the file and the field, not a crash inside the loader. Credential exec
plugins (``users[].user.exec``) are run here, not by the loader, with a deadline
(``exec_timeout``): a plugin that does not finish in time is killed with everything it
started, and a plugin that is missing or fails is a one-line error.

The ``kubernetes`` package is imported inside the functions only: importing it costs
0.25-0.76 s, which commands that never talk to the API must not pay.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inspect8s.errors import Inspect8sError, UsageError
from inspect8s.model.frozen import frozen

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_NAMESPACE = "default"
DEFAULT_EXEC_TIMEOUT_S = 10.0
MAX_KUBECONFIG_BYTES = 16 * 1024 * 1024  # far above any real kubeconfig
MAX_EXEC_OUTPUT_BYTES = 1024 * 1024  # an ExecCredential is a few kB


class KubeConfigError(Inspect8sError):
    """No usable cluster configuration (exit 4; a bad --context or --kubeconfig is exit 2)."""


@frozen
class ClusterConfig:
    """A loaded client configuration and where it came from."""

    configuration: Any  # kubernetes.client.Configuration
    namespace: str  # the context's namespace, else "default"
    context: str | None  # None: in-cluster
    source: str  # "kubeconfig:/a:/b" | "in-cluster"

    @property
    def host(self) -> str:
        return str(self.configuration.host)


def kubeconfig_paths(
    kubeconfig: str | None, environ: Mapping[str, str] | None = None
) -> list[str] | None:
    """The kubeconfig files to merge, or None when there is none (then try in-cluster)."""
    env = os.environ if environ is None else environ
    if kubeconfig:
        return [kubeconfig]
    value = env.get("KUBECONFIG", "")
    paths = [os.path.expanduser(p) for p in value.split(os.pathsep) if p]
    if paths:
        existing = [p for p in paths if os.path.exists(p)]
        return existing or None
    home = env.get("HOME")
    default = (
        os.path.join(home, ".kube", "config") if home else os.path.expanduser("~/.kube/config")
    )
    return [default] if os.path.exists(default) else None


def load_cluster_config(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    service_account_dir: str = SERVICE_ACCOUNT_DIR,
    exec_timeout: float = DEFAULT_EXEC_TIMEOUT_S,
) -> ClusterConfig:
    """Load the client configuration the way kubectl would pick it.

    Raises UsageError (exit 2) for a kubeconfig file that does not exist, is not a
    kubeconfig, or lacks the context asked for; KubeConfigError (exit 4) when no
    configuration can be found or its credential plugin fails or takes longer than
    ``exec_timeout`` seconds.
    """
    env = os.environ if environ is None else environ
    if kubeconfig and not os.path.exists(kubeconfig):
        raise UsageError(f"kubeconfig {kubeconfig} does not exist", param="kubeconfig")
    paths = kubeconfig_paths(kubeconfig, env)
    if paths is not None:
        return _from_kubeconfig(paths, context, env, exec_timeout)
    if env.get("KUBERNETES_SERVICE_HOST"):
        if context:
            raise UsageError(
                f"context {context} needs a kubeconfig; none was found", param="context"
            )
        return _in_cluster(env, service_account_dir)
    looked = env.get("KUBECONFIG") or "~/.kube/config"
    raise KubeConfigError(
        f"no Kubernetes configuration found (looked at {looked} and for an in-cluster "
        "service account): name a kubeconfig file or set KUBECONFIG",
        param="kubeconfig",
    )


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", int: "a number",
             float: "a number", bool: "a boolean", type(None): "empty"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def check_kubeconfig(path: str) -> None:
    """Raise UsageError unless ``path`` holds a kubeconfig the loader can read: YAML, a
    mapping, ``clusters``/``users``/``contexts`` lists of mappings with a string ``name``
    and a mapping (or nothing) under ``cluster``/``user``/``context``."""
    import yaml

    try:
        with open(path, "rb") as f:
            data = f.read(MAX_KUBECONFIG_BYTES + 1)
    except OSError as exc:
        raise UsageError(
            f"cannot read kubeconfig {path}: {exc.strerror or exc}", param="kubeconfig"
        ) from None
    if len(data) > MAX_KUBECONFIG_BYTES:
        raise UsageError(
            f"kubeconfig {path} is larger than {MAX_KUBECONFIG_BYTES >> 20} MiB", param="kubeconfig"
        )
    try:
        config = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(
            f"kubeconfig {path} is not valid YAML{where}: {problem}", param="kubeconfig"
        ) from None
    except RecursionError:
        raise UsageError(f"kubeconfig {path} is nested too deeply", param="kubeconfig") from None
    if config is None:
        raise UsageError(f"kubeconfig {path} is empty", param="kubeconfig")
    if not isinstance(config, dict):
        raise UsageError(
            f"kubeconfig {path} is {_kind(config)}, not a mapping of settings", param="kubeconfig"
        )
    for section, inner in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
        entries = config.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise UsageError(
                f"kubeconfig {path}: {section} is {_kind(entries)}, not a list", param="kubeconfig"
            )
        for i, entry in enumerate(entries):
            where = f"kubeconfig {path}: {section}[{i}]"
            if not isinstance(entry, dict):
                raise UsageError(f"{where} is {_kind(entry)}, not a mapping", param="kubeconfig")
            if not isinstance(entry.get("name"), str):
                raise UsageError(f"{where} has no name", param="kubeconfig")
            if not isinstance(entry.get(inner), dict | None):
                raise UsageError(
                    f"{where}.{inner} is {_kind(entry.get(inner))}, not a mapping",
                    param="kubeconfig",
                )
    current = config.get("current-context")
    if current is not None and not isinstance(current, str):
        raise UsageError(
            f"kubeconfig {path}: current-context is {_kind(current)}", param="kubeconfig"
        )


def _from_kubeconfig(
    paths: list[str], context: str | None, env: Mapping[str, str], exec_timeout: float
) -> ClusterConfig:
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

    where = os.pathsep.join(paths)
    for path in paths:
        check_kubeconfig(path)
    try:
        merged = KubeConfigMerger(where)  # type: ignore[no-untyped-call]
    except (OSError, ValueError) as exc:  # unreadable file, YAML error
        raise UsageError(f"cannot read kubeconfig {where}: {exc}") from exc
    except ConfigException as exc:
        raise UsageError(f"invalid kubeconfig {where}: {exc}") from exc
    if merged.config is None:
        raise KubeConfigError(f"kubeconfig {where} holds no configuration")
    raw: dict[str, Any] = merged.config.value
    # Merged entries are the loader's ConfigNode wrappers; .value is the plain dict.
    entries = [getattr(c, "value", c) for c in raw.get("contexts") or ()]
    contexts = {str(c.get("name")): c.get("context") or {} for c in entries}
    chosen = context or raw.get("current-context")
    if not chosen:
        raise UsageError(
            f"kubeconfig {where} sets no current-context: name one "
            f"(one of: {', '.join(sorted(contexts)) or 'none defined'})",
            param="context",
        )
    if chosen not in contexts:
        raise UsageError(
            f"context {chosen!r} is not defined in kubeconfig {where} "
            f"(contexts: {', '.join(sorted(contexts)) or 'none'})"
        )
    _run_exec_credentials(raw, contexts[chosen], env, exec_timeout)
    configuration = type.__call__(Configuration)
    try:
        loader = KubeConfigLoader(  # type: ignore[no-untyped-call]
            config_dict=merged.config, active_context=chosen, config_base_path=None
        )
        loader.load_and_set(configuration)  # type: ignore[no-untyped-call]
    except ConfigException as exc:
        raise UsageError(f"kubeconfig {where}, context {chosen!r}: {exc}") from exc
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        # A shape the checks above let through and the loader cannot use.
        raise UsageError(
            f"kubeconfig {where}, context {chosen!r} cannot be used: {type(exc).__name__}: {exc}"
        ) from exc
    namespace = contexts[chosen].get("namespace") or DEFAULT_NAMESPACE
    return ClusterConfig(
        configuration=configuration,
        namespace=str(namespace),
        context=str(chosen),
        source=f"kubeconfig:{where}",
    )


# --------------------------------------------------------------------------- exec plugins


def _run_exec_credentials(
    raw: dict[str, Any], context: Mapping[str, Any], env: Mapping[str, str], timeout: float
) -> None:
    """Run the context user's exec plugin (if it has one) and put the credential it gives
    in place of ``exec``, so that the loader never runs a plugin itself."""
    user_name = context.get("user")
    cluster_name = context.get("cluster")
    user_node = next(
        (u for u in raw.get("users") or () if getattr(u, "value", u).get("name") == user_name),
        None,
    )
    if user_node is None:
        return
    entry = getattr(user_node, "value", user_node)
    user = entry.get("user") or {}
    spec = user.get("exec")
    if spec is None:
        return
    cluster_entry: Mapping[str, Any] = next(
        (getattr(c, "value", c) for c in raw.get("clusters") or ()
         if getattr(c, "value", c).get("name") == cluster_name),
        {},
    )  # fmt: skip
    base = os.path.dirname(getattr(user_node, "path", None) or "") or "."
    status = run_exec_plugin(
        spec, cluster=cluster_entry.get("cluster") or {}, base_dir=base, env=env, timeout=timeout
    )
    replaced = {k: v for k, v in user.items() if k != "exec"}
    if status.get("token"):
        replaced["token"] = str(status["token"])
    else:
        replaced["client-certificate-data"] = base64.b64encode(
            str(status["clientCertificateData"]).encode()
        ).decode()
        replaced["client-key-data"] = base64.b64encode(
            str(status["clientKeyData"]).encode()
        ).decode()
    new_entry = {**entry, "user": replaced}
    if hasattr(user_node, "value"):
        user_node.value = new_entry
    else:
        entry.clear()
        entry.update(new_entry)


def _exec_error(command: str, detail: str, param: str | None = None) -> KubeConfigError:
    return KubeConfigError(f"the kubeconfig's credential plugin {command} {detail}", param=param)


def run_exec_plugin(
    spec: Any,
    *,
    cluster: Mapping[str, Any],
    base_dir: str,
    env: Mapping[str, str],
    timeout: float,
) -> dict[str, Any]:
    """Run a client-go credential plugin (``client.authentication.k8s.io`` ExecCredential)
    and return its ``status`` (``token``, or ``clientCertificateData`` and
    ``clientKeyData``). The plugin and every process it started are killed after
    ``timeout`` seconds. Raises KubeConfigError (exit 4) with one line: missing binary
    (with the kubeconfig's ``installHint``), timeout, failure (first line of its stderr),
    or an answer that is not an ExecCredential."""
    if not isinstance(spec, dict) or not isinstance(spec.get("command"), str):
        raise UsageError("kubeconfig: users[].user.exec has no command")
    command = spec["command"]
    if "/" in command and not os.path.isabs(command):
        command = os.path.normpath(os.path.join(base_dir, command))  # relative to the file
    args = [str(a) for a in spec.get("args") or ()]
    api_version = str(spec.get("apiVersion") or "client.authentication.k8s.io/v1beta1")
    mode = spec.get("interactiveMode") or "IfAvailable"
    interactive = mode != "Never" and sys.stdin is not None and sys.stdin.isatty()
    request: dict[str, Any] = {"interactive": interactive}
    if spec.get("provideClusterInfo"):
        request["cluster"] = {
            key: cluster[name]
            for key, name in (("server", "server"), ("tls-server-name", "tls-server-name"),
                              ("insecure-skip-tls-verify", "insecure-skip-tls-verify"),
                              ("certificate-authority-data", "certificate-authority-data"),
                              ("proxy-url", "proxy-url"))
            if name in cluster
        }  # fmt: skip
    child_env = dict(env)
    for item in spec.get("env") or ():
        if isinstance(item, dict) and "name" in item:
            child_env[str(item["name"])] = str(item.get("value", ""))
    child_env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": api_version, "kind": "ExecCredential", "spec": request}
    )
    try:
        proc = subprocess.Popen(
            [command, *args],
            stdin=None if interactive else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=None if interactive else subprocess.PIPE,
            env=child_env,
            start_new_session=True,  # one process group: killed whole on timeout
        )
    except FileNotFoundError:
        hint = spec.get("installHint")
        more = f"; {' '.join(str(hint).split())}" if hint else ""
        raise _exec_error(command, f"was not found{more}") from None
    except OSError as exc:
        raise _exec_error(command, f"could not be started: {exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise _exec_error(
            command,
            f"did not finish within {timeout:g}s (a slow plugin needs a longer timeout)",
            param="timeout",
        ) from None
    except BaseException:
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        first = next((line for line in (err or b"").decode("utf-8", "replace").splitlines()
                      if line.strip()), "no message")  # fmt: skip
        raise _exec_error(command, f"failed (exit code {proc.returncode}): {first.strip()}")
    if len(out) > MAX_EXEC_OUTPUT_BYTES:
        raise _exec_error(command, "printed more than 1 MiB instead of an ExecCredential")
    try:
        credential = json.loads(out)
    except (ValueError, RecursionError):
        raise _exec_error(command, "did not print an ExecCredential (not JSON)") from None
    status = credential.get("status") if isinstance(credential, dict) else None
    if not isinstance(status, dict):
        raise _exec_error(command, "printed an ExecCredential without status")
    if status.get("token"):
        return status
    if status.get("clientCertificateData") and status.get("clientKeyData"):
        return status
    raise _exec_error(command, "gave neither a token nor a client certificate and key")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the plugin and whatever it started (its process group), and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        proc.communicate(timeout=5)
    except (subprocess.TimeoutExpired, OSError, ValueError):
        pass


def _in_cluster(env: Mapping[str, str], service_account_dir: str) -> ClusterConfig:
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.incluster_config import InClusterConfigLoader

    sa = Path(service_account_dir)
    configuration = type.__call__(Configuration)
    try:
        InClusterConfigLoader(  # type: ignore[no-untyped-call]
            token_filename=str(sa / "token"),
            cert_filename=str(sa / "ca.crt"),
            environ=dict(env),
        ).load_and_set(configuration)
    except (ConfigException, OSError) as exc:
        raise KubeConfigError(f"in-cluster configuration unusable ({sa}): {exc}") from exc
    try:
        namespace = (sa / "namespace").read_text().strip() or DEFAULT_NAMESPACE
    except OSError:
        namespace = DEFAULT_NAMESPACE
    return ClusterConfig(
        configuration=configuration, namespace=namespace, context=None, source="in-cluster"
    )
