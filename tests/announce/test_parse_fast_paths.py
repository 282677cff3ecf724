"""The announce path's hand-written fast paths give exactly what the generic code gives:
percent-decoding as urllib's unquote_to_bytes, the compact reply as the bencoder."""

from __future__ import annotations

import random
from urllib.parse import quote_from_bytes, unquote_to_bytes

import pytest

from announce.app import _announce_reply
from announce.bencode import bencode
from announce.parse import parse_announce, unquote
from domain.tracker.announcing import AnnounceResult


@pytest.mark.parametrize("raw", [
    b"", b"plain", b"%41%42c", b"%zz", b"%4", b"%", b"100%", b"%4g%41", b"a\\x41%42",
    b"back\\slash", b"%5C%78%34%31", b"+%2B+", b"%e2%82%AC", b"\\x", b"%%41",
])
def test_unquote_matches_urllib_on_odd_input(raw):
    assert unquote(raw) == unquote_to_bytes(raw)


def test_unquote_matches_urllib_on_random_binary_hashes():
    rng = random.Random(7)
    for _ in range(2000):
        value = rng.randbytes(20)
        quoted = quote_from_bytes(value, safe=rng.choice(["", "/", "~-._"])).encode()
        assert unquote(quoted) == value


def test_parse_announce_reads_binary_fields_and_flags():
    ih, pid = bytes(range(20)), b"-qB4650-" + bytes(range(200, 212))
    raw = (f"info_hash={quote_from_bytes(ih, safe='')}&peer_id={quote_from_bytes(pid)}"
           "&port=6881&uploaded=1&downloaded=2&left=3&compact=0&no_peer_id=1").encode()
    request = parse_announce(raw, ip="192.0.2.1", user_agent="x")
    assert (request.info_hash, request.peer_id) == (ih, pid)
    assert (request.uploaded, request.downloaded, request.left) == (1, 2, 3)
    assert request.compact is False and request.no_peer_id is True
    default = parse_announce(raw.replace(b"&compact=0&no_peer_id=1", b""), ip="192.0.2.1",
                             user_agent="x")
    assert default.compact is True and default.no_peer_id is False


@pytest.mark.parametrize("peers", [
    (),
    (bytes([192, 0, 2, 7, 0x1A, 0xE1]) + b"A" * 20,),
    (bytes([192, 0, 2, 7, 0x1A, 0xE1]) + b"A" * 20, bytes(16) + b"\x1a\xe2" + b"B" * 20),
    (bytes(range(16)) + b"\x00\x50" + b"C" * 20,),
])
def test_compact_reply_is_what_the_bencoder_writes(peers):
    result = AnnounceResult(torrent_id="t", interval=1801, min_interval=300, complete=3,
                            incomplete=12, downloaded=40, peers=peers, publish=False)
    expected: dict[str, object] = {
        "interval": 1801, "min interval": 300, "complete": 3, "incomplete": 12,
        "downloaded": 40, "peers": b"".join(p[:6] for p in peers if len(p) == 26)}
    v6 = b"".join(p[:18] for p in peers if len(p) == 38)
    if v6:
        expected["peers6"] = v6
    assert _announce_reply(result, compact=True, no_peer_id=False) == bencode(expected)
