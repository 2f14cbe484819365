"""A private containerd (with its CRI plugin) and dockerd, and pods made as the kubelet does.

See ``tests/testbed/README.md`` for what runs where and the traps of this machine.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from . import host, kubelet
from .images import ImageSpec, is_static_elf, oci_layout_tar, rootfs_tar
from .kubelet import ContainerRequest
from .namespace import MountNamespace

SANDBOX_IMAGE = "registry.k8s.io/pause:3.6"  # containerd 1.6's default sandbox_image
WORKLOAD_IMAGE = "docker.io/inspect8s/busybox:testbed"
DOCKER_IMAGE = "inspect8s/busybox:testbed"
CRI_NAMESPACE = "k8s.io"
DOCKER_NAMESPACE = "moby"
CNI_BIN_DIR = Path("/usr/lib/cni")  # Debian's containernetworking-plugins

FIXED_HOST_PATHS = (
    Path("/etc/docker/key.json"),  # dockerd 20.10's libtrust key; no flag moves it
    Path("/etc/docker"),
    Path("/run/containerd/s"),
    Path("/run/containerd"),
    Path("/run/docker/plugins"),
    Path("/run/docker"),
    Path("/var/lib/cni/results"),
    Path("/var/lib/cni"),
)
_CALL_TIMEOUT = 30.0


class TestBedUnavailable(RuntimeError):
    """The machine cannot run the test bed (not root, a package missing)."""


class TestBedError(RuntimeError):
    """The test bed could not start or do what it was asked; the message says why."""


def missing_requirements() -> list[str]:
    """Why the test bed cannot run here; empty when it can."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("needs root (it starts containerd and dockerd)")
    needed = {
        "containerd": "containerd",
        "ctr": "containerd",
        "containerd-shim-runc-v2": "containerd",
        "runc": "runc",
        "dockerd": "docker.io",
    }
    for binary, package in needed.items():
        if shutil.which(binary) is None:
            reasons.append(f"{binary} not on PATH (Debian package {package})")
    if not is_static_elf(Path("/bin/busybox")):
        reasons.append("/bin/busybox missing or not static (Debian package busybox-static)")
    try:
        import docker  # noqa: F401
    except ImportError:
        reasons.append("the docker Python SDK is not installed (pip install docker)")
    return reasons


@dataclass(slots=True)
class PodHandle:
    """A pod the test bed made: ids, cgroup parent, and host PIDs."""

    name: str
    namespace: str
    uid: str
    qos: str
    sandbox_id: str
    cgroup_parent: str
    sandbox_pid: int
    host_network: bool
    container_ids: dict[str, str] = field(default_factory=dict)
    container_pids: dict[str, int] = field(default_factory=dict)
    log_directory: str = ""
    netns_path: str | None = None  # None with host network

    def cgroup_path(self, container: str) -> str:
        """The container's cgroup path as /proc/<pid>/cgroup shows it (cgroupfs driver)."""
        return f"{self.cgroup_parent}/{self.container_ids[container]}"


@dataclass(slots=True)
class DockerHandle:
    """A Docker container the test bed made."""

    id: str
    name: str
    pid: int


@dataclass(slots=True)
class Footprint:
    """What a test bed has on the host; ``leftovers`` checks that none of it remains."""

    base_dir: str
    daemon_pids: list[tuple[int, str | None]]
    container_pids: list[tuple[int, str | None]]
    cgroups: list[str]  # relative cgroup paths (in every hierarchy)
    cgroup_parents_created: list[str]


def leftovers(footprint: Footprint) -> list[str]:
    """Anything of FOOTPRINT still on the host: processes, mounts, cgroups, directories."""
    found = []
    for pid, started in footprint.daemon_pids + footprint.container_pids:
        if host.pid_alive(pid, started):
            found.append(f"process {pid} still running")
    for pid in host.pids_referencing(footprint.base_dir):
        found.append(f"process {pid} refers to {footprint.base_dir}")
    for point in host.mounts_under(Path(footprint.base_dir)):
        found.append(f"mount {point}")
    for rel in footprint.cgroups + footprint.cgroup_parents_created:
        for d in host.cgroup_dirs(rel):
            found.append(f"cgroup {d}")
    if os.path.exists(footprint.base_dir):
        found.append(f"directory {footprint.base_dir}")
    return found


class TestBed:
    """A private containerd with CRI, a private dockerd on it, and helpers to fill them.

    Use as a context manager (``with TestBed() as bed:``) or call :meth:`start` and
    :meth:`close`. Nothing is shared with a containerd or dockerd the machine may run:
    sockets, roots, state, runc state and logs all live under :attr:`base_dir`.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        *,
        docker: bool = True,
        base_parent: str = "/tmp",
        mount_ns: MountNamespace | None = None,
        paths: Mapping[str, str] | None = None,
        config_flag: bool = True,
        containerd_in_daemon_json: bool = False,
    ) -> None:
        """``mount_ns`` runs the daemons in a private mount namespace the test owns, where
        ``paths`` may put sockets, state and configuration at any path (the default socket
        paths included) without touching the host's: keys ``containerd_config``,
        ``containerd_socket``, ``containerd_state``, ``runc_root``, ``docker_socket``,
        ``docker_exec_root``, each a path as the daemons see it. ``config_flag=False``
        starts containerd without ``--config``, so it reads its default config path;
        ``containerd_in_daemon_json`` names containerd's socket to dockerd in its
        daemon.json (``"containerd"``) instead of with ``--containerd``."""
        self.with_docker = docker
        self.mount_ns = mount_ns
        self.config_flag = config_flag
        self.containerd_in_daemon_json = containerd_in_daemon_json
        self.base_dir = Path(tempfile.mkdtemp(prefix="i8s-tb-", dir=base_parent))
        b = self.base_dir
        given = {k: Path(v) for k, v in (paths or {}).items()}
        self.containerd_config = given.get("containerd_config", b / "containerd" / "config.toml")
        self.containerd_socket = given.get(
            "containerd_socket", b / "containerd" / "containerd.sock"
        )
        self.containerd_root = b / "containerd" / "root"
        self.containerd_state = given.get("containerd_state", b / "containerd" / "state")
        # runc state of CRI pods: <root>/k8s.io/<id>
        self.runc_root = given.get("runc_root", b / "containerd" / "runc")
        self.cni_conf_dir = b / "cni" / "net.d"
        self.docker_socket = given.get("docker_socket", b / "docker" / "docker.sock")
        self.docker_data_root = b / "docker" / "data"
        self.docker_exec_root = given.get("docker_exec_root", b / "docker" / "exec")
        self.docker_pidfile = b / "docker" / "docker.pid"
        self.docker_runc_root = self.docker_exec_root / "runtime-runc"  # <root>/moby/<id>
        self.kubelet_dir = b / "kubelet"
        self.log_dir = b / "logs"
        self.sandbox_image = SANDBOX_IMAGE
        self.workload_image = WORKLOAD_IMAGE
        self.docker_image = DOCKER_IMAGE
        self.workload_image_id = ""
        self._image_ids: dict[str, str] = {}  # image reference -> CRI image ID
        self.pods: dict[str, PodHandle] = {}
        self.docker_containers: dict[str, DockerHandle] = {}
        self._containerd: subprocess.Popen[bytes] | None = None
        self._dockerd: subprocess.Popen[bytes] | None = None
        self._daemon_starts: dict[int, str | None] = {}
        self._container_pids: list[tuple[int, str | None]] = []
        self._cgroups: list[str] = []
        self._parents_created: list[str] = []
        # Paths the daemons make at fixed places whatever their configured roots: dockerd's
        # trust key and plugin discovery dir, containerd's shim sockets, libcni's result
        # cache. close() removes those that did not exist before (directories once empty).
        self._fixed_paths = (
            [] if mount_ns is not None else [p for p in FIXED_HOST_PATHS if not p.exists()]
        )
        self._channel: Any = None
        self.runtime: Any = None  # raw runtime.v1 RuntimeServiceStub
        self.images: Any = None  # raw runtime.v1 ImageServiceStub
        self.docker: Any = None  # docker.DockerClient
        self.private_network = False

    # -- paths --------------------------------------------------------------------------

    def here(self, path: Path | str) -> Path:
        """Where this process reaches a path the daemons use (their mount namespace's)."""
        return self.mount_ns.here(path) if self.mount_ns is not None else Path(path)

    def _daemon(self, args: list[str]) -> list[str]:
        """A daemon's command line, run in the bed's mount namespace when it has one."""
        return [*self.mount_ns.exec_prefix, *args] if self.mount_ns is not None else args

    # -- endpoints ------------------------------------------------------------------------

    @property
    def cri_endpoint(self) -> str:
        return f"unix://{self.containerd_socket}"

    @property
    def docker_endpoint(self) -> str:
        return f"unix://{self.docker_socket}"

    @property
    def containerd_pid(self) -> int | None:
        return self._containerd.pid if self._containerd else None

    @property
    def dockerd_pid(self) -> int | None:
        return self._dockerd.pid if self._dockerd else None

    # -- start --------------------------------------------------------------------------

    def __enter__(self) -> TestBed:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start containerd, import the images, start dockerd; clean up if any step fails."""
        reasons = missing_requirements()
        if reasons:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            raise TestBedUnavailable("; ".join(reasons))
        try:
            self._start_containerd()
            self._import_images()
            if self.with_docker:
                self._start_dockerd()
        except BaseException:
            self.close()
            raise

    def _write_containerd_config(self) -> None:
        for d in (self.here(self.containerd_config.parent), self.cni_conf_dir, self.kubelet_dir,
                  self.log_dir):  # fmt: skip
            d.mkdir(parents=True, exist_ok=True)
        interface = host.default_route_interface()
        self.private_network = (
            interface is not None
            and (CNI_BIN_DIR / "macvlan").exists()
            and (CNI_BIN_DIR / "host-local").exists()
        )
        if self.private_network:
            # A pod network without touching the host: a macvlan child of the default-route
            # interface, created inside the pod's netns (no host-side device, no sysctl
            # change), addresses from a private host-local store. 198.18.0.0/15 is reserved
            # for benchmarking (RFC 2544); each bed takes a random /24 of it.
            subnet = f"198.{18 + secrets.randbelow(2)}.{secrets.randbelow(256)}.0/24"
            conflist = {
                "cniVersion": "1.0.0",
                "name": "inspect8s-testbed",
                "plugins": [
                    {
                        "type": "macvlan",
                        "master": interface,
                        "mode": "bridge",
                        "ipam": {
                            "type": "host-local",
                            "dataDir": str(self.base_dir / "cni" / "ipam"),
                            "ranges": [[{"subnet": subnet}]],
                        },
                    }
                ],
            }
            (self.cni_conf_dir / "10-testbed.conflist").write_text(json.dumps(conflist))
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        self.here(self.containerd_config).write_text(
            f"""version = 2
root = "{self.containerd_root}"
state = "{self.containerd_state}"
oom_score = 0

[grpc]
  address = "{self.containerd_socket}"

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "{self.base_dir / "containerd" / "opt"}"
  [{cri}]
    sandbox_image = "{self.sandbox_image}"
    # runc cannot lower oom_score_adj here (no CAP_SYS_RESOURCE); without this every
    # RunPodSandbox fails with "can't get final child's PID from pipe: EOF".
    restrict_oom_score_adj = true
    # Pod network namespaces under the private state dir, not /run/netns.
    netns_mounts_under_state_dir = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_selinux = false
    [{cri}.containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [{cri}.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [{cri}.containerd.runtimes.runc.options]
          SystemdCgroup = false
          Root = "{self.runc_root}"
    [{cri}.cni]
      bin_dir = "{CNI_BIN_DIR}"
      conf_dir = "{self.cni_conf_dir}"
      max_conf_num = 1
"""
        )

    def _start_containerd(self) -> None:
        import grpc

        from . import api_pb2, api_pb2_grpc

        self._write_containerd_config()
        log = open(self.base_dir / "containerd.log", "wb")  # noqa: SIM115 - closed by the child
        # --address as well as the config's [grpc] address: node discovery reads the socket
        # from the daemon's command line, as it does on a node.
        args = ["containerd", "--config", str(self.containerd_config),
                "--address", str(self.containerd_socket)]  # fmt: skip
        self._containerd = subprocess.Popen(
            self._daemon(args if self.config_flag else args[:1]),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in the terminal must not kill it before teardown
        )
        log.close()
        self._daemon_starts[self._containerd.pid] = host.pid_start_time(self._containerd.pid)
        self._channel = grpc.insecure_channel(
            f"unix:{self.here(self.containerd_socket)}", options=[("grpc.enable_http_proxy", 0)]
        )
        stubs: Any = api_pb2_grpc  # generated without annotations
        self.runtime = stubs.RuntimeServiceStub(self._channel)
        self.images = stubs.ImageServiceStub(self._channel)
        deadline = time.monotonic() + 30
        while True:
            if self._containerd.poll() is not None:
                raise TestBedError(f"containerd exited: {self._log_tail('containerd.log')}")
            try:
                self.runtime.Version(api_pb2.VersionRequest(), timeout=1.0, wait_for_ready=True)
                return
            except grpc.RpcError as exc:
                if time.monotonic() > deadline:
                    raise TestBedError(
                        f"containerd CRI did not answer in 30 s ({exc.code()}): "
                        f"{self._log_tail('containerd.log')}"
                    ) from None
                time.sleep(0.05)

    def _log_tail(self, name: str, lines: int = 15) -> str:
        try:
            return "\n".join((self.base_dir / name).read_text().splitlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"

    def _run(self, args: list[str], *, data: bytes | None = None) -> None:
        done = subprocess.run(args, input=data, capture_output=True, timeout=120, check=False)
        if done.returncode != 0:
            raise TestBedError(f"{' '.join(args)} failed: {done.stderr.decode(errors='replace')}")

    def _import_images(self) -> None:
        archive = self.base_dir / "images.oci.tar"
        archive.write_bytes(
            oci_layout_tar(
                [
                    ImageSpec(self.sandbox_image, ("/bin/sleep", "infinity")),
                    ImageSpec(self.workload_image, ("/bin/sh",)),
                ]
            )
        )
        self.workload_image_id = self.import_image(archive, self.workload_image)
        archive.unlink()

    def import_image(self, archive: Path, name: str) -> str:
        """Import an OCI image archive into the bed's containerd (CRI namespace), as a
        node gets an image it cannot pull; return the image ID CRI gives ``name``."""
        self._run(
            ["ctr", "-a", str(self.here(self.containerd_socket)), "-n", CRI_NAMESPACE, "images",
             "import",
             str(archive)]
        )  # fmt: skip
        image_id = self._image_id(name)
        if not image_id:
            raise TestBedError(f"containerd does not list {name} after importing {archive}")
        return image_id

    def _image_id(self, name: str) -> str:
        from . import api_pb2

        if name not in self._image_ids:
            status = self.images.ImageStatus(
                api_pb2.ImageStatusRequest(image=api_pb2.ImageSpec(image=name)),
                timeout=_CALL_TIMEOUT,
            )
            if not status.image.id:
                return ""
            self._image_ids[name] = status.image.id
        return self._image_ids[name]

    def _start_dockerd(self) -> None:
        import docker

        for d in (self.docker_data_root, self.here(self.docker_exec_root)):
            d.mkdir(parents=True, exist_ok=True)
        daemon_json = self.base_dir / "docker" / "daemon.json"
        # never read the machine's /etc/docker/daemon.json
        settings = {"containerd": str(self.containerd_socket)}
        daemon_json.write_text(json.dumps(settings if self.containerd_in_daemon_json else {}))
        containerd_flag = [] if self.containerd_in_daemon_json else ["--containerd"]
        containerd_flag += [] if self.containerd_in_daemon_json else [str(self.containerd_socket)]
        log = open(self.base_dir / "dockerd.log", "wb")  # noqa: SIM115 - closed by the child
        self._dockerd = subprocess.Popen(
            self._daemon(
                [
                    "dockerd",
                    *containerd_flag,
                    "--config-file",
                    str(daemon_json),
                    "--data-root",
                    str(self.docker_data_root),
                    "--exec-root",
                    str(self.docker_exec_root),
                    "--pidfile",
                    str(self.docker_pidfile),
                    "-H",
                    self.docker_endpoint,
                    "--iptables=false",
                    "--ip-masq=false",
                    "--bridge=none",
                    "--userland-proxy=false",
                    "--exec-opt",
                    "native.cgroupdriver=cgroupfs",
                    "--log-level",
                    "warn",
                ]
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self._daemon_starts[self._dockerd.pid] = host.pid_start_time(self._dockerd.pid)
        # A fixed API version: the client must not ask the daemon before it listens.
        # 1.41 is dockerd 20.10's; newer daemons still serve it.
        self.docker = docker.DockerClient(
            base_url=f"unix://{self.here(self.docker_socket)}", version="1.41", timeout=60
        )
        deadline = time.monotonic() + 60
        while True:
            if self._dockerd.poll() is not None:
                raise TestBedError(f"dockerd exited: {self._log_tail('dockerd.log')}")
            if self.here(self.docker_socket).exists():
                try:
                    self.docker.ping()
                    break
                except docker.errors.APIError:
                    pass
                except Exception as exc:  # requests' connection errors: not up yet
                    if time.monotonic() > deadline:
                        raise TestBedError(f"dockerd did not answer: {exc}") from None
            if time.monotonic() > deadline:
                raise TestBedError(f"dockerd did not start: {self._log_tail('dockerd.log')}")
            time.sleep(0.1)
        repo, tag = self.docker_image.rsplit(":", 1)
        self.docker.api.import_image_from_data(rootfs_tar(), repository=repo, tag=tag)

    # -- pods -----------------------------------------------------------------------------

    def run_pod(
        self,
        name: str,
        namespace: str = "default",
        qos: str = "burstable",
        containers: Sequence[ContainerRequest] | None = None,
        *,
        host_network: bool = True,
        host_pid: bool = False,
        host_ipc: bool = False,
        privileged: bool = False,
        uid: int | None = None,
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
        pod_uid: str | None = None,
    ) -> PodHandle:
        """Create and start a pod through CRI the way the kubelet 1.26 does.

        The pod gets the kubelet's labels and annotations, a QoS cgroup parent made and
        limited as the kubelet makes it, and each container the kubelet's resources,
        security context, /etc/hosts and termination-log mounts. ``privileged`` makes every
        container privileged; ``uid`` is every container's runAsUser. ``host_network=False``
        gives the pod its own network namespace (a macvlan interface, see README.md).
        ``pod_uid`` is the pod's UID (the API server's; default: a new one).
        ``kubelet.pod_request(pod)`` gives these arguments for a Pod object.
        """
        from . import api_pb2 as pb

        if containers is None:
            containers = [ContainerRequest("app")]
        if not host_network and not self.private_network:
            raise TestBedError(
                "pods without host network need the CNI plugins macvlan and host-local in "
                f"{CNI_BIN_DIR} (Debian package containernetworking-plugins) and a default route"
            )
        pod_uid = pod_uid or str(uuid.uuid4())
        cgroup_parent = kubelet.qos_parent(qos, pod_uid)
        pod_dir = self.kubelet_dir / "pods" / pod_uid
        pod_dir.mkdir(parents=True)
        log_directory = self.log_dir / f"{namespace}_{name}_{pod_uid}"
        log_directory.mkdir(parents=True)
        etc_hosts = pod_dir / "etc-hosts"
        etc_hosts.write_text(
            Path("/etc/hosts").read_text() if host_network else "127.0.0.1\tlocalhost\n"
        )
        self._make_pod_cgroup(qos, cgroup_parent, containers)

        ns = kubelet.namespace_option(pb, host_network, host_pid, host_ipc)
        sandbox_config = kubelet.sandbox_config(
            pb,
            name=name,
            namespace=namespace,
            uid=pod_uid,
            cgroup_parent=cgroup_parent,
            log_directory=str(log_directory),
            ns=ns,
            host_network=host_network,
            privileged=privileged or any(c.privileged for c in containers),
            labels=labels or {},
            annotations=annotations or {},
        )
        created = self.runtime.RunPodSandbox(
            pb.RunPodSandboxRequest(config=sandbox_config), timeout=_CALL_TIMEOUT
        )
        sandbox_id = created.pod_sandbox_id
        status = self.runtime.PodSandboxStatus(
            pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id, verbose=True),
            timeout=_CALL_TIMEOUT,
        )
        sandbox_info = json.loads(status.info["info"])
        handle = PodHandle(
            name=name,
            namespace=namespace,
            uid=pod_uid,
            qos=qos,
            sandbox_id=sandbox_id,
            cgroup_parent=cgroup_parent,
            sandbox_pid=int(sandbox_info["pid"]),
            host_network=host_network,
            log_directory=str(log_directory),
            netns_path=None if host_network else self._netns_of(sandbox_info),
        )
        self.pods[sandbox_id] = handle
        self._track_pid(handle.sandbox_pid)
        for request in containers:
            self._start_container(
                pb, handle, sandbox_config, request, pod_dir, etc_hosts, ns, privileged, uid
            )
        return handle

    @staticmethod
    def _netns_of(sandbox_info: dict[str, Any]) -> str | None:
        for entry in sandbox_info.get("runtimeSpec", {}).get("linux", {}).get("namespaces", []):
            if entry.get("type") == "network":
                path = entry.get("path")
                return str(path) if path else None
        return None

    def _note_parent(self, parent: str) -> None:
        # A parent cgroup (/kubepods, /kubepods/burstable, /docker) that exists in no
        # hierarchy yet is about to be made for this bed; close() removes it if empty.
        if parent not in self._parents_created and not host.cgroup_dirs(parent):
            self._parents_created.append(parent)

    def _make_pod_cgroup(
        self, qos: str, cgroup_parent: str, containers: Sequence[ContainerRequest]
    ) -> None:
        self._cgroups.append(cgroup_parent)
        parents = ["/kubepods"] if qos == "guaranteed" else ["/kubepods", f"/kubepods/{qos}"]
        for parent in parents:
            self._note_parent(parent)
        kubelet.write_pod_cgroup(qos, cgroup_parent, containers)

    def _start_container(
        self,
        pb: Any,
        handle: PodHandle,
        sandbox_config: Any,
        request: ContainerRequest,
        pod_dir: Path,
        etc_hosts: Path,
        ns: Any,
        privileged: bool,
        uid: int | None,
    ) -> None:
        term_dir = pod_dir / "containers" / request.name
        term_dir.mkdir(parents=True)
        termination_log = term_dir / secrets.token_hex(4)
        termination_log.touch()
        (Path(handle.log_directory) / request.name).mkdir()
        mounts = [
            pb.Mount(
                container_path=m[1],
                host_path=m[0],
                readonly=m[2],
                propagation=pb.MountPropagation.Value(
                    m[3] if len(m) > 3 else "PROPAGATION_PRIVATE"  # type: ignore[misc]
                ),
            )
            for m in request.mounts
        ]
        mounts += [
            pb.Mount(container_path="/etc/hosts", host_path=str(etc_hosts)),
            pb.Mount(container_path="/dev/termination-log", host_path=str(termination_log)),
        ]
        config = kubelet.container_config(
            pb,
            request,
            pod_name=handle.name,
            pod_namespace=handle.namespace,
            pod_uid=handle.uid,
            qos=handle.qos,
            image=self._container_image(request),
            mounts=mounts,
            ns=ns,
            privileged=privileged or request.privileged,
            uid=uid,
        )
        created = self.runtime.CreateContainer(
            pb.CreateContainerRequest(
                pod_sandbox_id=handle.sandbox_id, config=config, sandbox_config=sandbox_config
            ),
            timeout=_CALL_TIMEOUT,
        )
        container_id = created.container_id
        handle.container_ids[request.name] = container_id
        self.runtime.StartContainer(
            pb.StartContainerRequest(container_id=container_id), timeout=_CALL_TIMEOUT
        )
        status = self.runtime.ContainerStatus(
            pb.ContainerStatusRequest(container_id=container_id, verbose=True),
            timeout=_CALL_TIMEOUT,
        )
        pid = int(json.loads(status.info["info"])["pid"])
        handle.container_pids[request.name] = pid
        self._track_pid(pid)

    def wait_exited(self, handle: PodHandle, container: str, timeout: float = 120.0) -> int:
        """Wait until a container of ``handle`` has exited; its exit code."""
        from . import api_pb2 as pb

        deadline = time.monotonic() + timeout
        while True:
            status = self.runtime.ContainerStatus(
                pb.ContainerStatusRequest(container_id=handle.container_ids[container]),
                timeout=_CALL_TIMEOUT,
            ).status
            if status.state == pb.CONTAINER_EXITED:
                return int(status.exit_code)
            if time.monotonic() > deadline:
                raise TestBedError(f"{handle.name}/{container} still running after {timeout} s")
            time.sleep(0.1)

    @staticmethod
    def container_log(
        handle: PodHandle, container: str, streams: Sequence[str] = ("stdout", "stderr")
    ) -> str:
        """A container's first run's log as ``kubectl logs`` gives it (the lines of
        ``streams`` in the order written), from its CRI log file.

        CRI log lines are ``<time> <stream> <P|F> <text>``: P is a partial line whose
        text continues on the next line of the same stream (kubelet pkg/kubelet/kuberuntime/
        logs).
        """
        out = []
        path = Path(handle.log_directory) / container / "0.log"
        for line in path.read_text(errors="replace").splitlines():
            _, stream, tag, content = [*line.split(" ", 3), "", "", ""][:4]
            if stream in streams:
                out.append(content + ("" if tag == "P" else "\n"))
        return "".join(out)

    def ctr_run(
        self,
        image: str,
        args: Sequence[str] = (),
        *,
        privileged: bool = False,
        mounts: Sequence[tuple[str, str, str]] = (),
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        """``ctr run --rm`` of an imported image, outside CRI: a new network namespace
        holding only ``lo`` (no network at all), ``args`` replacing the image's entry point
        and command when given; ``mounts`` are (host path, container path, options such as
        ``rbind:ro``). Its cgroup is made under ``/kubepods/besteffort`` and removed by
        close() if runc leaves it."""
        name = f"i8s-ctr-{secrets.token_hex(4)}"
        cgroup = f"/kubepods/besteffort/{name}"
        for parent in ("/kubepods", "/kubepods/besteffort"):
            self._note_parent(parent)
        self._cgroups.append(cgroup)
        cmd = ["ctr", "-a", str(self.containerd_socket), "-n", CRI_NAMESPACE, "run", "--rm",
               "--cgroup", cgroup]  # fmt: skip
        if privileged:
            cmd.append("--privileged")
        for src, dst, options in mounts:
            cmd += ["--mount", f"type=bind,src={src},dst={dst},options={options}"]
        cmd += [image, name, *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    @contextmanager
    def host_root(self) -> Iterator[str]:
        """A host path showing the host's ``/`` that a pod can mount with HostToContainer
        propagation (a ``hostPath: /`` volume, as the agent pod has).

        containerd refuses that propagation unless the source is a shared or slave mount
        ("path / is mounted on / but it is not a shared or slave mount"). systemd makes
        ``/`` shared, so on a usual node this is ``/`` itself. Where ``/`` is private (this
        machine), it is a recursive bind of ``/`` under the bed's directory made shared:
        the same file systems, without changing the propagation of the host's own
        mounts; it is unmounted when the block ends. Only pods started inside the block
        may use it.
        """
        if host.propagation("/") != "private":
            yield "/"
            return
        replica = self.base_dir / "host-root"
        replica.mkdir()
        try:
            self._run(["mount", "--rbind", "/", str(replica)])
            self._run(["mount", "--make-rshared", str(replica)])
            yield str(replica)
        finally:
            stuck = host.unmount_all_under(replica)
            if stuck:
                raise TestBedError(f"could not unmount {replica}: {'; '.join(stuck)}")
            replica.rmdir()

    def _container_image(self, request: ContainerRequest) -> str:
        # The kubelet pulls (here: finds) the image first and passes its ID to CRI.
        if request.image is None:
            return self.workload_image_id
        image_id = self._image_id(request.image)
        if not image_id:
            raise TestBedError(
                f"image {request.image} is not in the bed's containerd (import_image first)"
            )
        return image_id

    def _track_pid(self, pid: int) -> None:
        self._container_pids.append((pid, host.pid_start_time(pid)))

    def remove_pod(self, handle: PodHandle) -> None:
        """Stop and remove a pod (all its containers) and its pod cgroup, as the kubelet does."""
        from . import api_pb2 as pb

        self.runtime.StopPodSandbox(
            pb.StopPodSandboxRequest(pod_sandbox_id=handle.sandbox_id), timeout=_CALL_TIMEOUT
        )
        self.runtime.RemovePodSandbox(
            pb.RemovePodSandboxRequest(pod_sandbox_id=handle.sandbox_id), timeout=_CALL_TIMEOUT
        )
        self.pods.pop(handle.sandbox_id, None)
        host.remove_cgroup_tree(handle.cgroup_parent)

    # -- docker ---------------------------------------------------------------------------

    def run_docker(
        self,
        name: str,
        command: Sequence[str] = ("/bin/sleep", "infinity"),
        *,
        mem_limit: int | None = None,
        cpu_quota: int | None = None,
        cpu_period: int | None = None,
        privileged: bool = False,
        pid_mode: str | None = None,
        volumes: Mapping[str, Mapping[str, str]] | None = None,
        labels: Mapping[str, str] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> DockerHandle:
        """Run a detached container through the Docker SDK (``--network none``)."""
        if self.docker is None:
            raise TestBedError("this test bed was started without dockerd")
        self._note_parent("/docker")
        container = self.docker.containers.run(
            self.docker_image,
            list(command),
            name=name,
            detach=True,
            network_mode="none",
            mem_limit=mem_limit,
            cpu_quota=cpu_quota,
            cpu_period=cpu_period,
            privileged=privileged,
            pid_mode=pid_mode,
            volumes=dict(volumes) if volumes else None,
            labels={**(labels or {}), "io.inspect8s.testbed": "1"},
            environment=dict(environment) if environment else None,
        )
        container.reload()
        handle = DockerHandle(id=container.id, name=name, pid=int(container.attrs["State"]["Pid"]))
        self.docker_containers[handle.id] = handle
        self._cgroups.append(f"/docker/{handle.id}")
        self._track_pid(handle.pid)
        return handle

    def remove_docker(self, handle: DockerHandle) -> None:
        """Force-remove a Docker container."""
        self.docker.api.remove_container(handle.id, force=True)
        self.docker_containers.pop(handle.id, None)
        host.remove_cgroup_tree(f"/docker/{handle.id}")

    # -- teardown -------------------------------------------------------------------------

    def cri_client(self, timeout: float = 5.0) -> Any:
        """inspect8s's read-only CRIClient on this bed's containerd."""
        from inspect8s.runtime.cri import CRIClient

        return CRIClient(self.cri_endpoint, timeout=timeout)

    def footprint(self) -> Footprint:
        """What this bed has put on the host so far (for leak checks after :meth:`close`)."""
        return Footprint(
            base_dir=str(self.base_dir),
            daemon_pids=list(self._daemon_starts.items()),
            container_pids=list(self._container_pids),
            cgroups=list(self._cgroups),
            cgroup_parents_created=list(self._parents_created),
        )

    def close(self) -> None:
        """Remove everything this bed made; raise TestBedError listing anything that stayed.

        Order: containers and pods through their daemons; the daemons; then, for anything
        a daemon left behind, runc (by its private roots), leftover processes whose command
        line names this bed's directory, mounts under it, the cgroups its pods and
        containers used, the QoS/docker parent cgroups it created, and the directory.
        """
        problems: list[str] = []
        for handle in list(self.docker_containers.values()):
            try:
                self.remove_docker(handle)
            except Exception as exc:  # dockerd may be gone already; runc below catches up
                problems.append(f"docker rm {handle.id[:12]}: {exc}")
        for pod in list(self.pods.values()):
            try:
                self.remove_pod(pod)
            except Exception as exc:  # containerd may be gone already; runc below catches up
                problems.append(f"remove pod {pod.name}: {exc}")
        if self.docker is not None:
            self.docker.close()
            self.docker = None
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        for proc in (self._dockerd, self._containerd):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self._dockerd = self._containerd = None
        for root in (self.runc_root, self.docker_runc_root):
            self._runc_delete_all(root)
        leftover = host.pids_referencing(str(self.base_dir))
        if self.mount_ns is not None:  # shims name the namespace's paths, not the base dir
            mine = [str(self.containerd_socket), str(self.containerd_state)]
            leftover += [p for p in self.mount_ns.pids(naming=mine) if p not in leftover]
        stuck = host.stop_pids(leftover)
        problems += [f"process {pid} would not stop" for pid in stuck]
        problems += host.unmount_all_under(self.base_dir)
        for rel in self._cgroups:
            problems += host.remove_cgroup_tree(rel)
        for rel in sorted(self._parents_created, key=lambda p: p.count("/"), reverse=True):
            for d in host.cgroup_dirs(rel):
                try:
                    d.rmdir()
                except OSError:
                    pass  # another test bed still has pods or containers under it
        for path in self._fixed_paths:  # files and deepest directories first
            try:
                if path.is_dir():
                    path.rmdir()
                else:
                    path.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                pass  # a directory another daemon on this machine still uses
        if host.mounts_under(self.base_dir):
            problems.append(f"mounts remain under {self.base_dir}; not removing it")
        else:
            shutil.rmtree(self.base_dir, ignore_errors=True)
        if problems:
            raise TestBedError("test bed teardown incomplete: " + "; ".join(problems))

    def _runc_delete_all(self, root: Path) -> None:
        # runc state roots are <root>/<containerd namespace>/<container id>.
        if not self.here(root).is_dir():
            return
        for ns_root in self.here(root).iterdir():
            if not ns_root.is_dir():
                continue
            for state in ns_root.iterdir():
                subprocess.run(
                    self._daemon(
                        [
                            "runc",
                            "--root",
                            str(root / ns_root.name),
                            "delete",
                            "--force",
                            state.name,
                        ]
                    ),
                    capture_output=True,
                    timeout=30,
                    check=False,
                )
