"""``-o jsonpath=TEMPLATE``: kubectl's JSONPath templates over a view's JSON document.

The template syntax is kubectl's (kubernetes.io/docs/reference/kubectl/jsonpath/): text
outside braces is printed as it is; ``{EXPR}`` prints what the expression selects,
several results separated by a space; ``{range EXPR}...{end}`` repeats its body for each
result, with ``@`` (and a leading ``.``) meaning the current item; ``{"\\n"}`` is a
literal with backslash escapes. Expressions are JSONPath (``.a.b``, ``[0]``, ``[*]``,
``[1:3]``, ``..name``, ``['key.with.dots']``, filters ``[?(@.x=="y")]``), evaluated by the
maintained ``jsonpath-ng`` library. Strings print raw, ``null`` prints nothing, numbers and
booleans as JSON, objects and lists as compact JSON. A key that is not there selects
nothing (kubectl's default, ``--allow-missing-template-keys=true``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from inspect8s.errors import UsageError
from inspect8s.model.frozen import frozen

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


@frozen
class _Text:
    text: str


@frozen
class _Expr:
    source: str
    parsed: Any  # a jsonpath_ng expression


@frozen
class _Range:
    expr: _Expr
    body: tuple[_Text | _Expr | _Range, ...]


Node = _Text | _Expr | _Range


@frozen
class Template:
    source: str
    nodes: tuple[Node, ...]

    def render(self, doc: Any) -> str:
        """The template applied to ``doc`` (a JSON document as Python data)."""
        return "".join(_render(self.nodes, doc))


def _literal(body: str) -> str:
    """A quoted literal ``"..."`` or ``'...'`` with backslash escapes."""
    out, i = [], 1
    while i < len(body) - 1:
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) - 1:
            nxt = body[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _split(template: str) -> list[tuple[str, str]]:
    """``template`` as ("text", ...) and ("action", ...) pieces; braces inside quotes do
    not end an action."""
    pieces: list[tuple[str, str]] = []
    i, text = 0, []
    while i < len(template):
        ch = template[i]
        if ch != "{":
            text.append(ch)
            i += 1
            continue
        if text:
            pieces.append(("text", "".join(text)))
            text = []
        j, quote, depth = i + 1, "", 0
        while j < len(template):
            c = template[j]
            if quote:
                if c == "\\":
                    j += 1
                elif c == quote:
                    quote = ""
            elif c in "\"'":
                quote = c
            elif c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
            elif c == "}" and depth <= 0:
                break
            j += 1
        if j >= len(template):
            raise UsageError(f"jsonpath: unclosed action in {template!r} (at {i + 1})")
        pieces.append(("action", template[i + 1 : j].strip()))
        i = j + 1
    if text:
        pieces.append(("text", "".join(text)))
    return pieces


def _expression(source: str) -> _Expr:
    from jsonpath_ng.ext.parser import parse

    path = source
    if path in ("@", "$"):
        path = "$"
    elif path.startswith("@"):
        path = "$" + path[1:]
    elif path.startswith("..") or path.startswith(".") or path.startswith("["):
        path = "$" + path
    elif not path.startswith("$"):
        path = "$." + path
    try:
        return _Expr(source, parse(path))
    except Exception as exc:  # jsonpath-ng's lexer, parser and its own plain Exceptions
        raise UsageError(f"jsonpath: cannot parse {{{source}}}: {exc}") from None


def parse_template(template: str) -> Template:
    """A kubectl JSONPath template; UsageError (exit 2) when it does not parse."""
    stack: list[list[Node]] = [[]]
    ranges: list[_Expr] = []
    for kind, body in _split(template):
        if kind == "text":
            stack[-1].append(_Text(body))
        elif body == "end":
            if not ranges:
                raise UsageError("jsonpath: {end} without {range}")
            nodes = tuple(stack.pop())
            stack[-1].append(_Range(ranges.pop(), nodes))
        elif body.startswith("range ") or body == "range":
            ranges.append(_expression(body[5:].strip() or "@"))
            stack.append([])
        elif len(body) >= 2 and body[0] == body[-1] and body[0] in "\"'":
            stack[-1].append(_Text(_literal(body)))
        elif not body:
            raise UsageError("jsonpath: empty action {}")
        else:
            stack[-1].append(_expression(body))
    if ranges:
        raise UsageError("jsonpath: {range} without {end}")
    return Template(template, tuple(stack[0]))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=False)


def _matches(expr: _Expr, doc: Any) -> list[Any]:
    return [m.value for m in expr.parsed.find(doc)]


def _render(nodes: Sequence[Node], doc: Any) -> list[str]:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Expr):
            out.append(" ".join(_text(v) for v in _matches(node, doc)))
        else:
            items = _matches(node.expr, doc)
            if len(items) == 1 and isinstance(items[0], list):
                items = items[0]  # {range .items} as {range .items[*]}, as kubectl does
            for item in items:
                out.extend(_render(node.body, item))
    return out
