"""The manifest object API: kinds, names, lines of fields, Lists, YAML as Kubernetes reads it,
and hostile inputs (FIFOs, devices, endless streams, deep nesting) that must not hang or
crash the reader."""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path

import pytest

from inspect8s.collect.manifests import (
    ManifestReader,
    load_manifests,
    parse_size,
    read_objects,
    workload_pod,
)
from inspect8s.errors import ErrorKind

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"

DEPLOY = """\
# Source: chart/templates/web.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx:1.25
          securityContext:
            privileged: true
        - name: side
          image: busybox
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: cfg}
  - apiVersion: policy/v1beta1
    kind: PodSecurityPolicy
    metadata:
      name: psp
"""


def test_objects_carry_kind_version_names_file_and_field_lines(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(DEPLOY)
    reader = ManifestReader([str(path)])
    web, cfg, psp = list(reader)
    assert (web.kind, web.api_version, web.namespace, web.name) == (
        "Deployment",
        "apps/v1",
        "shop",
        "web",
    )
    assert (web.file, web.document_index, web.item_index, web.line) == (str(path), 0, None, 2)
    assert web.line_of("apiVersion") == 2
    assert web.line_of("spec", "template", "spec", "containers", 0, "image") == 12
    assert web.line_of("spec", "template", "spec", "containers", 1) == 15
    assert web.line_of("spec", "template", "spec", "containers", 1, "securityContext") is None
    # a missing field points at the entry that lacks it
    missing = web.location("spec", "template", "spec", "containers", 1, "securityContext")
    assert (missing.file, missing.document_index, missing.line) == (str(path), 0, 15)
    assert web.location().line == 2
    assert (cfg.kind, cfg.item_index, cfg.line, cfg.namespace) == ("ConfigMap", 0, 21, None)
    assert (psp.kind, psp.api_version, psp.item_index) == ("PodSecurityPolicy", "policy/v1beta1", 1)
    assert psp.line_of("apiVersion") == 24
    assert psp.source == f"manifest:{path}#1"
    assert reader.documents == 2
    assert reader.errors == []


def test_workload_pod_fields_map_back_to_the_workload_lines(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(DEPLOY)
    web = next(iter(ManifestReader([str(path)])))
    found = workload_pod(web)
    assert found is not None
    pod, fields = found
    assert (pod.namespace, pod.name, pod.owner) == ("shop", "web", "Deployment/web")
    assert fields.location(("spec", "containers", 0, "securityContext", "privileged")).line == 14
    assert fields.location(("spec", "containers", 1, "securityContext")).line == 15
    assert fields.location(("metadata", "name")).line == 5


def test_json_lists_give_each_item_its_line(tmp_path: Path) -> None:
    items = [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}"}, "spec": {}}
        for i in range(3)
    ]
    path = tmp_path / "pods.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=2))
    objs = list(ManifestReader([str(path)]))
    assert [(o.name, o.item_index) for o in objs] == [("p0", 0), ("p1", 1), ("p2", 2)]
    lines = [o.line for o in objs]
    assert lines == sorted(lines) and len(set(lines)) == 3
    assert objs[1].line_of("apiVersion") == objs[1].line + 1


def test_stdin_is_read_as_bytes_or_text() -> None:
    text = "kind: Pod\nmetadata: {name: x}\n---\nkind: Service\nmetadata: {name: s}\n"
    for stream in (io.BytesIO(text.encode()), io.StringIO(text)):
        objs = list(ManifestReader(["-"], stdin=stream))  # type: ignore[arg-type]
        assert [(o.kind, o.file, o.document_index) for o in objs] == [
            ("Pod", "<stdin>", 0),
            ("Service", "<stdin>", 1),
        ]


def test_yaml_is_read_as_kubernetes_reads_it(tmp_path: Path) -> None:
    # The matchType enum of the prometheus-operator AlertmanagerConfig CRD holds a bare "="
    # (YAML 1.1's value-key type, which PyYAML's safe loader cannot construct).
    path = tmp_path / "crd.yaml"
    path.write_text(
        "apiVersion: apiextensions.k8s.io/v1\n"
        "kind: CustomResourceDefinition\n"
        "metadata: {name: x, creationTimestamp: 2023-01-02T03:04:05Z}\n"
        "spec:\n"
        "  enum:\n  - '!='\n  - =\n  - =~\n  - '!~'\n"
        "  base: &base {a: 1, b: 2}\n"
        "  merged: {<<: *base, b: 3}\n"
        "  keys: {1: one, true: yes, null: nothing}\n"
        "  custom: !Ref some-value\n"
    )
    [crd] = list(ManifestReader([str(path)]))
    spec = crd.data["spec"]
    assert spec["enum"] == ["!=", "=", "=~", "!~"]
    assert crd.data["metadata"]["creationTimestamp"] == "2023-01-02T03:04:05Z"
    assert spec["merged"] == {"a": 1, "b": 3}
    assert spec["keys"] == {"1": "one", "true": True, "null": "nothing"}
    assert spec["custom"] == "some-value"


def test_recursive_aliases_and_alias_bombs_are_errors(tmp_path: Path) -> None:
    (tmp_path / "a-rec.yaml").write_text("kind: Pod\nmetadata: &m {name: x, self: *m}\n")
    bomb = ["kind: Pod", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    (tmp_path / "b-bomb.yaml").write_text("\n".join(bomb) + "\n")
    (tmp_path / "c-ok.yaml").write_text("kind: Pod\nmetadata: {name: ok}\nspec: {}\n")
    reader = ManifestReader([str(tmp_path)])
    assert [o.name for o in reader] == ["ok"]
    details = sorted(e.detail for e in reader.errors)
    assert len(details) == 2
    assert "recursive alias" in details[0] or "recursive alias" in details[1]
    assert any("alias bomb" in d for d in details)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_deep_nesting_is_an_error_and_the_good_files_beside_it_are_kept(
    tmp_path: Path, suffix: str
) -> None:
    depth = 100_000
    (tmp_path / f"deep{suffix}").write_text('{"kind": ' + "[" * depth + "]" * depth + "}")
    (tmp_path / "good.yaml").write_text("kind: Pod\nmetadata: {name: ok}\nspec: {}\n")
    found = load_manifests([str(tmp_path)])
    assert [p.name for p in found.pods] == ["ok"]
    [error] = found.errors
    assert error.kind is ErrorKind.MALFORMED
    assert error.source == f"manifest:{tmp_path / ('deep' + suffix)}"
    assert "nest" in error.detail


def _reader_in_thread(paths: list[str], **kwargs: object) -> ManifestReader:
    """Read in a thread and fail the test (instead of hanging) when it does not finish."""
    reader = ManifestReader(paths, **kwargs)  # type: ignore[arg-type]
    done: list[object] = []
    worker = threading.Thread(target=lambda: done.append(list(reader)), daemon=True)
    worker.start()
    worker.join(10)
    assert done, "the reader blocked"
    return reader


def test_a_fifo_named_or_found_among_manifests_is_refused_without_blocking(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    (tmp_path / "ok.yaml").write_text("kind: Pod\nmetadata: {name: ok}\nspec: {}\n")
    for paths in ([str(tmp_path)], [str(fifo), str(tmp_path / "ok.yaml")]):
        reader = _reader_in_thread(paths)
        [error] = reader.errors
        assert error.source == f"manifest:{fifo}"
        assert error.detail == "is a FIFO, not a regular file"


def test_a_device_is_refused_before_anything_is_read() -> None:
    reader = _reader_in_thread(["/dev/zero"])
    [error] = reader.errors
    assert error.detail == "is a character device, not a regular file"


def test_a_symlink_to_a_fifo_is_refused_too(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "fifo")
    reader = _reader_in_thread([str(tmp_path / "link.yaml")])
    [error] = reader.errors
    assert "FIFO" in error.detail


class _Endless(io.RawIOBase):
    """An endless stream of YAML comment lines, like `yes '#' | inspect8s ...`."""

    def __init__(self) -> None:
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = b"#\n" * (len(buffer) // 2)
        buffer[: len(chunk)] = chunk
        self.given += len(chunk)
        return len(chunk)


def test_standard_input_and_files_stop_at_the_size_cap(tmp_path: Path) -> None:
    endless = _Endless()
    reader = _reader_in_thread(["-"], stdin=io.BufferedReader(endless), max_file_bytes=1 << 20)
    [error] = reader.errors
    assert error.source == "manifest:<stdin>"
    assert error.detail.startswith("larger than 1 MiB")
    assert "--max-manifest-size" in error.detail
    assert endless.given < 2 << 20  # it stopped reading at the cap
    big = tmp_path / "big.yaml"
    big.write_text("kind: Pod\nmetadata: {name: first}\nspec: {}\n---\n" + "#\n" * 600_000)
    reader = ManifestReader([str(big)], max_file_bytes=1 << 20)
    assert [o.name for o in reader] == ["first"]  # documents before the cap still count
    assert "larger than 1 MiB" in reader.errors[0].detail


def test_progress_is_reported_with_bytes_and_documents(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "".join(f"---\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n" for i in range(5000))
    )
    seen: list[tuple[str, int, int | None, int]] = []
    reader = ManifestReader([str(path)], progress=lambda *a: seen.append(a))
    assert len(list(reader)) == 5000
    size = path.stat().st_size
    assert seen[-1][:3] == (str(path), size, size)
    assert [s[1] for s in seen] == sorted(s[1] for s in seen)
    assert len(seen) >= 2


@pytest.mark.parametrize(
    ("text", "size"),
    [("512M", 512 << 20), ("1G", 1 << 30), ("64Ki", 64 << 10), ("1000", 1000), ("2gib", 2 << 30)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "-1", "lots", "1.5G", "12X"])
def test_parse_size_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_read_objects_reports_errors_to_the_caller(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("kind: [\n")
    (tmp_path / "good.yaml").write_text("kind: Service\nmetadata: {name: s}\n")
    errors: list[object] = []
    assert [o.kind for o in read_objects([str(tmp_path)], errors=errors)] == ["Service"]  # type: ignore[arg-type]
    assert len(errors) == 1


def test_the_public_corpus_reads_without_errors() -> None:
    reader = ManifestReader([str(CORPUS)])
    objects = list(reader)
    assert reader.errors == []
    assert len(objects) > 60
    assert all(o.line is not None and o.line_of("kind") is not None for o in objects)
