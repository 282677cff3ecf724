"""Hostile input is normal input: any bytes in the query string of an announce or a scrape
get HTTP 200 and a bencoded reply, never a 5xx or a traceback in the log, and a refused
announce writes nothing (no buffered accounting, no peer in the swarm)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote_from_bytes

import bencodepy
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain.accounts.models import UserGroup
from domain.tracker import store
from tests.announce.factories import raw_get
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

NAMES = [b"info_hash", b"peer_id", b"port", b"uploaded", b"downloaded", b"left", b"event",
         b"numwant", b"key", b"compact", b"no_peer_id", b"ip", b"ipv4", b"ipv6",
         b"supportcrypto", b"requirecrypto", b"corrupt", b"trackerid", b"redundant"]
NUMBER = st.one_of(st.integers(min_value=-10, max_value=2**64).map(lambda n: str(n).encode()),
                   st.text("0123456789", min_size=15, max_size=6000).map(str.encode),
                   st.sampled_from([b"", b"0x10", b"1e9", b"\xd9\xa3", b" 1", b"+1",
                                    b"9" * 5000, b"0" * 5000 + b"7"]))
PEER_ID = st.one_of(st.binary(min_size=18, max_size=22), st.sampled_from([
    b"-TR0abc-" + bytes(12), b"-TRzzzz-" + bytes(12), b"A2-1-36-0-" + bytes(10),
    b"M7-2-2--" + bytes(12), b"S58B-----" + bytes(11), b"\xff" * 20, b"-" * 20]))
ADDRESS = st.sampled_from([b"::1", b"[2001:db8::1]:6881", b"192.0.2.1", b"192.0.2.1:6881",
                           b"::ffff:192.0.2.1", b"fe80::1%eth0", b"example.org", b"0.0.0.0",
                           b"ff02::1", b"[", b"1.2.3.4.5", b"\xff\x00"])


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logged():
    handler = Capture()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler.records
    root.removeHandler(handler)


@pytest.fixture
def swarm_of(db, settings):
    # Past the minimum interval and the peer limit, so examples reach the swarm script.
    settings.TRACKER_MIN_INTERVAL = 0
    member = make_user("member")
    UserGroup.objects.filter(id=member.group_id).update(max_peers_per_torrent=32767)
    torrent = make_torrent()
    return member, torrent


def _query(info_hash: bytes, **over: bytes) -> bytes:
    params = {b"info_hash": info_hash, b"peer_id": b"-qB4650-" + bytes(range(12)),
              b"port": b"6881", b"uploaded": b"0", b"downloaded": b"0", b"left": b"0",
              **{k.encode(): v for k, v in over.items()}}
    return b"&".join(_encode(k, 0) + b"=" + _encode(v, 0) for k, v in params.items())


# What real clients and real attackers sent before this suite existed: each of these was
# a traceback per request or a refusal of a real client.
KNOWN = [{"uploaded": b"9" * 5000}, {"left": b"0" * 5000 + b"1"}, {"port": b"9" * 4400},
         {"numwant": b"9" * 5000}, {"peer_id": b"-TR0abc-" + bytes(12)},
         {"key": bytes(range(256))[:8]}, {"key": b"\x00" * 8}, {"ipv6": b"[::1]:6881"},
         {"ipv4": b"\xff"}, {"ip": b"example.org"}, {"event": b"\x00"},
         {"supportcrypto": b"1", "requirecrypto": b"1", "corrupt": b"9" * 5000,
          "trackerid": b"\x00\xff", "no_peer_id": b"1"}]


def _encode(value: bytes, how: int) -> bytes:
    if how == 0:
        return quote_from_bytes(value, safe="").encode()
    if how == 1:
        return value  # raw, unescaped: "&", "=", "%" and all
    return quote_from_bytes(value, safe="%&=+").encode()


@st.composite
def announce_queries(draw: Any, info_hash: bytes) -> bytes:
    """Mostly-real announces with some parameters broken, and some pure noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=400))
    params: dict[bytes, bytes] = {
        b"info_hash": info_hash, b"peer_id": b"-qB4650-" + bytes(range(12)), b"port": b"6881",
        b"uploaded": b"0", b"downloaded": b"0", b"left": b"0"}
    for name in draw(st.lists(st.sampled_from(NAMES), max_size=5)):
        choice = draw(st.integers(0, 5))
        if choice == 0:
            params.pop(name, None)
        elif choice == 1:
            params[name] = draw(NUMBER)
        elif choice == 2:
            params[name] = draw(ADDRESS)
        elif choice == 3 and name == b"peer_id":
            params[name] = draw(PEER_ID)
        else:
            params[name] = draw(st.binary(max_size=70))
    for _ in range(draw(st.integers(0, 2))):
        params[draw(st.binary(min_size=1, max_size=12))] = draw(st.binary(max_size=20))
    how = draw(st.integers(0, 2))
    return b"&".join(_encode(k, how) + b"=" + _encode(v, how) for k, v in params.items())


def _swarm_size(torrent_id: str) -> int:
    r = store.client()
    return int(r.zcard(store.seeders_key(torrent_id))) + int(  # type: ignore[arg-type]
        r.zcard(store.leechers_key(torrent_id)))  # type: ignore[arg-type]


def _check_reply(status: int, body: bytes) -> dict[bytes, Any]:
    assert status == 200
    reply = bencodepy.decode(body)
    assert isinstance(reply, dict)
    return reply


def test_any_announce_query_gets_a_bencoded_reply_and_a_refusal_writes_nothing(
        swarm_of, logged):
    member, torrent = swarm_of
    ih = bytes(torrent.info_hash_v1)
    outcomes: dict[str, int] = {"ok": 0, "refused": 0}

    @FUZZ
    @given(query=announce_queries(ih))
    def run(query: bytes) -> None:
        logged.clear()
        r = store.client()
        before = (r.llen(store.buffer_key()), _swarm_size(str(torrent.id)))
        status, body = raw_get(f"/announce/{member.passkey}", query)
        reply = _check_reply(status, body)
        if b"failure reason" in reply:
            outcomes["refused"] += 1
            assert reply[b"failure reason"]
            assert (r.llen(store.buffer_key()), _swarm_size(str(torrent.id))) == before
        else:
            outcomes["ok"] += 1
            assert b"interval" in reply and b"peers" in reply
        assert not logged, [rec.getMessage() for rec in logged]

    for over in KNOWN:
        run = example(query=_query(ih, **over))(run)
    run()
    # The strategy reaches both sides of the parser, not only its first refusal.
    assert outcomes["ok"] > 0 and outcomes["refused"] > 0, outcomes


@st.composite
def scrape_queries(draw: Any, info_hash: bytes) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    hashes = draw(st.lists(st.one_of(st.just(info_hash), st.binary(max_size=40)),
                           max_size=4))
    extra = draw(st.binary(max_size=30))
    how = draw(st.integers(0, 2))
    return b"&".join([b"info_hash=" + _encode(h, how) for h in hashes] + [extra])


def test_any_scrape_query_gets_a_bencoded_reply(swarm_of, logged):
    member, torrent = swarm_of
    ih = bytes(torrent.info_hash_v1)

    @FUZZ
    @given(query=scrape_queries(ih), passkey=st.one_of(st.just(member.passkey),
                                                       st.text(max_size=40)))
    def run(query: bytes, passkey: str) -> None:
        logged.clear()
        status, body = raw_get(f"/scrape/{passkey}", query)
        reply = _check_reply(status, body)
        assert b"failure reason" in reply or b"files" in reply
        assert not logged, [rec.getMessage() for rec in logged]

    run()


def test_too_long_a_query_is_refused_unparsed(swarm_of, settings):
    member, _ = swarm_of
    settings.TRACKER_QUERY_MAX_BYTES = 1000
    for path in (f"/announce/{member.passkey}", f"/scrape/{member.passkey}"):
        status, body = raw_get(path, b"info_hash=" + b"%41" * 400)
        reply = _check_reply(status, body)
        assert reply[b"failure reason"] == (b"Malformed request: query string is 1210 "
                                            b"bytes (at most 1000).")
