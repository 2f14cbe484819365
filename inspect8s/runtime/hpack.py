"""HPACK (RFC 7541), the header compression of HTTP/2, as the CRI client needs it.

The encoder writes every field as a literal without indexing (RFC 7541 section 6.2.2),
naming it by its static-table index when the table has the name: the client's few request
headers stay small and the peer's decoder table is never touched. The decoder is complete:
indexed fields, the three literal forms, the static table (Appendix A), a dynamic table
with size updates and eviction (section 4), integer prefixes (section 5.1) and Huffman
strings (section 5.2, the code of Appendix B).

Names and values are ``str`` decoded as Latin-1, so every octet survives unchanged.
"""

from __future__ import annotations

# RFC 7541 Appendix A.
STATIC_TABLE: tuple[tuple[str, str], ...] = (
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
)

# RFC 7541 Appendix B: (code aligned to the least significant bit, length in bits) of the
# symbols 0 to 255 and EOS (256), in symbol order.
HUFFMAN_CODES: tuple[tuple[int, int], ...] = (
    (0x1FF8, 13), (0x7FFFD8, 23), (0xFFFFFE2, 28), (0xFFFFFE3, 28),
    (0xFFFFFE4, 28), (0xFFFFFE5, 28), (0xFFFFFE6, 28), (0xFFFFFE7, 28),
    (0xFFFFFE8, 28), (0xFFFFEA, 24), (0x3FFFFFFC, 30), (0xFFFFFE9, 28),
    (0xFFFFFEA, 28), (0x3FFFFFFD, 30), (0xFFFFFEB, 28), (0xFFFFFEC, 28),
    (0xFFFFFED, 28), (0xFFFFFEE, 28), (0xFFFFFEF, 28), (0xFFFFFF0, 28),
    (0xFFFFFF1, 28), (0xFFFFFF2, 28), (0x3FFFFFFE, 30), (0xFFFFFF3, 28),
    (0xFFFFFF4, 28), (0xFFFFFF5, 28), (0xFFFFFF6, 28), (0xFFFFFF7, 28),
    (0xFFFFFF8, 28), (0xFFFFFF9, 28), (0xFFFFFFA, 28), (0xFFFFFFB, 28),
    (0x14, 6), (0x3F8, 10), (0x3F9, 10), (0xFFA, 12),
    (0x1FF9, 13), (0x15, 6), (0xF8, 8), (0x7FA, 11),
    (0x3FA, 10), (0x3FB, 10), (0xF9, 8), (0x7FB, 11),
    (0xFA, 8), (0x16, 6), (0x17, 6), (0x18, 6),
    (0x0, 5), (0x1, 5), (0x2, 5), (0x19, 6),
    (0x1A, 6), (0x1B, 6), (0x1C, 6), (0x1D, 6),
    (0x1E, 6), (0x1F, 6), (0x5C, 7), (0xFB, 8),
    (0x7FFC, 15), (0x20, 6), (0xFFB, 12), (0x3FC, 10),
    (0x1FFA, 13), (0x21, 6), (0x5D, 7), (0x5E, 7),
    (0x5F, 7), (0x60, 7), (0x61, 7), (0x62, 7),
    (0x63, 7), (0x64, 7), (0x65, 7), (0x66, 7),
    (0x67, 7), (0x68, 7), (0x69, 7), (0x6A, 7),
    (0x6B, 7), (0x6C, 7), (0x6D, 7), (0x6E, 7),
    (0x6F, 7), (0x70, 7), (0x71, 7), (0x72, 7),
    (0xFC, 8), (0x73, 7), (0xFD, 8), (0x1FFB, 13),
    (0x7FFF0, 19), (0x1FFC, 13), (0x3FFC, 14), (0x22, 6),
    (0x7FFD, 15), (0x3, 5), (0x23, 6), (0x4, 5),
    (0x24, 6), (0x5, 5), (0x25, 6), (0x26, 6),
    (0x27, 6), (0x6, 5), (0x74, 7), (0x75, 7),
    (0x28, 6), (0x29, 6), (0x2A, 6), (0x7, 5),
    (0x2B, 6), (0x76, 7), (0x2C, 6), (0x8, 5),
    (0x9, 5), (0x2D, 6), (0x77, 7), (0x78, 7),
    (0x79, 7), (0x7A, 7), (0x7B, 7), (0x7FFE, 15),
    (0x7FC, 11), (0x3FFD, 14), (0x1FFD, 13), (0xFFFFFFC, 28),
    (0xFFFE6, 20), (0x3FFFD2, 22), (0xFFFE7, 20), (0xFFFE8, 20),
    (0x3FFFD3, 22), (0x3FFFD4, 22), (0x3FFFD5, 22), (0x7FFFD9, 23),
    (0x3FFFD6, 22), (0x7FFFDA, 23), (0x7FFFDB, 23), (0x7FFFDC, 23),
    (0x7FFFDD, 23), (0x7FFFDE, 23), (0xFFFFEB, 24), (0x7FFFDF, 23),
    (0xFFFFEC, 24), (0xFFFFED, 24), (0x3FFFD7, 22), (0x7FFFE0, 23),
    (0xFFFFEE, 24), (0x7FFFE1, 23), (0x7FFFE2, 23), (0x7FFFE3, 23),
    (0x7FFFE4, 23), (0x1FFFDC, 21), (0x3FFFD8, 22), (0x7FFFE5, 23),
    (0x3FFFD9, 22), (0x7FFFE6, 23), (0x7FFFE7, 23), (0xFFFFEF, 24),
    (0x3FFFDA, 22), (0x1FFFDD, 21), (0xFFFE9, 20), (0x3FFFDB, 22),
    (0x3FFFDC, 22), (0x7FFFE8, 23), (0x7FFFE9, 23), (0x1FFFDE, 21),
    (0x7FFFEA, 23), (0x3FFFDD, 22), (0x3FFFDE, 22), (0xFFFFF0, 24),
    (0x1FFFDF, 21), (0x3FFFDF, 22), (0x7FFFEB, 23), (0x7FFFEC, 23),
    (0x1FFFE0, 21), (0x1FFFE1, 21), (0x3FFFE0, 22), (0x1FFFE2, 21),
    (0x7FFFED, 23), (0x3FFFE1, 22), (0x7FFFEE, 23), (0x7FFFEF, 23),
    (0xFFFEA, 20), (0x3FFFE2, 22), (0x3FFFE3, 22), (0x3FFFE4, 22),
    (0x7FFFF0, 23), (0x3FFFE5, 22), (0x3FFFE6, 22), (0x7FFFF1, 23),
    (0x3FFFFE0, 26), (0x3FFFFE1, 26), (0xFFFEB, 20), (0x7FFF1, 19),
    (0x3FFFE7, 22), (0x7FFFF2, 23), (0x3FFFE8, 22), (0x1FFFFEC, 25),
    (0x3FFFFE2, 26), (0x3FFFFE3, 26), (0x3FFFFE4, 26), (0x7FFFFDE, 27),
    (0x7FFFFDF, 27), (0x3FFFFE5, 26), (0xFFFFF1, 24), (0x1FFFFED, 25),
    (0x7FFF2, 19), (0x1FFFE3, 21), (0x3FFFFE6, 26), (0x7FFFFE0, 27),
    (0x7FFFFE1, 27), (0x3FFFFE7, 26), (0x7FFFFE2, 27), (0xFFFFF2, 24),
    (0x1FFFE4, 21), (0x1FFFE5, 21), (0x3FFFFE8, 26), (0x3FFFFE9, 26),
    (0xFFFFFFD, 28), (0x7FFFFE3, 27), (0x7FFFFE4, 27), (0x7FFFFE5, 27),
    (0xFFFEC, 20), (0xFFFFF3, 24), (0xFFFED, 20), (0x1FFFE6, 21),
    (0x3FFFE9, 22), (0x1FFFE7, 21), (0x1FFFE8, 21), (0x7FFFF3, 23),
    (0x3FFFEA, 22), (0x3FFFEB, 22), (0x1FFFFEE, 25), (0x1FFFFEF, 25),
    (0xFFFFF4, 24), (0xFFFFF5, 24), (0x3FFFFEA, 26), (0x7FFFF4, 23),
    (0x3FFFFEB, 26), (0x7FFFFE6, 27), (0x3FFFFEC, 26), (0x3FFFFED, 26),
    (0x7FFFFE7, 27), (0x7FFFFE8, 27), (0x7FFFFE9, 27), (0x7FFFFEA, 27),
    (0x7FFFFEB, 27), (0xFFFFFFE, 28), (0x7FFFFEC, 27), (0x7FFFFED, 27),
    (0x7FFFFEE, 27), (0x7FFFFEF, 27), (0x7FFFFF0, 27), (0x3FFFFEE, 26),
    (0x3FFFFFFF, 30),
)  # fmt: skip

EOS = 256
# Entry overhead in the dynamic table (RFC 7541 section 4.1).
ENTRY_OVERHEAD = 32
DEFAULT_TABLE_SIZE = 4096
# An integer in a header block larger than this is an attack, not a header.
_MAX_INTEGER = 1 << 32

_STATIC_NAMES: dict[str, int] = {}
for _index, (_name, _value) in enumerate(STATIC_TABLE, start=1):
    _STATIC_NAMES.setdefault(_name, _index)

_huffman_by_code: dict[tuple[int, int], int] | None = None


class HPACKError(ValueError):
    """A header block that does not decode (RFC 7541: a COMPRESSION_ERROR)."""


def _huffman_table() -> dict[tuple[int, int], int]:
    global _huffman_by_code
    if _huffman_by_code is None:
        _huffman_by_code = {(bits, code): sym for sym, (code, bits) in enumerate(HUFFMAN_CODES)}
    return _huffman_by_code


def huffman_decode(data: bytes) -> bytes:
    """Decode a Huffman-coded string (RFC 7541 section 5.2).

    Padding must be at most 7 bits, all ones (the most significant bits of EOS); EOS
    itself must not appear."""
    table = _huffman_table()
    out = bytearray()
    code = 0
    bits = 0
    for byte in data:
        for shift in range(7, -1, -1):
            code = (code << 1) | ((byte >> shift) & 1)
            bits += 1
            sym = table.get((bits, code))
            if sym is not None:
                if sym == EOS:
                    raise HPACKError("EOS symbol inside a Huffman string")
                out.append(sym)
                code = bits = 0
            elif bits > 30:
                raise HPACKError("invalid Huffman code")
    if bits > 7 or code != (1 << bits) - 1:
        raise HPACKError("invalid Huffman padding")
    return bytes(out)


def huffman_encode(data: bytes) -> bytes:
    """Huffman-code a string (RFC 7541 section 5.2), padded with the prefix of EOS."""
    acc = 0
    bits = 0
    for byte in data:
        code, length = HUFFMAN_CODES[byte]
        acc = (acc << length) | code
        bits += length
    pad = -bits % 8
    acc = (acc << pad) | ((1 << pad) - 1)
    return acc.to_bytes((bits + pad) // 8, "big")


def encode_integer(value: int, prefix_bits: int, first: int = 0) -> bytes:
    """An integer with an N-bit prefix (RFC 7541 section 5.1); ``first`` holds the bits of
    the first octet above the prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out = bytearray((first | limit,))
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_integer(data: bytes, pos: int, prefix_bits: int) -> tuple[int, int]:
    """The integer with an N-bit prefix at ``data[pos]``, and the position after it."""
    if pos >= len(data):
        raise HPACKError("header block ends inside an integer")
    limit = (1 << prefix_bits) - 1
    value = data[pos] & limit
    pos += 1
    if value < limit:
        return value, pos
    shift = 0
    while True:
        if pos >= len(data):
            raise HPACKError("header block ends inside an integer")
        byte = data[pos]
        pos += 1
        value += (byte & 0x7F) << shift
        shift += 7
        if value > _MAX_INTEGER:
            raise HPACKError("integer too large in a header block")
        if not byte & 0x80:
            return value, pos


def _encode_string(text: str) -> bytes:
    raw = text.encode("latin-1")
    return encode_integer(len(raw), 7) + raw


def encode_headers(headers: list[tuple[str, str]]) -> bytes:
    """A header block of literal fields without indexing (RFC 7541 section 6.2.2)."""
    out = bytearray()
    for name, value in headers:
        index = _STATIC_NAMES.get(name)
        if index is None:
            out += b"\x00" + _encode_string(name)
        else:
            out += encode_integer(index, 4)
        out += _encode_string(value)
    return bytes(out)


class Decoder:
    """The decoding context of one connection: its dynamic table lives across blocks.

    ``max_table_size`` is the SETTINGS_HEADER_TABLE_SIZE the decoder announced (4096 by
    default): the encoder may shrink the table below it with size updates, never grow it
    above."""

    def __init__(self, max_table_size: int = DEFAULT_TABLE_SIZE) -> None:
        self.max_table_size = max_table_size
        self.table_size_limit = max_table_size
        self.entries: list[tuple[str, str]] = []  # newest first (index 62 is entries[0])
        self.size = 0

    def _evict(self, limit: int) -> None:
        while self.size > limit and self.entries:
            name, value = self.entries.pop()
            self.size -= len(name) + len(value) + ENTRY_OVERHEAD

    def _add(self, name: str, value: str) -> None:
        size = len(name) + len(value) + ENTRY_OVERHEAD
        # An entry larger than the table empties it and is not added (section 4.4).
        self._evict(self.table_size_limit - size)
        if size <= self.table_size_limit:
            self.entries.insert(0, (name, value))
            self.size += size

    def _field(self, index: int) -> tuple[str, str]:
        if index <= 0:
            raise HPACKError("header field index 0")
        if index <= len(STATIC_TABLE):
            return STATIC_TABLE[index - 1]
        dynamic = index - len(STATIC_TABLE) - 1
        if dynamic >= len(self.entries):
            raise HPACKError(f"header field index {index} beyond the tables")
        return self.entries[dynamic]

    def _string(self, data: bytes, pos: int) -> tuple[str, int]:
        if pos >= len(data):
            raise HPACKError("header block ends before a string")
        huffman = data[pos] & 0x80
        length, pos = decode_integer(data, pos, 7)
        end = pos + length
        if end > len(data):
            raise HPACKError("header block ends inside a string")
        raw = data[pos:end]
        if huffman:
            raw = huffman_decode(raw)
        return raw.decode("latin-1"), end

    def decode(self, data: bytes) -> list[tuple[str, str]]:
        """The header list of one complete header block."""
        headers: list[tuple[str, str]] = []
        pos = 0
        while pos < len(data):
            byte = data[pos]
            if byte & 0x80:  # indexed field (6.1)
                index, pos = decode_integer(data, pos, 7)
                headers.append(self._field(index))
                continue
            if byte & 0xE0 == 0x20:  # dynamic table size update (6.3)
                if headers:
                    raise HPACKError("table size update after a header field")
                size, pos = decode_integer(data, pos, 5)
                if size > self.max_table_size:
                    raise HPACKError(
                        f"table size update to {size} above the limit {self.max_table_size}"
                    )
                self.table_size_limit = size
                self._evict(size)
                continue
            if byte & 0xC0 == 0x40:  # literal with incremental indexing (6.2.1)
                prefix, indexing = 6, True
            else:  # literal without indexing (6.2.2) or never indexed (6.2.3)
                prefix, indexing = 4, False
            index, pos = decode_integer(data, pos, prefix)
            if index:
                name = self._field(index)[0]
            else:
                name, pos = self._string(data, pos)
            value, pos = self._string(data, pos)
            if indexing:
                self._add(name, value)
            headers.append((name, value))
        return headers
