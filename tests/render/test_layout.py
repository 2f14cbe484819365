"""render/layout.py: eliding, wrapping, ID prefixes and fitting tables to a width."""

from __future__ import annotations

import io
import os
import pty

from hypothesis import given, settings
from hypothesis import strategies as st

from inspect8s.render.layout import (
    SHORT_ID,
    Column,
    Fit,
    Page,
    Screen,
    elide,
    fit_line,
    fit_table,
    id_prefix_length,
    shorten_ids,
    terminal_width,
    text_width,
    wrap,
)

CID_A = "a58ecf2e0cf05f5d5dd8222383af9dfb1aba2d61962b71e96817d985def383e3"
CID_B = "a58ecf2e0cf05f5d0000000000000000000000000000000000000000000000ff"
SCREEN = Screen(width=100)


def test_elide_keeps_both_ends_and_the_last_path_component() -> None:
    assert elide("/run/containerd/containerd.sock", 22) == "/run/…/containerd.sock"
    assert elide("short", 10) == "short"
    text = "uid:19a9fc9c-9b8f-4419-8ac9-baace06bc3fe"
    got = elide(text, 21)
    assert text_width(got) == 21
    head, tail = got.split("…")
    assert text.startswith(head) and text.endswith(tail) and len(head) >= len(tail)
    assert elide("abcdef", 3, "...") == "abc"  # no room for an ellipsis: the start


def test_ids_are_cut_to_a_prefix_that_tells_them_apart() -> None:
    assert id_prefix_length([f"x {CID_A}", "no id here"]) == SHORT_ID
    # two IDs that share 16 digits need 17 to be told apart
    assert id_prefix_length([CID_A, f"/crio-{CID_B}.scope"]) == 17
    assert shorten_ids(f"/crio-{CID_A}.scope", 13, "…") == "/crio-a58ecf2e0cf05….scope"
    # short hex (a PID, a 13-digit ID) and non-hex runs are left alone
    assert shorten_ids("a58ecf2e0cf05 and 0b1c2d3e_4f5a", 13, "…") == (
        "a58ecf2e0cf05 and 0b1c2d3e_4f5a"
    )


def test_wrap_breaks_at_spaces_then_after_separators() -> None:
    assert wrap("at tests/fixtures/manifests/golden/workloads.yaml#2:54", 40) == [
        "at tests/fixtures/manifests/golden/",
        "workloads.yaml#2:54",
    ]
    assert wrap("host:/proc/720/cmdline", 19) == ["host:/proc/720/", "cmdline"]
    assert wrap("a\nb c", 3) == ["a", "b c"]
    assert wrap("x  y   zz", 4) == ["x  y", "zz"]  # spaces inside a line are kept
    assert wrap("", 5) == [""]


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab/-_. ,;x\n"), max_size=200),
    st.integers(min_value=1, max_value=60),
)
def test_wrap_never_overflows_and_loses_nothing(text: str, width: int) -> None:
    lines = wrap(text, width)
    assert all(text_width(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "").replace("\n", "")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.integers(min_value=2, max_value=60))
def test_elide_fits_and_keeps_the_ends(text: str, width: int) -> None:
    got = elide(text, width)
    assert text_width(got) <= width
    if text_width(text) <= width:
        assert got == text
    elif "…" in got and width > 2:
        head = got.split("…", 1)[0]
        assert text.startswith(head)


def test_wide_characters_take_two_columns() -> None:
    assert text_width("日本") == 4
    assert text_width("e\u0301") == 1
    assert all(text_width(line) <= 5 for line in wrap("日本語の文章です", 5))


def _rows() -> list[list[object]]:
    return [
        [
            f"ns-{i}/pod-with-a-rather-long-name-{i}",
            "containerd",
            (CID_A if i % 2 else CID_B)[:SHORT_ID],
            1000 + i,
            "Burstable",
            "/kubepods.slice/kubepods-burstable.slice/"
            f"cri-containerd-{(CID_B, CID_A)[i % 2]}.scope",
        ]
        for i in range(4)
    ]


COLUMNS = (
    Column("POD", Fit.ELIDE),
    Column("RUNTIME", drop=2),
    Column("ID"),
    Column("PID"),
    Column("QOS", drop=1),
    Column("CGROUP", Fit.WRAP),
)


def test_fit_table_fits_and_keeps_the_id_prefix() -> None:
    for width in (100, 80, 60):
        lines = fit_table(_rows(), COLUMNS, width, screen=Screen(width=width))
        assert max(map(text_width, lines)) <= width, (width, lines)
        body = "\n".join(lines)
        assert CID_A[:SHORT_ID] in body and CID_B[:SHORT_ID] in body
        assert lines[0].split()[:1] == ["POD"]


def test_fit_table_drops_uniform_columns_first_and_keeps_everything_when_it_fits() -> None:
    lines = fit_table(_rows(), COLUMNS, 70, screen=Screen(width=70))
    header = lines[0].split()
    assert "RUNTIME" not in header  # the same on every row
    assert {"POD", "ID", "PID", "CGROUP"} <= set(header)
    wide = fit_table(_rows(), COLUMNS, 400, screen=Screen(width=400))
    assert len(wide) == 1 + len(_rows())  # no wrapping at all
    assert CID_A in "\n".join(wide)


def test_dropped_column_folds_under_its_target() -> None:
    rows = [["high", "I8S-X", "a long message " * 6, "deploy/web.yaml#0:12"]]
    columns = (
        Column("SEVERITY"),
        Column("CHECK"),
        Column("MESSAGE", Fit.WRAP),
        Column("LOCATION", Fit.WRAP, drop=1, fold="MESSAGE", fold_prefix="at "),
    )
    lines = fit_table(rows, columns, 44, screen=Screen(width=44), rule=True)
    assert "LOCATION" not in lines[0]
    assert set(lines[1]) == {"-", " "}
    assert any(line.strip().endswith("at deploy/web.yaml#0:12") for line in lines)
    assert max(map(text_width, lines)) <= 44


def test_no_headers() -> None:
    lines = fit_table(_rows(), COLUMNS, 100, screen=Screen(width=100, headers=False))
    assert not any(line.startswith("POD") for line in lines)
    out = io.StringIO()
    Page(out, Screen(headers=False)).table(_rows(), COLUMNS, tablefmt="simple")
    assert "POD" not in out.getvalue() and "---" not in out.getvalue()


def test_fit_line_wraps_under_a_hanging_indent() -> None:
    text = "  could not check host:/sys/fs/cgroup/" + "kubepods.slice/" * 8 + "memory.max: missing"
    lines = fit_line(text, 50, screen=SCREEN)
    assert lines[0].startswith("  could") and all(x.startswith("    ") for x in lines[1:])
    assert max(map(text_width, lines)) <= 50
    assert fit_line("short", 50, screen=SCREEN) == ["short"]


def test_terminal_width_only_for_terminals() -> None:
    assert terminal_width(io.StringIO(), {"COLUMNS": "100"}) is None
    leader, follower = pty.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as tty:
            assert terminal_width(tty, {"COLUMNS": "123"}) == 123
            assert terminal_width(tty, {"COLUMNS": "junk"}) is not None
    finally:
        os.close(leader)
        os.close(follower)


def test_piped_page_is_tabulate_byte_for_byte() -> None:
    from tabulate import tabulate

    out = io.StringIO()
    Page(out, Screen()).table(_rows(), COLUMNS)
    headers = [c.header for c in COLUMNS]
    want = tabulate(_rows(), headers=headers, tablefmt="plain", disable_numparse=True)
    assert out.getvalue() == want + "\n"
    assert CID_A in out.getvalue()
