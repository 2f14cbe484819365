"""HPACK against the examples of RFC 7541 Appendix C (the byte strings are the RFC's)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from inspect8s.runtime.hpack import (
    HUFFMAN_CODES,
    STATIC_TABLE,
    Decoder,
    HPACKError,
    decode_integer,
    encode_headers,
    encode_integer,
    huffman_decode,
    huffman_encode,
)

REQUEST_1 = [
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
]
REQUEST_2 = [*REQUEST_1, ("cache-control", "no-cache")]
REQUEST_3 = [
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/index.html"),
    (":authority", "www.example.com"),
    ("custom-key", "custom-value"),
]
RESPONSE_1 = [
    (":status", "302"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("location", "https://www.example.com"),
]
RESPONSE_2 = [(":status", "307"), *RESPONSE_1[1:]]
COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
RESPONSE_3 = [
    (":status", "200"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
    ("location", "https://www.example.com"),
    ("content-encoding", "gzip"),
    ("set-cookie", COOKIE),
]


def hexbytes(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


def test_integer_examples_c1() -> None:
    assert encode_integer(10, 5) == bytes([0b01010])
    assert encode_integer(1337, 5) == bytes([0b11111, 0b10011010, 0b00001010])
    assert encode_integer(42, 8) == bytes([42])
    assert decode_integer(bytes([0xE0 | 31, 154, 10]), 0, 5) == (1337, 3)
    assert decode_integer(bytes([0xEA]), 0, 5) == (10, 1)


def test_integers_that_end_early_or_never_end_are_errors() -> None:
    with pytest.raises(HPACKError):
        decode_integer(bytes([31, 0x80]), 0, 5)
    with pytest.raises(HPACKError):
        decode_integer(bytes([31] + [0xFF] * 10 + [1]), 0, 5)


def test_field_examples_c2() -> None:
    decoder = Decoder()
    block = hexbytes("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")
    assert decoder.decode(block) == [("custom-key", "custom-header")]
    assert (decoder.entries, decoder.size) == ([("custom-key", "custom-header")], 55)
    decoder = Decoder()
    assert decoder.decode(hexbytes("040c 2f73 616d 706c 652f 7061 7468")) == [
        (":path", "/sample/path")
    ]
    assert decoder.decode(hexbytes("1008 7061 7373 776f 7264 0673 6563 7265 74")) == [
        ("password", "secret")
    ]
    assert decoder.decode(hexbytes("82")) == [(":method", "GET")]
    assert decoder.entries == []


def test_requests_without_huffman_c3() -> None:
    decoder = Decoder()
    assert (
        decoder.decode(hexbytes("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d")) == REQUEST_1
    )
    assert (decoder.entries, decoder.size) == ([(":authority", "www.example.com")], 57)
    assert decoder.decode(hexbytes("8286 84be 5808 6e6f 2d63 6163 6865")) == REQUEST_2
    assert decoder.size == 110
    block = hexbytes("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65")
    assert decoder.decode(block) == REQUEST_3
    assert decoder.entries == [
        ("custom-key", "custom-value"),
        ("cache-control", "no-cache"),
        (":authority", "www.example.com"),
    ]
    assert decoder.size == 164


def test_requests_with_huffman_c4() -> None:
    decoder = Decoder()
    assert decoder.decode(hexbytes("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")) == REQUEST_1
    assert decoder.decode(hexbytes("8286 84be 5886 a8eb 1064 9cbf")) == REQUEST_2
    block = hexbytes("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")
    assert decoder.decode(block) == REQUEST_3
    assert decoder.size == 164
    assert huffman_encode(b"www.example.com") == hexbytes("f1e3 c2e5 f23a 6ba0 ab90 f4ff")
    assert huffman_encode(b"custom-value") == hexbytes("25a8 49e9 5bb8 e8b4 bf")


def test_responses_without_huffman_c5_evict() -> None:
    decoder = Decoder(max_table_size=256)
    first = hexbytes(
        """4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
        2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
        6c65 2e63 6f6d"""
    )
    assert decoder.decode(first) == RESPONSE_1
    assert decoder.size == 222 and len(decoder.entries) == 4
    assert decoder.decode(hexbytes("4803 3330 37c1 c0bf")) == RESPONSE_2
    assert decoder.entries[0] == (":status", "307") and (":status", "302") not in decoder.entries
    assert decoder.size == 222
    third = hexbytes(
        """88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
        54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
        5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
        3d31"""
    )
    assert decoder.decode(third) == RESPONSE_3
    assert decoder.entries == [
        ("set-cookie", COOKIE),
        ("content-encoding", "gzip"),
        ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
    ]
    assert decoder.size == 215


def test_responses_with_huffman_c6_evict() -> None:
    decoder = Decoder(max_table_size=256)
    first = hexbytes(
        """4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
        2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3"""
    )
    assert decoder.decode(first) == RESPONSE_1
    assert decoder.decode(hexbytes("4883 640e ffc1 c0bf")) == RESPONSE_2
    third = hexbytes(
        """88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
        77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
        9587 3160 65c0 03ed 4ee5 b106 3d50 07"""
    )
    assert decoder.decode(third) == RESPONSE_3
    assert [name for name, _ in decoder.entries] == ["set-cookie", "content-encoding", "date"]
    assert decoder.size == 215


def test_table_size_updates_shrink_evict_and_respect_the_limit() -> None:
    decoder = Decoder()
    decoder.decode(hexbytes("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))
    assert decoder.size == 55
    # size update to 0 (0x20) empties the table; index 62 is then out of range
    assert decoder.decode(bytes([0x20, 0x82])) == [(":method", "GET")]
    assert decoder.entries == [] and decoder.size == 0
    with pytest.raises(HPACKError):
        decoder.decode(bytes([0xBE]))
    with pytest.raises(HPACKError):  # above SETTINGS_HEADER_TABLE_SIZE (4096)
        decoder.decode(encode_integer(4097, 5, 0x20))
    with pytest.raises(HPACKError):  # only at the start of a block
        decoder.decode(bytes([0x82, 0x20]))


def test_an_entry_larger_than_the_table_empties_it() -> None:
    decoder = Decoder(max_table_size=100)
    decoder.decode(bytes([0x40, 1]) + b"a" + bytes([1]) + b"b")
    assert decoder.size == 34
    big = bytes([0x40, 1]) + b"x" + bytes([80]) + b"y" * 80
    assert decoder.decode(big) == [("x", "y" * 80)]
    assert decoder.entries == [] and decoder.size == 0


def test_bad_blocks_are_errors_not_crashes() -> None:
    for block in (
        bytes([0x80]),  # index 0
        bytes([0xFF, 0x80, 0x01]),  # index beyond both tables
        bytes([0x04, 0x05]) + b"abc",  # string longer than the block
        bytes([0x04, 0x81, 0x00]),  # Huffman string whose padding is not EOS's prefix
        bytes([0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]),  # EOS inside a string
        bytes([0x04]),  # ends before the value
    ):
        with pytest.raises(HPACKError):
            Decoder().decode(block)


def test_huffman_code_is_the_canonical_complete_code_of_appendix_b() -> None:
    assert len(HUFFMAN_CODES) == 257
    # complete: the code lengths fill the code space exactly (Kraft equality)
    assert sum(Fraction(1, 2**bits) for _, bits in HUFFMAN_CODES) == 1
    # canonical: by (length, symbol) each code is the previous one plus one, shifted
    code = -1
    last_bits = 0
    for sym in sorted(range(257), key=lambda s: (HUFFMAN_CODES[s][1], s)):
        value, bits = HUFFMAN_CODES[sym]
        code = (code + 1) << (bits - last_bits)
        last_bits = bits
        assert value == code, sym
    assert HUFFMAN_CODES[ord("/")] == (0x18, 6) and HUFFMAN_CODES[256] == (0x3FFFFFFF, 30)


def test_huffman_round_trip_of_every_byte() -> None:
    data = bytes(range(256)) * 2
    assert huffman_decode(huffman_encode(data)) == data
    assert huffman_decode(b"") == b""


def test_encoder_writes_literals_without_indexing_that_the_decoder_reads() -> None:
    headers = [(":path", "/runtime.v1.RuntimeService/Version"), ("te", "trailers"), (":status", "")]
    block = encode_headers(headers)
    assert block[0] == 0x04  # literal without indexing, name = static index 4
    decoder = Decoder()
    assert decoder.decode(block) == headers
    assert decoder.entries == []
    assert len(STATIC_TABLE) == 61
