"""The check engine: @check rules, loading (entry points, --checks-path), filtering,
running (skip/error outcomes, subjects, settings), ignore rules and exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inspect8s.audit.registry import (
    CheckDefinitionError,
    CheckSettings,
    PluginLoadError,
    Skip,
    Violation,
    check,
    checks_in,
    filter_checks,
    load_checks,
)
from inspect8s.audit.results import Location, Scope, Severity, Status
from inspect8s.audit.runner import (
    IgnoreRule,
    exit_code,
    load_ignore_file,
    parse_ignore_rules,
    run_checks,
)
from inspect8s.errors import ErrorKind, ProbeError, UsageError
from inspect8s.model import ContainerSpec, KubeNode, Pod, ResourceList, Snapshot


def _pod(name: str = "web", namespace: str = "shop", **kw: object) -> Pod:
    container = ContainerSpec(name="app", image="x", requests=ResourceList(), limits=ResourceList())
    return Pod(
        name=name,
        namespace=namespace,
        uid=None,
        node_name=None,
        phase=None,
        qos=None,
        containers=(container,),
        **kw,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- @check


@pytest.mark.parametrize(
    "good",
    ["I8S-POD-001", "I8S-WL-DOCKERSOCK", "I8S-WL-SECCOMP-ANN", "I8S-CTRD-1X", "I8S-KFLAG-124"],
)
def test_valid_ids(good: str) -> None:
    @check(good, title="t", severity="low", scope="pod")
    def f(pod: Pod) -> Iterator[Violation]:
        """Why."""
        yield from ()

    [registered] = checks_in(f)
    assert registered.id == good
    assert registered.severity is Severity.LOW
    assert registered.scope is Scope.POD
    assert registered.info.rationale == "Why."


@pytest.mark.parametrize(
    "bad", ["I8S-POD", "POD-001", "i8s-pod-001", "I8S-POD-01", "I8S-P-001", "I8S-POD-", "I8S_POD_1"]
)
def test_invalid_ids_are_refused(bad: str) -> None:
    with pytest.raises(CheckDefinitionError, match="does not follow"):
        check(bad, title="t", severity=Severity.LOW, scope=Scope.POD)


def test_docstring_is_required() -> None:
    decorate = check("I8S-POD-002", title="t", severity=Severity.LOW, scope=Scope.POD)
    with pytest.raises(CheckDefinitionError, match="needs a docstring"):

        @decorate
        def f(pod: Pod) -> list[Violation]:
            return []


def test_bad_severity_scope_and_arity_are_refused() -> None:
    with pytest.raises(CheckDefinitionError, match="unknown severity"):
        check("I8S-POD-003", title="t", severity="urgent", scope=Scope.POD)
    with pytest.raises(CheckDefinitionError):
        check("I8S-POD-003", title="t", severity="low", scope="galaxy")
    with pytest.raises(CheckDefinitionError, match="takes 3 positional"):

        @check("I8S-POD-003", title="t", severity="low", scope="pod")
        def f(a: object, b: object, c: object) -> list[Violation]:
            """Doc."""
            return []


# --------------------------------------------------------------------------- loading


def test_builtin_checks_come_through_the_entry_point_group() -> None:
    loaded = load_checks()
    ids = [c.id for c in loaded]
    assert ids == sorted(ids)
    assert "I8S-WL-DOCKERSOCK" in ids
    assert {c.info.origin for c in loaded if c.id.startswith("I8S-SEC-")} == {
        "inspect8s.audit.checks.pods",
        "inspect8s.audit.checks.isolation",
    }
    assert load_checks(entry_points=False) == ()


PLUGIN = '''
from inspect8s import check, Scope, Severity, Violation

@check("I8S-TEAM-001", title="Pod has no team label", severity=Severity.LOW, scope=Scope.POD)
def team_label(pod):
    """Every pod names the team that owns it."""
    if "team" not in pod.labels:
        yield Violation("no team label")
'''


def test_checks_path_loads_python_files(tmp_path: Path) -> None:
    (tmp_path / "team.py").write_text(PLUGIN)
    (tmp_path / "notes.txt").write_text("not python")
    loaded = {c.id: c for c in load_checks([tmp_path])}
    assert loaded["I8S-TEAM-001"].info.origin == f"path:{tmp_path / 'team.py'}"
    assert "I8S-SEC-PRIVILEGED" in loaded  # the built-ins are still there
    result = run_checks(Snapshot(pods=(_pod(),)), [loaded["I8S-TEAM-001"]])
    assert [(f.check_id, f.subject, f.message) for f in result.findings] == [
        ("I8S-TEAM-001", "Pod/shop/web", "no team label")
    ]


def test_broken_plugin_file_is_a_load_error_with_exit_code_4(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import nonexistent_module_for_inspect8s_tests\n")
    with pytest.raises(
        PluginLoadError, match=r"broken\.py failed to load: ModuleNotFoundError"
    ) as e:
        load_checks([tmp_path], entry_points=False)
    assert e.value.exit_code == 4


def test_bad_check_declaration_in_a_plugin_is_a_load_error(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(PLUGIN.replace("I8S-TEAM-001", "TEAM-1"))
    with pytest.raises(PluginLoadError, match="CheckDefinitionError"):
        load_checks([tmp_path / "bad.py"], entry_points=False)


def test_duplicate_ids_are_a_load_error(tmp_path: Path) -> None:
    (tmp_path / "dup.py").write_text(PLUGIN.replace("I8S-TEAM-001", "I8S-SEC-PRIVILEGED"))
    with pytest.raises(PluginLoadError, match="I8S-SEC-PRIVILEGED is defined twice"):
        load_checks([tmp_path])


def test_missing_checks_path_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(PluginLoadError, match="no such file"):
        load_checks([tmp_path / "nope"], entry_points=False)


def test_select_and_ignore_by_prefix() -> None:
    loaded = load_checks()
    ids = [c.id for c in filter_checks(loaded, select=["I8S-WL-"])]
    assert ids and all(i.startswith("I8S-WL-") for i in ids)
    ids = [c.id for c in filter_checks(loaded, select=["i8s-wl-,I8S-SEC-HOSTP"])]
    assert "I8S-SEC-HOSTPID" in ids and "I8S-SEC-HOSTPORT" in ids and "I8S-WL-DOCKERSOCK" in ids
    assert "I8S-SEC-PRIVILEGED" not in ids
    ids = [c.id for c in filter_checks(loaded, ignore=["I8S-RES", "I8S-SEC-PRIV"])]
    assert not any(i.startswith(("I8S-RES", "I8S-SEC-PRIV")) for i in ids)
    assert "I8S-SEC-CAPS" in ids
    node = filter_checks(loaded, scopes=[Scope.NODE])
    assert node and all(c.scope is Scope.NODE for c in node)
    assert not filter_checks(loaded, select=["I8S-SEC-"], scopes=[Scope.NODE])


# --------------------------------------------------------------------------- running


@check("I8S-TEST-SKIP", title="skips", severity="low", scope="pod")
def _skipping(pod: Pod) -> Iterator[Violation]:
    """Test check that lacks data."""
    raise Skip("no runtime data for this pod")


@check("I8S-TEST-BOOM", title="crashes", severity="low", scope="pod")
def _crashing(pod: Pod) -> Iterator[Violation]:
    """Test check with a bug."""
    raise KeyError("spec")


@check("I8S-TEST-SUBJ", title="subjects", severity="medium", scope="pod")
def _subjects(pod: Pod) -> Iterator[Violation]:
    """Test check naming subjects and locations."""
    yield Violation("on the pod")
    yield Violation("on a container", subject="container/app")
    yield Violation("on the node", subject="node/vm", location=Location("/etc/x.toml", line=3))


@check("I8S-TEST-NODE", title="node", severity="critical", scope="node")
def _node_check(snapshot: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """Test node check reading the settings."""
    yield Violation(f"target {settings.target_version}")


def test_skip_and_crash_become_outcomes_not_exceptions() -> None:
    snap = Snapshot(pods=(_pod("a"), _pod("b")))
    result = run_checks(snap, checks_in([_skipping, _crashing]))
    statuses = {(o.check_id, o.subject): (o.status, o.reason) for o in result.outcomes}
    assert statuses == {
        ("I8S-TEST-BOOM", "Pod/shop/a"): (Status.ERROR, "KeyError: 'spec'"),
        ("I8S-TEST-BOOM", "Pod/shop/b"): (Status.ERROR, "KeyError: 'spec'"),
        ("I8S-TEST-SKIP", "Pod/shop/a"): (Status.SKIPPED, "no runtime data for this pod"),
        ("I8S-TEST-SKIP", "Pod/shop/b"): (Status.SKIPPED, "no runtime data for this pod"),
    }
    assert not result.complete
    assert result.findings == ()
    assert exit_code(result, Severity.HIGH) == 0
    assert exit_code(result, Severity.HIGH, require_complete=True) == 3


def test_subjects_locations_and_settings() -> None:
    loc = Location("deploy.yaml", 2, 17)
    snap = Snapshot(pods=(_pod(),), kube_nodes=(KubeNode("vm", None, None, None, None),))
    result = run_checks(
        snap,
        checks_in([_subjects, _node_check]),
        settings=CheckSettings(target_version="1.31"),
        pod_locations={0: loc},
    )
    got = [(f.check_id, f.subject, f.message, f.location) for f in result.findings]
    assert got == [
        ("I8S-TEST-SUBJ", "Pod/shop/web", "on the pod", loc),
        ("I8S-TEST-SUBJ", "Pod/shop/web/container/app", "on a container", loc),
        ("I8S-TEST-NODE", "node/vm", "target 1.31", None),
        ("I8S-TEST-SUBJ", "node/vm", "on the node", Location("/etc/x.toml", None, 3)),
    ]
    [pod_outcome] = [o for o in result.outcomes if o.check_id == "I8S-TEST-SUBJ"]
    assert pod_outcome.status is Status.FAILED and len(pod_outcome.findings) == 3
    assert result.settings == {"targetVersion": "1.31"}
    assert exit_code(result, Severity.CRITICAL) == 1
    assert exit_code(result, None) == 0


def test_ignore_rules_suppress_matching_findings_only() -> None:
    snap = Snapshot(pods=(_pod("web"), _pod("db", namespace="data")))
    rules = parse_ignore_rules(
        [{"id": "i8s-test-*", "subject": "Pod/shop/*", "reason": "accepted for shop"}], "test"
    )
    assert rules == (IgnoreRule("I8S-TEST-*", "Pod/shop/*", "accepted for shop"),)
    result = run_checks(snap, checks_in([_subjects]), ignore=rules)
    by_subject = {(f.subject, f.message): f.suppressed for f in result.findings}
    assert by_subject[("Pod/shop/web", "on the pod")] == "accepted for shop"
    assert by_subject[("Pod/shop/web/container/app", "on a container")] == "accepted for shop"
    assert by_subject[("Pod/data/db", "on the pod")] is None
    assert by_subject[("node/vm", "on the node")] is None
    # only active findings count for --fail-on
    assert len(result.active_findings) == 4
    shop_only = run_checks(Snapshot(pods=(_pod("web"),)), checks_in([_subjects]), ignore=rules)
    assert exit_code(shop_only, Severity.MEDIUM) == 1  # node/vm finding is not accepted
    rules_all = parse_ignore_rules({"ignore": [{"id": "I8S-TEST-SUBJ", "reason": "ok"}]}, "t")
    accepted = run_checks(Snapshot(pods=(_pod("web"),)), checks_in([_subjects]), ignore=rules_all)
    assert accepted.active_findings == ()
    assert exit_code(accepted, Severity.INFO) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- id: I8S-X-001\n", "has no reason"),
        ("- reason: ok\n", "has no id"),
        ("- {id: I8S-X-001, reason: ok, file: x}\n", "unknown keys file"),
        ("id: I8S-X-001\n", "expected a list"),
        ("- [a, b]\n", "is not a mapping"),
        ("- {id: [unclosed\n", "invalid YAML"),
    ],
)
def test_bad_ignore_files_are_usage_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "ignore.yaml"
    path.write_text(content)
    with pytest.raises(UsageError, match=message) as e:
        load_ignore_file(str(path))
    assert e.value.exit_code == 2


def test_missing_ignore_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="No such file"):
        load_ignore_file(str(tmp_path / "missing.yaml"))


def test_exit_code_order() -> None:
    error = ProbeError(ErrorKind.MALFORMED, "manifest:x.yaml", "line 2: invalid YAML")
    # nothing could be audited: 4 whatever else
    nothing = run_checks(Snapshot(errors=(error,)), checks_in([_subjects]))
    assert nothing.subjects == 0
    assert exit_code(nothing, Severity.HIGH) == 4
    # probe error next to audited pods: incomplete, findings first
    partial = run_checks(Snapshot(pods=(_pod(),), errors=(error,)), checks_in([_subjects]))
    assert exit_code(partial, Severity.HIGH) == 0
    assert exit_code(partial, Severity.HIGH, require_complete=True) == 3
    assert exit_code(partial, Severity.MEDIUM, require_complete=True) == 1
    assert exit_code(partial, Severity.MEDIUM) == 1
    clean = run_checks(Snapshot(pods=(_pod(),)), ())
    assert exit_code(clean, Severity.INFO, require_complete=True) == 0
