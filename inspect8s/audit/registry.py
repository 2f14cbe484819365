"""The check engine's registry: ``@check``, the ID rule, and loading checks from plugins.

A check is a small decorated function that yields :class:`Violation` records and keeps no
state::

    @check("I8S-SEC-PRIVILEGED", title="Container runs privileged",
           severity=Severity.HIGH, scope=Scope.POD)
    def privileged(pod: Pod) -> Iterator[Violation]:
        \"\"\"A privileged container gets every capability and the host's devices.\"\"\"
        ...

What the function receives depends on its scope (see :class:`inspect8s.results.Scope`):
``Scope.POD`` a :class:`~inspect8s.model.Pod`, ``Scope.CONTAINER`` a
:class:`ContainerContext`, ``Scope.NODE`` and ``Scope.CLUSTER`` the
:class:`~inspect8s.model.Snapshot`, ``Scope.OBJECT`` a :class:`~inspect8s.model.KubeObject`
(an object of any kind from manifests, the API or a Helm release). A function
that takes a second positional parameter also receives the run's :class:`CheckSettings`
(for example the ``--target-version``).

Checks are found through the ``inspect8s.checks.v1`` entry-point group (inspect8s registers
its own modules there too) and through ``--checks-path`` (Python files). An entry point may
name a module (every decorated function in it is taken), a single decorated function, or a
list/tuple of them.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from inspect8s.audit.results import CheckInfo, Location, Scope, Severity
from inspect8s.errors import ExitStatus, Inspect8sError
from inspect8s.model import Container, ContainerSpec, ContainerTrace, Pod, Snapshot
from inspect8s.model.frozen import frozen

__all__ = [
    "ENTRY_POINT_GROUP",
    "ID_PATTERN",
    "Check",
    "CheckDefinitionError",
    "CheckSettings",
    "ContainerContext",
    "FieldLocator",
    "PluginLoadError",
    "Scope",
    "Severity",
    "Skip",
    "Violation",
    "check",
    "checks_in",
    "filter_checks",
    "load_checks",
]

ENTRY_POINT_GROUP = "inspect8s.checks.v1"

# I8S-<AREA>-<NNN or WORD[-WORD...]>: AREA is upper-case letters/digits starting with a
# letter; the rest is a 3-digit number or upper-case words (the first holding a letter, so
# "01" is refused while "V1" and "1X" are words). IDs are permanent: a check that changes
# meaning gets a new ID, the old one is retired, never reused.
ID_PATTERN = re.compile(
    r"^I8S-[A-Z][A-Z0-9]{1,15}-(?:\d{3}|[A-Z0-9]*[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)$"
)

_ATTR = "__inspect8s_check__"


class PluginLoadError(Inspect8sError):
    """A check plugin (entry point or check file) could not be loaded: exit code 4."""

    exit_code = ExitStatus.TOOL_ERROR


class CheckDefinitionError(ValueError):
    """A ``@check`` declaration breaks the rules (bad ID, no docstring, bad scope)."""


class Skip(Exception):
    """Raised by a check that lacks the data to decide; the report shows the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@frozen
class Violation:
    """One thing a check found wrong.

    ``subject``: None means the subject the check was called for (``<Kind>/<ns>/<name>``
    such as ``Deployment/shop/web`` or ``Pod/kube-system/etcd``, ``node/<name>``,
    ``Pod/<ns>/<name>/container/<c>``); a value starting with ``node/`` or with a Kind (an
    upper-case letter) replaces it; any other value is appended to it, so a pod check names
    a container with ``subject="container/app"``.
    ``location``: None means the subject's own source (the manifest document it came from,
    if any); a node check names a config file and line with ``Location(file, line=12)``.
    ``field``: the path of the field at fault inside the pod object, as keys and list
    indexes (``("spec", "containers", 0, "securityContext", "privileged")``; for a field
    that is missing, the path it would have). For a pod read from a manifest the finding
    then points at that field's line (or at its deepest part that exists, such as the
    container entry); elsewhere it is ignored. ``location`` wins over ``field``.
    """

    message: str
    subject: str | None = None
    location: Location | None = None
    field: tuple[str | int, ...] | None = None


class FieldLocator(Protocol):
    """Where the fields of one subject are in its file (``collect.manifests.PodFields``)."""

    def location(self, path: Sequence[str | int]) -> Location:
        """The Location of the field at ``path``, or of its deepest part that exists."""
        ...


@frozen
class CheckSettings:
    """Run-wide settings a check may read (passed when it takes a second parameter).

    ``target_version`` is validated and normalised here, so every caller (the CLI, the
    library, the agent) gets the same answer: ``"v1.31.2"`` becomes ``"1.31"`` and a value
    that is not ``1.N`` / ``v1.N[.P]`` raises UsageError (exit 2).
    """

    target_version: str | None = None  # Kubernetes minor ("1.31"); None: the node's own
    options: dict[str, str] = field(default_factory=dict)  # free-form, for plugins
    target_source: str | None = None  # where the target came from, said in the report
    versions_files: tuple[str, ...] = ()  # --versions-file: more API version table entries

    def __post_init__(self) -> None:
        if self.target_version is not None:
            from inspect8s.audit.checks.versions import parse_target_version

            object.__setattr__(self, "target_version", parse_target_version(self.target_version))


@frozen
class ContainerContext:
    """What a ``Scope.CONTAINER`` check receives: one container, spec and host truth joined.

    Any part may be None when it was not collected or could not be joined; a check that
    needs a missing part raises ``Skip``. ``subject`` is ``Pod/<ns>/<name>/container/<c>``
    (or ``container/<id>`` for a container no pod claims).
    """

    subject: str
    snapshot: Snapshot
    pod: Pod | None  # None: no pod spec for this container (manifest-less node audit, no API)
    spec: ContainerSpec | None  # the container in pod.containers; None: not in the spec
    container: Container | None  # host truth from the node probe; None: not found on the node
    trace: ContainerTrace | None = None  # the runtime chain; None: not traced


CheckFunc = Callable[..., Iterable[Violation]]


@frozen
class Check:
    """A registered check: its description plus the function that runs it."""

    info: CheckInfo
    func: CheckFunc
    wants_settings: bool  # the function takes (item, settings)

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def scope(self) -> Scope:
        return self.info.scope

    @property
    def severity(self) -> Severity:
        return self.info.severity

    def run(self, item: Any, settings: CheckSettings) -> list[Violation]:
        """Call the check on one item; returns its violations (Skip and errors propagate)."""
        produced = self.func(item, settings) if self.wants_settings else self.func(item)
        if produced is None:
            return []
        violations = list(produced)
        for v in violations:
            if not isinstance(v, Violation):
                raise TypeError(f"{self.id} yielded {type(v).__name__}, expected Violation")
        return violations


def _count_positional(func: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in params if p.kind in kinds)


def check(
    id: str,
    *,
    title: str,
    severity: Severity | str,
    scope: Scope | str,
    properties: dict[str, str] | None = None,
) -> Callable[[CheckFunc], CheckFunc]:
    """Declare a check. Validates the ID, the docstring (the rationale) and the scope.

    ``properties`` is free metadata shown in SARIF's rule properties; the key
    ``benchmark`` (``"cis-1.12"``) puts the check in ``--benchmark`` selections.

    The function is returned unchanged, with its :class:`Check` attached, so a module
    registered as an entry point exposes its checks simply by defining them.
    """
    if not ID_PATTERN.match(id):
        raise CheckDefinitionError(
            f"check ID {id!r} does not follow I8S-<AREA>-<NNN or WORD> "
            "(upper case, e.g. I8S-POD-001 or I8S-WL-DOCKERSOCK)"
        )
    if not title.strip():
        raise CheckDefinitionError(f"{id}: a check needs a title naming the problem")
    try:
        sev = severity if isinstance(severity, Severity) else Severity.parse(severity)
        scp = scope if isinstance(scope, Scope) else Scope(str(scope).lower())
    except ValueError as exc:
        raise CheckDefinitionError(f"{id}: {exc}") from None

    def decorate(func: CheckFunc) -> CheckFunc:
        doc = inspect.getdoc(func)
        if not doc or not doc.strip():
            raise CheckDefinitionError(
                f"{id}: the check function {func.__qualname__} needs a docstring: "
                "it is the rationale shown by `inspect8s checks`, SARIF and docs/checks.md"
            )
        positional = _count_positional(func)
        if positional not in (1, 2):
            raise CheckDefinitionError(
                f"{id}: a check takes (item) or (item, settings), "
                f"{func.__qualname__} takes {positional} positional parameters"
            )
        info = CheckInfo(
            id=id,
            title=title.strip(),
            severity=sev,
            scope=scp,
            rationale=doc.strip(),
            origin=getattr(func, "__module__", "") or "",
            properties=dict(properties or {}),
        )
        setattr(func, _ATTR, Check(info=info, func=func, wants_settings=positional == 2))
        return func

    return decorate


def checks_in(obj: object) -> list[Check]:
    """The checks an entry point or a module exposes (in definition order for modules)."""
    found = getattr(obj, _ATTR, None)
    if isinstance(found, Check):
        return [found]
    if isinstance(obj, ModuleType):
        out: list[Check] = []
        for value in vars(obj).values():
            item = getattr(value, _ATTR, None)
            # Only checks defined in this module; a module re-exporting another's checks
            # would otherwise register them twice.
            if isinstance(item, Check) and getattr(value, "__module__", None) == obj.__name__:
                out.append(item)
        return out
    if isinstance(obj, list | tuple):
        out = []
        for element in obj:
            out.extend(checks_in(element))
        return out
    return []


def _from_entry_points() -> Iterator[tuple[str, list[Check]]]:
    from inspect8s.entrypoints import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        dist = getattr(ep.dist, "name", None) or "unknown distribution"
        origin = f"entry point {ep.name} = {ep.value} ({dist})"
        try:
            loaded = ep.load()
        except Exception as exc:  # any import-time failure of a plugin is a load error
            raise PluginLoadError(
                f"check plugin {origin} failed to load: {type(exc).__name__}: {exc}"
            ) from exc
        found = checks_in(loaded)
        if not found:
            raise PluginLoadError(f"check plugin {origin} defines no @check function")
        yield ep.value, found


def _python_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix == ".py" and p.is_file())
    if path.is_file():
        return [path]
    raise PluginLoadError(f"check file {path}: no such file or directory", param="checks_path")


def _load_file(path: Path) -> list[Check]:
    resolved = path.resolve()
    digest = abs(hash(str(resolved)))
    module_name = f"inspect8s_checks_path_{resolved.stem}_{digest:x}"
    existing = sys.modules.get(module_name)
    if existing is not None:
        return checks_in(existing)
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:
        raise PluginLoadError(f"check file {path}: not a loadable Python file", param="checks_path")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # syntax errors, bad @check declarations, failing imports
        del sys.modules[module_name]
        raise PluginLoadError(
            f"check file {path} failed to load: {type(exc).__name__}: {exc}", param="checks_path"
        ) from exc
    found = checks_in(module)
    return [
        Check(
            info=CheckInfo(
                id=c.info.id,
                title=c.info.title,
                severity=c.info.severity,
                scope=c.info.scope,
                rationale=c.info.rationale,
                origin=f"path:{path}",
                properties=c.info.properties,
            ),
            func=c.func,
            wants_settings=c.wants_settings,
        )
        for c in found
    ]


def load_checks(
    extra_paths: Sequence[str | Path] = (), *, entry_points: bool = True
) -> tuple[Check, ...]:
    """All checks: the ``inspect8s.checks.v1`` entry points, then ``extra_paths``.

    ``extra_paths`` are Python files or directories of them (``--checks-path``). Two
    different checks with the same ID are an error, as is any plugin that fails to import;
    both raise :class:`PluginLoadError` (exit code 4). Returned sorted by ID.
    """
    by_id: dict[str, Check] = {}

    def add(origin: str, found: Iterable[Check]) -> None:
        for item in found:
            other = by_id.get(item.id)
            if other is not None and other.func is not item.func:
                raise PluginLoadError(
                    f"check ID {item.id} is defined twice: by {other.info.origin} and by {origin}"
                )
            by_id[item.id] = item

    if entry_points:
        for origin, found in _from_entry_points():
            add(origin, found)
    for raw in extra_paths:
        for file in _python_files(Path(raw)):
            add(f"path:{file}", _load_file(file))
    return tuple(sorted(by_id.values(), key=lambda c: c.id))


def _split(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(v.strip().upper() for v in value.split(",") if v.strip())
    return out


def in_benchmark(item: Check, benchmark: str) -> bool:
    """True when the check belongs to ``benchmark`` ("cis" or "cis-1.12")."""
    declared = item.info.properties.get("benchmark", "").lower()
    return bool(declared) and (declared == benchmark or declared.startswith(benchmark + "-"))


def filter_checks(
    checks: Iterable[Check],
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    scopes: Iterable[Scope] | None = None,
    benchmark: str | None = None,
) -> tuple[Check, ...]:
    """Keep checks whose ID starts with a ``select`` prefix (all when none) and with no
    ``ignore`` prefix; optionally only some scopes, and only the checks of a ``benchmark``
    ("cis" matches every ``cis-*`` benchmark property, "cis-1.12" that one). Values may be
    comma-separated."""
    selected = _split(select)
    ignored = _split(ignore)
    allowed = set(scopes) if scopes is not None else None
    wanted = benchmark.strip().lower() if benchmark else None
    out = []
    for item in checks:
        if wanted is not None and not in_benchmark(item, wanted):
            continue
        if selected and not any(item.id.startswith(p) for p in selected):
            continue
        if any(item.id.startswith(p) for p in ignored):
            continue
        if allowed is not None and item.scope not in allowed:
            continue
        out.append(item)
    return tuple(out)
