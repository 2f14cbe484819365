"""systemd ``EnvironmentFile=`` files (kubeadm-flags.env, /etc/default/kubelet, ...).

The format is systemd's, as systemd.exec(5) "EnvironmentFile=" describes it: one
``NAME=value`` per line; lines starting with ``#`` or ``;`` are comments; lines without
``=`` are ignored; a value may be single-quoted (verbatim, may span lines), double-quoted
(shell double-quote escapes ``\\" \\\\ \\` \\$``, may span lines) or unquoted (backslash
escapes the next character, a trailing backslash continues the line); whitespace around
the value is dropped. systemd ignores assignments whose name is not a valid variable
name, and so do we. An unterminated quote makes systemd refuse the file: that is a
MALFORMED error naming the line where the value starts.
"""

from __future__ import annotations

from inspect8s.model.frozen import frozen
from inspect8s.nodeconfig._parse import malformed

_WS = " \t\r"


@frozen
class EnvAssignment:
    name: str
    value: str
    line: int  # 1-based line where the assignment starts


def _valid_name(name: str) -> bool:
    return (
        bool(name)
        and (name[0].isascii() and (name[0].isalpha() or name[0] == "_"))
        and all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in name)
    )


def parse_env_file(text: str, path: str) -> dict[str, EnvAssignment]:
    """Parse an environment file; later assignments of a name replace earlier ones."""
    out: dict[str, EnvAssignment] = {}
    i, n, line = 0, len(text), 1
    while i < n:
        ch = text[i]
        if ch in _WS:
            i += 1
            continue
        if ch == "\n":
            line += 1
            i += 1
            continue
        if ch in "#;":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        start_line = line
        eq = i
        while eq < n and text[eq] not in "=\n":
            eq += 1
        if eq >= n or text[eq] == "\n":
            i = eq  # no "=": systemd ignores the line
            continue
        name = text[i:eq].strip(_WS)
        i = eq + 1
        while i < n and text[i] in _WS:
            i += 1
        buf: list[str] = []
        if i < n and text[i] == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise malformed(path, f"unterminated single quote in {name}=", start_line)
            chunk = text[i + 1 : end]
            line += chunk.count("\n")
            buf.append(chunk)
            i = end + 1
        elif i < n and text[i] == '"':
            j = i + 1
            while True:
                if j >= n:
                    raise malformed(path, f"unterminated double quote in {name}=", start_line)
                c = text[j]
                if c == '"':
                    break
                if c == "\\" and j + 1 < n:
                    nxt = text[j + 1]
                    if nxt == "\n":
                        line += 1
                    elif nxt in '"\\`$':
                        buf.append(nxt)
                    else:
                        buf.append(c + nxt)
                    j += 2
                    continue
                if c == "\n":
                    line += 1
                buf.append(c)
                j += 1
            i = j + 1
        # Unquoted text (or what follows a closing quote) up to the end of the line.
        while i < n and text[i] != "\n":
            c = text[i]
            if c == "\\" and i + 1 < n:
                nxt = text[i + 1]
                if nxt == "\n":
                    line += 1
                else:
                    buf.append(nxt)
                i += 2
                continue
            buf.append(c)
            i += 1
        value = "".join(buf).rstrip(_WS)
        if _valid_name(name):
            out[name] = EnvAssignment(name, value, start_line)
    return out
