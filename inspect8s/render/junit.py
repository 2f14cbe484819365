"""Audit results as JUnit XML, the shape GitLab, Jenkins and Azure DevOps read.

One ``<testsuite>`` per scope (``inspect8s.pod``, ``inspect8s.container``,
``inspect8s.node``), one ``<testcase>`` per check x subject (classname = check ID, name =
subject, ``file``/``line`` when the subject came from a manifest): ``<failure>`` when it has
findings (suppressed findings alone pass, noted in ``<system-out>``), ``<skipped>`` when the
check raised Skip, ``<error>`` when the check crashed. Probe errors are ``<error>`` cases in
a last suite, ``inspect8s.probes``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import TextIO

from inspect8s.audit.results import AuditResult, Finding, Outcome, Scope, Status
from inspect8s.render.escape import escape

# Characters XML 1.0 does not allow at all, not even as character references
# (XML 1.0 section 2.2 "Char"); ElementTree would write them raw and the report would not
# parse. They are shown escaped instead ("\x1b"), as on a terminal.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(text: str | None) -> str | None:
    if text is None or _NOT_XML.search(text) is None:
        return text
    return _NOT_XML.sub(lambda m: escape(m.group(0)), text)


def _make_valid(root: ET.Element) -> None:
    """Every text and attribute of the tree without characters XML cannot hold."""
    for element in root.iter():
        element.text = _xml_safe(element.text)
        element.tail = _xml_safe(element.tail)
        for key, value in element.attrib.items():
            element.set(key, _xml_safe(value) or "")


def _finding_line(f: Finding) -> str:
    where = f" ({f.location.text()})" if f.location else ""
    sub = f" [{f.subject}]"
    return f"[{f.severity.value}] {f.message}{sub}{where}"


def _suite(parent: ET.Element, name: str) -> ET.Element:
    return ET.SubElement(parent, "testsuite", {"name": name})


def _set_counts(element: ET.Element, tests: int, failures: int, errors: int, skipped: int) -> None:
    element.set("tests", str(tests))
    element.set("failures", str(failures))
    element.set("errors", str(errors))
    element.set("skipped", str(skipped))
    element.set("time", "0")


def to_element(result: AuditResult) -> ET.Element:
    checks = {c.id: c for c in result.checks}
    root = ET.Element("testsuites", {"name": "inspect8s audit"})
    totals = [0, 0, 0, 0]
    outcomes_by_scope: dict[Scope, list[Outcome]] = defaultdict(list)
    for o in result.outcomes:
        outcomes_by_scope[checks[o.check_id].scope].append(o)
    for scope in Scope:
        outcomes = outcomes_by_scope.get(scope)
        if not outcomes:
            continue
        suite = _suite(root, f"inspect8s.{scope.value}")
        counts = [0, 0, 0, 0]
        for o in outcomes:
            info = checks[o.check_id]
            case = ET.SubElement(
                suite,
                "testcase",
                {"classname": o.check_id, "name": f"{o.subject}: {info.title}", "time": "0"},
            )
            if o.location is not None:
                case.set("file", o.location.file)
                if o.location.line is not None:
                    case.set("line", str(o.location.line))
            counts[0] += 1
            if o.status is Status.SKIPPED:
                ET.SubElement(case, "skipped", {"message": o.reason or "skipped"})
                counts[3] += 1
                continue
            if o.status is Status.ERROR:
                error = ET.SubElement(
                    case, "error", {"message": o.reason or "error", "type": "CheckError"}
                )
                error.text = f"{o.check_id} raised {o.reason}"
                counts[2] += 1
                continue
            found = o.findings
            active = [f for f in found if f.suppressed is None]
            if active:
                failure = ET.SubElement(
                    case,
                    "failure",
                    {
                        "message": active[0].message
                        if len(active) == 1
                        else f"{len(active)} findings: {active[0].message}; ...",
                        "type": info.severity.value,
                    },
                )
                failure.text = "\n".join(_finding_line(f) for f in active)
                counts[1] += 1
            accepted = [f for f in found if f.suppressed is not None]
            if accepted:
                out = ET.SubElement(case, "system-out")
                out.text = "\n".join(
                    f"accepted: {_finding_line(f)}: {f.suppressed}" for f in accepted
                )
        _set_counts(suite, *counts)
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    if result.errors:
        suite = _suite(root, "inspect8s.probes")
        for probe in result.errors:
            case = ET.SubElement(
                suite, "testcase", {"classname": "probe", "name": probe.source, "time": "0"}
            )
            element = ET.SubElement(
                case, "error", {"message": probe.detail, "type": probe.kind.value}
            )
            element.text = f"could not check {probe.source}: {probe.kind.value}: {probe.detail}"
        n = len(result.errors)
        _set_counts(suite, n, 0, n, 0)
        totals[0] += n
        totals[2] += n
    _set_counts(root, *totals)
    _make_valid(root)
    return root


def render(result: AuditResult, out: TextIO) -> None:
    root = to_element(result)
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")
