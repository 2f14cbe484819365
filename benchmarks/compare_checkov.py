"""inspect8s against Checkov on the public manifest corpus, category by category.

Runs ``inspect8s audit --manifests tests/fixtures/corpus -o json`` and
``checkov -d tests/fixtures/corpus --framework kubernetes -o json`` (Checkov is not a
dependency of inspect8s: install it in a venv of its own and pass ``--checkov PATH``),
times both (wall clock and peak RSS of the child), and compares what each reports per
workload (``Kind/namespace/name``) in each category both tools cover.

Where the tools agree, their common answer counts as the truth. Where they disagree, the
truth is the hand judgement recorded in ``benchmarks/checkov_judgements.yaml`` (read against
the manifest text, with the reason); a disagreement without a judgement is printed and makes
the script exit 1, so the table never rests on a guess.

    python benchmarks/compare_checkov.py --checkov /opt/checkov/bin/checkov [--runs 3]

Prints, per category, TP/FP/FN for each tool, then the timings (median of ``--runs``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "fixtures" / "corpus"
JUDGEMENTS = Path(__file__).with_name("checkov_judgements.yaml")
WORKLOAD_KINDS = {
    "Pod",
    "Deployment",
    "DaemonSet",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "PodTemplate",
}

# category -> (inspect8s check IDs and a message filter, Checkov check IDs)
Matcher = Callable[[dict[str, Any]], bool]


def _ids(*ids: str, text: str | None = None) -> Matcher:
    def match(finding: dict[str, Any]) -> bool:
        return finding["checkId"] in ids and (text is None or text in finding["message"])

    return match


CATEGORIES: dict[str, tuple[Matcher, tuple[str, ...]]] = {
    "privileged": (_ids("I8S-SEC-PRIVILEGED"), ("CKV_K8S_16",)),
    "hostPID": (_ids("I8S-SEC-HOSTPID"), ("CKV_K8S_17",)),
    "hostIPC": (_ids("I8S-SEC-HOSTIPC"), ("CKV_K8S_18",)),
    "hostNetwork": (_ids("I8S-SEC-HOSTNETWORK"), ("CKV_K8S_19",)),
    "privilege escalation allowed": (_ids("I8S-SEC-PRIVESC"), ("CKV_K8S_20",)),
    "hostPort": (_ids("I8S-SEC-HOSTPORT"), ("CKV_K8S_26",)),
    "no memory limit": (_ids("I8S-RES-MEMLIMIT"), ("CKV_K8S_13",)),
    "no memory request": (_ids("I8S-RES-MEMREQ"), ("CKV_K8S_12",)),
    "no CPU limit": (_ids("I8S-RES-CPULIMIT"), ("CKV_K8S_11",)),
    "no CPU request": (_ids("I8S-RES-CPUREQ"), ("CKV_K8S_10",)),
    "capabilities added (other than NET_BIND_SERVICE)": (
        lambda f: _ids("I8S-SEC-CAPS")(f) or _ids("I8S-SEC-CAPS-INSECURE", text=" adds ")(f),
        ("CKV_K8S_25",),
    ),
    # a privileged container holds NET_RAW with every other capability: inspect8s reports it
    # once, as privileged
    "NET_RAW not dropped": (
        lambda f: _ids("I8S-SEC-CAPS-INSECURE", text="NET_RAW")(f) or _ids("I8S-SEC-PRIVILEGED")(f),
        ("CKV_K8S_28",),
    ),
    "runtime socket exposed (the socket or its directory)": (
        _ids("I8S-WL-DOCKERSOCK", "I8S-WL-RUNTIMEDIR"),
        ("CKV_K8S_27",),
    ),
    "may run as root": (_ids("I8S-SEC-RUNASROOT"), ("CKV_K8S_23",)),
    "root filesystem writable": (_ids("I8S-SEC-ROROOTFS"), ("CKV_K8S_22",)),
    "seccomp missing, Unconfined or void": (
        _ids("I8S-SEC-SECCOMP", "I8S-SEC-SECCOMP-UNCONFINED"),
        ("CKV_K8S_31",),
    ),
    "image not pinned (latest or no tag)": (_ids("I8S-SEC-IMAGETAG"), ("CKV_K8S_14",)),
    "service-account token mounted without need": (_ids("I8S-SEC-SATOKEN"), ("CKV_K8S_38",)),
    "sensitive hostPath (not a runtime socket)": (_ids("I8S-SEC-HOSTPATH"), ()),
}


def _timed(cmd: list[str], runs: int) -> tuple[float, int, str]:
    """Median wall time over ``runs`` runs, peak RSS (each run in a fresh child), output."""
    walls = []
    peaks = []
    out = ""
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss // 1024)
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            sys.exit(f"{cmd[0]} failed: exit {os.waitstatus_to_exitcode(status)}")
    return statistics.median(walls), max(peaks), out


def inspect8s_units(doc: dict[str, Any]) -> dict[str, set[str]]:
    units: dict[str, set[str]] = {c: set() for c in CATEGORIES}
    for finding in doc["findings"]:
        workload = "/".join(finding["subject"].split("/")[:3])
        for category, (match, _) in CATEGORIES.items():
            if match(finding):
                units[category].add(workload)
    return units


def checkov_units(doc: dict[str, Any] | list[dict[str, Any]]) -> dict[str, set[str]]:
    reports = doc if isinstance(doc, list) else [doc]
    units: dict[str, set[str]] = {c: set() for c in CATEGORIES}
    for report in reports:
        for failed in report["results"]["failed_checks"]:
            kind, _, rest = failed["resource"].partition(".")
            if kind not in WORKLOAD_KINDS:
                continue
            namespace, _, name = rest.partition(".")
            for category, (_, ids) in CATEGORIES.items():
                if failed["check_id"] in ids:
                    units[category].add(f"{kind}/{namespace}/{name}")
    return units


def load_judgements() -> dict[tuple[str, str], tuple[bool, str]]:
    data = yaml.safe_load(JUDGEMENTS.read_text()) or []
    return {(j["category"], j["workload"]): (bool(j["finding"]), j["reason"]) for j in data}


def score(found: set[str], truth: Iterable[str]) -> tuple[int, int, int]:
    real = set(truth)
    return len(found & real), len(found - real), len(real - found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkov", default="checkov", help="the checkov executable")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    i8s_cmd = [sys.executable, "-m", "inspect8s", "audit", "--manifests", str(CORPUS)]
    i8s_cmd += ["-o", "json", "--fail-on", "none"]
    cko_cmd = [args.checkov, "-d", str(CORPUS), "--framework", "kubernetes", "-o", "json"]
    cko_cmd += ["--quiet", "--compact"]
    i8s_wall, i8s_rss, i8s_out = _timed(i8s_cmd, args.runs)
    cko_wall, cko_rss, cko_out = _timed(cko_cmd, args.runs)
    mine = inspect8s_units(json.loads(i8s_out))
    theirs = checkov_units(json.loads(cko_out))
    judgements = load_judgements()
    unjudged = []
    used = set()
    print("| category | inspect8s TP/FP/FN | Checkov TP/FP/FN |")
    print("|---|---|---|")
    totals = [0, 0, 0, 0, 0, 0]
    for category, (_, ids) in CATEGORIES.items():
        truth = set(mine[category] & theirs[category]) if ids else set()
        candidates = mine[category] | theirs[category]
        for unit in sorted(candidates):
            agree = ids and (unit in mine[category]) == (unit in theirs[category])
            if agree:
                continue
            judged = judgements.get((category, unit))
            if judged is None:
                unjudged.append((category, unit, unit in mine[category]))
                continue
            used.add((category, unit))
            if judged[0]:
                truth.add(unit)
        a = score(mine[category], truth)
        b = score(theirs[category], truth) if ids else None
        if b is not None:  # totals over the categories both tools cover
            totals[:3] = [x + y for x, y in zip(totals[:3], a, strict=True)]
            totals[3:] = [x + y for x, y in zip(totals[3:], b, strict=True)]
        shown_b = "/".join(map(str, b)) if b is not None else "no check"
        print(f"| {category} | {'/'.join(map(str, a))} | {shown_b} |")
    mine_all, theirs_all = "/".join(map(str, totals[:3])), "/".join(map(str, totals[3:]))
    print(f"| **categories both cover** | {mine_all} | {theirs_all} |")
    print()
    print(
        f"inspect8s: median {i8s_wall:.2f} s, peak RSS {i8s_rss} MiB; "
        f"Checkov: median {cko_wall:.2f} s, peak RSS {cko_rss} MiB "
        f"({args.runs} runs each; ratio {i8s_wall / cko_wall:.3f})"
    )
    stale = sorted(set(judgements) - used)
    for category, unit in stale:
        print(f"judgement no longer needed (the tools agree): {category}: {unit}")
    for category, unit, by_me in unjudged:
        who = "inspect8s" if by_me else "Checkov"
        print(f"UNJUDGED: {category}: {unit} (only {who} reports it)")
    return 1 if unjudged else 0


if __name__ == "__main__":
    raise SystemExit(main())
