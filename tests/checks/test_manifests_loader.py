"""inspect8s.collect.manifests: files, directories, documents, kinds, lines, and malformed input."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect8s.collect.manifests import load_manifests, manifest_files
from inspect8s.errors import ErrorKind, NotFoundError
from inspect8s.model import QoS

MANIFESTS = Path(__file__).resolve().parents[1] / "fixtures" / "manifests"


def test_helm_rendered_output() -> None:
    path = str(MANIFESTS / "helm-rendered.yaml")
    found = load_manifests([path])
    assert found.errors == ()
    assert found.documents == 6  # the empty template counts as a document
    assert found.skipped_kinds == {"Service": 1, "ServiceAccount": 1}
    got = [
        (p.namespace, p.name, p.owner, p.source, loc.document_index, loc.line)
        for p, loc in zip(found.pods, found.locations, strict=True)
    ]
    assert got == [
        ("default", "shop-web", "Deployment/shop-web", f"manifest:{path}#3", 3, 21),
        ("data", "shop-db", "StatefulSet/shop-db", f"manifest:{path}#4", 4, 45),
        ("default", "shop-report", "CronJob/shop-report", f"manifest:{path}#5", 5, 63),
    ]
    web, db, report = found.pods
    assert web.qos is QoS.BURSTABLE
    assert web.containers[0].limits.memory_bytes == 128 * 1024 * 1024
    assert web.containers[0].allow_privilege_escalation is False
    assert db.qos is QoS.BESTEFFORT
    assert report.host_network is True


def test_real_api_list() -> None:
    found = load_manifests([str(MANIFESTS / "real-pods-all.json")])
    assert found.errors == ()
    assert len(found.pods) == 9
    assert found.documents == 1
    legacy = next(p for p in found.pods if p.name == "legacy-builder")
    assert legacy.host_pid and legacy.containers[0].privileged
    assert [v.host_path for v in legacy.volumes if v.host_path] == ["/var/run/docker.sock"]
    # each List item points at its own line
    assert len({loc.line for loc in found.locations}) == 9
    assert all(loc.document_index == 0 for loc in found.locations)


WORKLOADS = """\
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs, namespace: a}
spec:
  template:
    spec:
      containers: [{name: c, image: i}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: job}
spec:
  template:
    metadata:
      namespace: ignored
      annotations: {k: v}
    spec:
      containers: [{name: c, image: i}]
---
apiVersion: v1
kind: PodTemplate
metadata: {name: tpl, namespace: b}
template:
  spec:
    containers: [{name: c, image: i}]
---
apiVersion: v1
kind: ReplicationController
metadata: {name: rc, namespace: c}
spec:
  template:
    spec:
      containers: [{name: c, image: i}]
---
apiVersion: v1
kind: PodList
items:
  - kind: Pod
    apiVersion: v1
    metadata: {name: p1}
    spec: {containers: [{name: c, image: i}]}
  - kind: Secret
    apiVersion: v1
    metadata: {name: s}
---
just a string
---
apiVersion: v1
metadata: {name: nokind}
"""


def test_every_workload_kind(tmp_path: Path) -> None:
    (tmp_path / "w.yml").write_text(WORKLOADS)
    found = load_manifests([str(tmp_path)])
    assert found.errors == ()
    assert [(p.namespace, p.name, p.owner) for p in found.pods] == [
        ("a", "rs", "ReplicaSet/rs"),
        ("ignored", "job", "Job/job"),  # the template's namespace when the workload has none
        ("b", "tpl", "PodTemplate/tpl"),
        ("c", "rc", "ReplicationController/rc"),
        ("default", "p1", None),
    ]
    assert found.pods[1].annotations == {"k": "v"}
    assert found.skipped_kinds == {"(no kind)": 1, "(not an object)": 1, "Secret": 1}
    assert found.locations[4].line == 38


def test_directories_are_read_recursively_sorted_and_hidden_dirs_skipped(tmp_path: Path) -> None:
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec: {containers: []}\n"
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "b" / "z.yaml").write_text(pod % "z")
    (tmp_path / "a.YML").write_text(pod % "a")
    (tmp_path / "c.json").write_text('{"kind": "Pod", "metadata": {"name": "c"}, "spec": {}}')
    (tmp_path / "README.md").write_text("# not a manifest")
    (tmp_path / ".git" / "x.yaml").write_text(pod % "hidden")
    files = manifest_files([str(tmp_path), str(tmp_path / "a.YML")])
    assert files == [str(tmp_path / n) for n in ("a.YML", os.path.join("b", "z.yaml"), "c.json")]
    found = load_manifests([str(tmp_path)])
    assert [p.name for p in found.pods] == ["a", "z", "c"]


def test_explicit_file_any_suffix_and_stdin(tmp_path: Path) -> None:
    path = tmp_path / "rendered.txt"
    path.write_text("kind: Pod\nmetadata: {name: x}\nspec: {containers: []}\n")
    assert [p.name for p in load_manifests([str(path)]).pods] == ["x"]
    found = load_manifests(["-"], stdin=io.StringIO(path.read_text()))
    assert [(p.name, p.source) for p in found.pods] == [("x", "manifest:<stdin>#0")]


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file") as e:
        load_manifests([str(tmp_path / "nope")])
    assert e.value.exit_code == 2


@pytest.mark.parametrize(
    ("name", "content", "detail"),
    [
        ("bad.yaml", b"kind: Pod\nmetadata: {name: [\n", "line 3: invalid YAML"),
        ("tab.yaml", b"kind: Pod\n\tmetadata: x\n", "invalid YAML"),
        ("bad.json", b'{"kind": "Pod",\n "metadata": }', "line 2: invalid JSON"),
        ("garbage.yaml", bytes(range(256)), "not YAML text (byte 0"),
        ("latin1.yaml", b"kind: Pod\nmetadata: {name: caf\xe9}\n", "not YAML text"),
        ("garbage.json", bytes(range(256)), "not UTF-8"),
        ("trunc.yaml", b"kind: Pod\nspec:\n  containers:\n    - name: 'unterminated\n", "invalid"),
    ],
)
def test_malformed_files_are_probe_errors_naming_the_file(
    tmp_path: Path, name: str, content: bytes, detail: str
) -> None:
    (tmp_path / name).write_bytes(content)
    (tmp_path / "zz-good.yaml").write_text("kind: Pod\nmetadata: {name: ok}\nspec: {}\n")
    found = load_manifests([str(tmp_path)])
    assert [p.name for p in found.pods] == ["ok"]  # the rest is still read
    [error] = found.errors
    assert error.kind is ErrorKind.MALFORMED
    assert error.source == f"manifest:{tmp_path / name}"
    assert detail in error.detail


def test_documents_before_a_syntax_error_still_count(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        "kind: Pod\nmetadata: {name: first}\nspec: {}\n---\nkind: Pod\nmetadata: {name: [\n"
    )
    found = load_manifests([str(tmp_path / "m.yaml")])
    assert [p.name for p in found.pods] == ["first"]
    [error] = found.errors
    assert "document 1: line 7" in error.detail


@pytest.mark.parametrize(
    ("spec", "detail"),
    [
        (
            "spec: {containers: [{name: c, resources: {limits: {memory: lots}}}]}",
            "not a Kubernetes",
        ),
        ("spec: {containers: [{image: x}]}", "a container has no name"),
        ("spec: {containers: 5}", "unexpected structure"),
        ("spec: [1, 2]", "has no pod spec"),
    ],
)
def test_workloads_of_the_wrong_shape_are_probe_errors(
    tmp_path: Path, spec: str, detail: str
) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(
        "kind: Pod\nmetadata: {name: ok}\nspec: {}\n---\n"
        f"kind: Deployment\nmetadata: {{name: bad, namespace: x}}\nspec: {{template: {{{spec}}}}}\n"
    )
    found = load_manifests([str(path)])
    assert [p.name for p in found.pods] == ["ok"]
    [error] = found.errors
    assert error.source == f"manifest:{path}#1:5"
    assert error.detail.startswith("Deployment: ")
    assert detail in error.detail


def test_a_directory_given_where_a_file_is_expected_is_read_as_a_directory(
    tmp_path: Path,
) -> None:
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "dir.yaml" / "p.yaml").write_text("kind: Pod\nmetadata: {name: p}\nspec: {}\n")
    found = load_manifests([str(tmp_path)])
    assert [p.name for p in found.pods] == ["p"]
    assert found.errors == ()


def _scratch(factory: pytest.TempPathFactory, name: str) -> Path:
    """One directory for every example of a property test: each example writes the same
    file names over the last one's, so the directory holds only the current example."""
    directory = factory.getbasetemp() / name
    directory.mkdir(exist_ok=True)
    return directory


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    directory = _scratch(tmp_path_factory, "random")
    (directory / "r.yaml").write_bytes(data)
    (directory / "r.json").write_bytes(data)
    found = load_manifests([str(directory)])
    assert found.files == 2
    for error in found.errors:
        assert error.source.startswith(f"manifest:{directory}")


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    ["kind", "spec", "template", "containers", "metadata", "items", "name"]
                ),
                children,
                max_size=4,
            )
        ),
        max_leaves=20,
    )
)
def test_random_structures_never_raise(
    tmp_path_factory: pytest.TempPathFactory, data: object
) -> None:
    import json

    directory = _scratch(tmp_path_factory, "structures")
    for kind in ("Pod", "Deployment", "CronJob", "List"):
        doc = {"kind": kind, "metadata": {"name": "x"}, "spec": data, "items": data}
        (directory / f"{kind}.json").write_text(json.dumps(doc))
    found = load_manifests([str(directory)])
    assert found.files == 4
