"""Find and load the cluster configuration: kubeconfig files or the in-cluster service account.

Order, as kubectl does it: ``--kubeconfig FILE`` (one file); else every file in
``$KUBECONFIG`` (colon-separated, merged: the first file that names a cluster, user or
context wins, the last ``current-context`` wins); else ``~/.kube/config``; else, inside a
pod (``KUBERNETES_SERVICE_HOST`` set), the service account under
``/var/run/secrets/kubernetes.io/serviceaccount``.

The ``kubernetes`` package is imported inside the functions only: importing it costs
0.25-0.76 s, which commands that never talk to the API must not pay.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspect8s.errors import Inspect8sError, UsageError

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_NAMESPACE = "default"


class KubeConfigError(Inspect8sError):
    """No usable cluster configuration (exit 4; a bad --context or --kubeconfig is exit 2)."""


@dataclass(frozen=True, slots=True)
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
) -> ClusterConfig:
    """Load the client configuration the way kubectl would pick it.

    Raises UsageError (exit 2) for a kubeconfig file that does not exist or a context
    it does not define, KubeConfigError (exit 4) when no configuration can be found.
    """
    env = os.environ if environ is None else environ
    if kubeconfig and not os.path.exists(kubeconfig):
        raise UsageError(f"kubeconfig {kubeconfig} does not exist", param="kubeconfig")
    paths = kubeconfig_paths(kubeconfig, env)
    if paths is not None:
        return _from_kubeconfig(paths, context)
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


def _from_kubeconfig(paths: list[str], context: str | None) -> ClusterConfig:
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

    where = os.pathsep.join(paths)
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
    configuration = type.__call__(Configuration)
    try:
        loader = KubeConfigLoader(  # type: ignore[no-untyped-call]
            config_dict=merged.config, active_context=chosen, config_base_path=None
        )
        loader.load_and_set(configuration)  # type: ignore[no-untyped-call]
    except ConfigException as exc:
        raise UsageError(f"kubeconfig {where}, context {chosen!r}: {exc}") from exc
    namespace = contexts[chosen].get("namespace") or DEFAULT_NAMESPACE
    return ClusterConfig(
        configuration=configuration,
        namespace=str(namespace),
        context=str(chosen),
        source=f"kubeconfig:{where}",
    )


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
