"""What ``inspect8s record`` takes out of a bundle before it is written: every credential.

A bundle is meant to be handed to others, so values are replaced by ``***`` on the way in:

* **every environment value** in runtime answers and JSON files, whatever its name: CRI
  ``envs`` (``{"key", "value"}``), OCI ``process.env`` and Docker ``Env`` (``"NAME=value"``),
  Kubernetes ``env`` (``{"name", "value"}``), also inside JSON held in a string (the
  ``kubectl.kubernetes.io/last-applied-configuration`` annotation that runtimes copy into
  sandbox annotations, OCI state labels and Docker labels);
* the value of **every key, flag or variable whose name looks secret** (``token``,
  ``password``, ``secret``, ``api-key``, ``credential``, ``private-key``, ``*-key-data``,
  ...), anywhere: JSON, YAML/TOML ``key: value`` lines, ``--flag=value`` and ``--flag value``,
  ``NAME=value`` words (systemd ``Environment=`` lines with several assignments included),
  command lines; names ending in ``-file``, ``-path``, ``-dir``, ``Name``, ``Ref`` ... only
  say where a secret is and stay;
* the ``user:password@`` part of URLs, ``Bearer`` tokens, and the body of PEM private keys.

Text keeps its lines and JSON files their layout (each string is replaced where it stands),
so findings on a replayed bundle point at the same line as on the node. Every function
returns the number of values it replaced; a value already ``***`` is not counted again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from enum import Enum
from typing import Any

REDACTED = "***"
_QUOTED_REDACTED = (REDACTED, f'"{REDACTED}"', f"'{REDACTED}'")

# A flag, key or variable name that holds a secret, and name endings that only say where
# one is kept (the name of a file, a Secret object, a reference) or describe it.
_SECRET_NAME = re.compile(
    r"(?i)(token|passw(or)?d|secret|api[-_]?key|access[-_]?key|private[-_]?key|"
    r"client[-_]?key|key[-_]?data|credential|bearer|auth[-_]?key|signing[-_]?key)"
)
_NOT_SECRET = re.compile(
    r"(?i)((file|files|path|paths|dir|webhook|ttl|mode|duration|name|names|ref|namespace|"
    r"type|kind|enabled)|[-_.]ca)$"
)
_SECRET_KEYS = frozenset(
    {"password", "passwd", "auth", "token", "identitytoken", "identity_token",
     "registrytoken", "secret", "client_secret", "bearer_token", "bearertoken", "apikey",
     "api_key", "authorization"}
)  # fmt: skip
_ENV_KEYS = frozenset({"env", "envs", "environment"})

_URL_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)([^/\s:@\"']+:[^/\s@\"']+)@")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})")
_FLAG = re.compile(r"(--?[A-Za-z0-9_.-]+)(=|[ \t]+)(\"[^\"]*\"|'[^']*'|[^\s\"']+)")
_ASSIGN = re.compile(r"(?<![A-Za-z0-9_.-])([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|'[^']*'|[^\s\"']*)")
_WHOLE_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.S)
_KEY_VALUE = re.compile(
    r"^(\s*-?\s*[\"']?)([A-Za-z0-9_.-]+)([\"']?\s*[:=]\s*)(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s,#]+)"
)
_JSON_PAIR = re.compile(r"\"([^\"\\]+)\"(\s*:\s*)\"((?:[^\"\\]|\\.)*)\"")
_SCHEMES = frozenset({"bearer", "basic"})
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY-----")


def secret_name(name: str) -> bool:
    """Whether a key, flag or variable called ``name`` holds a secret."""
    bare = name.strip("\"'").lstrip("-")
    if bare.lower() in _SECRET_KEYS:
        return True
    return bool(_SECRET_NAME.search(bare)) and not _NOT_SECRET.search(bare)


def _done(value: str) -> bool:
    return value in _QUOTED_REDACTED or value.strip("\"'") == ""


def _quoted_like(value: str) -> str:
    if value[:1] in ("'", '"') and value[-1:] == value[:1] and len(value) > 1:
        return f"{value[0]}{REDACTED}{value[0]}"
    return REDACTED


def redact_line(line: str) -> tuple[str, int]:
    """Secrets in one line of text: assignments, flags, ``key: value``, JSON pairs, URL
    passwords and Bearer tokens. Pure."""
    count = 0

    def assign(match: re.Match[str]) -> str:
        nonlocal count
        name, value = match.group(1), match.group(2)
        if _done(value):
            return match.group(0)
        if secret_name(name):
            count += 1
            return f"{name}={_quoted_like(value)}"
        # Not secret itself, but the value may hold more: Environment=A=1 "B_TOKEN=x",
        # KUBELET_EXTRA_ARGS="--token=x".
        quote = value[0] if value[:1] in ("'", '"') and len(value) > 1 else ""
        inner = value[1:-1] if quote else value
        whole = _WHOLE_ASSIGN.fullmatch(inner) if quote else None
        if whole and secret_name(whole.group(1)) and not _done(whole.group(2)):
            # A quoted systemd word is one assignment, spaces and all: "DB_PASSWORD=x y".
            count += 1
            return f"{name}={quote}{whole.group(1)}={REDACTED}{quote}"
        new_inner, n = redact_line(inner)
        count += n
        return f"{name}={quote}{new_inner}{quote}" if n else match.group(0)

    def flag(match: re.Match[str]) -> str:
        nonlocal count
        value = match.group(3)
        if _done(value) or not secret_name(match.group(1)) or value.startswith("-"):
            return match.group(0)
        count += 1
        return f"{match.group(1)}{match.group(2)}{_quoted_like(value)}"

    def pair(match: re.Match[str]) -> str:
        nonlocal count
        if not secret_name(match.group(1)) or _done(match.group(3)):
            return match.group(0)
        count += 1
        return f'"{match.group(1)}"{match.group(2)}"{REDACTED}"'

    def userinfo(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(2) == REDACTED:
            return match.group(0)
        count += 1
        return f"{match.group(1)}{REDACTED}@"

    def bearer(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"{match.group(1)}{match.group(2)}{REDACTED}"

    line = _ASSIGN.sub(assign, line)
    line = _FLAG.sub(flag, line)
    line = _JSON_PAIR.sub(pair, line)
    line = _BEARER.sub(bearer, line)
    match = _KEY_VALUE.match(line)
    if match and secret_name(match.group(2)) and not _done(match.group(4)):
        value = match.group(4)
        # A block or flow value is redacted where its items are; "Bearer x" just above.
        if not value.startswith(("{", "[", "|", ">")) and value.lower() not in _SCHEMES:
            line = line[: match.start(4)] + _quoted_like(value) + line[match.end(4) :]
            count += 1
    line = _URL_USERINFO.sub(userinfo, line)
    return line, count


def redact_text(text: str) -> tuple[str, int]:
    """Redact secrets in a config, unit or env file, line by line (lines stay). Pure."""
    lines = text.split("\n")
    total = 0
    in_key = False
    for i, line in enumerate(lines):
        if in_key:
            if _PEM_END.search(line):
                in_key = False
            elif line.strip() and line.strip() != REDACTED:
                lines[i] = REDACTED
            continue
        if _PEM_BEGIN.search(line) and not _PEM_END.search(line):
            in_key = True
            total += 1
            continue
        lines[i], n = redact_line(line)
        total += n
    return "\n".join(lines), total


def redact_args(args: Sequence[str]) -> tuple[list[str], int]:
    """Redact a command line: ``--token=x``, ``--password x``, ``X_TOKEN=x`` and URL
    passwords. Returns (args, number of values replaced). Pure."""
    out: list[str] = []
    count = 0
    skip_next = False
    for i, arg in enumerate(args):
        if skip_next:
            skip_next = False
            if arg != REDACTED:
                out.append(REDACTED)
                count += 1
                continue
        new = arg
        n = 0
        if arg.startswith("-"):
            name, sep, value = arg.partition("=")
            if secret_name(name):
                if sep and value and value != REDACTED:
                    new, n = f"{name}={REDACTED}", 1
                elif not sep and i + 1 < len(args) and not args[i + 1].startswith("-"):
                    skip_next = True
        elif "=" in arg:
            name, _, value = arg.partition("=")
            if name.isidentifier() and secret_name(name) and value and value != REDACTED:
                new, n = f"{name}={REDACTED}", 1
        if not n:
            new, n = redact_line(arg) if "://" in arg or "earer" in arg else (arg, 0)
        count += n
        out.append(new)
    return out, count


# --------------------------------------------------------------------------- JSON


class _Mode(Enum):
    PLAIN = "plain"  # look at keys and strings
    SECRET = "secret"  # every string and number is a secret (the value of a secret key)
    ENV = "env"  # the value of an env key: "NAME=value" strings, {name|key, value} objects
    ENV_ITEM = "env-item"  # one {name|key, value} object of an env list


def _child(mode: _Mode, key: str | None) -> _Mode:
    """The mode of a member (``key`` given) or list item (``key`` None) of a container."""
    if mode is _Mode.SECRET:
        return _Mode.SECRET
    if mode is _Mode.ENV:
        return _Mode.ENV_ITEM if key is None else _Mode.SECRET  # a list item; a map value
    if mode is _Mode.ENV_ITEM:
        return _Mode.SECRET if key == "value" else _Mode.PLAIN
    if key is None:
        return _Mode.PLAIN
    if key.lower() in _ENV_KEYS:
        return _Mode.ENV
    return _Mode.SECRET if secret_name(key) else _Mode.PLAIN


def _env_string(value: str) -> tuple[str, int]:
    name, sep, rest = value.partition("=")
    if not sep or rest in ("", REDACTED):
        return value, 0
    return f"{name}={REDACTED}", 1


def _embedded(value: str) -> tuple[str, int] | None:
    """A string that holds a JSON object or array, redacted (None: it holds none)."""
    head = value.lstrip()[:1]
    if head not in ("{", "["):
        return None
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict | list):
        return None
    redacted, n = redact_json(parsed)
    if not n:
        return value, 0
    return json.dumps(redacted, separators=(",", ":"), ensure_ascii=False), n


def _leaf(mode: _Mode, value: Any) -> tuple[Any, int]:
    if isinstance(value, bool) or value is None:
        return value, 0
    if mode is _Mode.SECRET or (mode is _Mode.ENV and not isinstance(value, str)):
        if isinstance(value, int | float) or (isinstance(value, str) and not _done(value)):
            return REDACTED, 1
        return value, 0
    if not isinstance(value, str):
        return value, 0
    if mode is _Mode.ENV or mode is _Mode.ENV_ITEM:
        return _env_string(value)
    embedded = _embedded(value)
    if embedded is not None:
        return embedded
    return redact_line(value)


def redact_json(value: Any, *, everything: bool = False) -> tuple[Any, int]:
    """A copy of parsed JSON (a runtime answer) with its secrets replaced; ``everything``
    replaces every string and number in it."""
    return _redact(value, _Mode.SECRET if everything else _Mode.PLAIN)


def _redact(value: Any, mode: _Mode) -> tuple[Any, int]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        total = 0
        for key, item in value.items():
            out[key], n = _redact(item, _child(mode, str(key)))
            total += n
        return out, total
    if isinstance(value, list):
        items = [_redact(v, _child(mode, None)) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    if mode is _Mode.ENV_ITEM:  # a plain "NAME=value" entry of an env list
        mode = _Mode.ENV
    return _leaf(mode, value)


def _decode(token: str) -> Any:
    if token[0] == '"' and "\\" not in token:
        return token[1:-1]
    return json.loads(token)


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


def redact_json_text(text: str) -> tuple[str, int] | None:
    """Redact a JSON document in place, keeping its layout (every replaced string stays
    where it was, on its line). None when ``text`` is not JSON."""
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return None
    out: list[str] = []
    total = 0
    last = 0
    # One frame per open container: [is_object, mode, key, expecting_key]
    stack: list[list[Any]] = []
    mode_top = _Mode.PLAIN

    def value_mode() -> _Mode:
        if not stack:
            return mode_top
        frame = stack[-1]
        return _child(frame[1], frame[2] if frame[0] else None)

    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{", "["):
            stack.append([token == "{", value_mode(), None, token == "{"])
            continue
        if token in ("}", "]"):
            stack.pop()
            continue
        if token == ":":
            stack[-1][3] = False
            continue
        if token == ",":
            if stack and stack[-1][0]:
                stack[-1][3] = True
            continue
        if stack and stack[-1][0] and stack[-1][3]:  # an object's key
            stack[-1][2] = _decode(token)
            continue
        mode = value_mode()
        if mode is _Mode.ENV_ITEM:
            mode = _Mode.ENV
        if token[0] != '"' and mode is _Mode.PLAIN:
            continue  # a number, true, false or null outside secrets
        new, n = _leaf(mode, _decode(token))
        if n:
            total += n
            out.append(text[last : match.start()])
            out.append(json.dumps(new, ensure_ascii=False))
            last = match.end()
    if not total:
        return text, 0
    out.append(text[last:])
    return "".join(out), total


# --------------------------------------------------------------------------- host files

_CMDLINE = re.compile(r"^/proc/\d+/(cmdline|environ)$")
# Kernel-made files: their text is not configuration and is kept as read.
_PSEUDO = ("/proc/", "/sys/")


def redact_file(path: str, data: bytes) -> tuple[bytes, int]:
    """Redact one host file as it goes into a bundle. Pure."""
    if _CMDLINE.match(path):
        args = data.decode("utf-8", errors="surrogateescape").split("\0")
        trailing = args[-1] == ""
        redacted, n = redact_args(args[:-1] if trailing else args)
        if path.endswith("/environ"):
            redacted, m = _environ(redacted)
            n += m
        joined = "\0".join(redacted) + ("\0" if trailing else "")
        return joined.encode("utf-8", errors="surrogateescape"), n
    if path.startswith(_PSEUDO) or b"\0" in data[:4096]:
        return data, 0
    text = data.decode("utf-8", errors="surrogateescape")
    if text.lstrip()[:1] in ("{", "["):
        done = redact_json_text(text)
        if done is not None:
            return done[0].encode("utf-8", errors="surrogateescape"), done[1]
    text, n = redact_text(text)
    return text.encode("utf-8", errors="surrogateescape"), n


def _environ(entries: list[str]) -> tuple[list[str], int]:
    """A process environment: every value goes."""
    out: list[str] = []
    total = 0
    for entry in entries:
        new, n = _env_string(entry)
        out.append(new)
        total += n
    return out, total
