"""What real clients put in an announce besides BEP 3's fields: aria2's binary `key`, BEP 7
`ipv4`/`ipv6` of a dual-stack client, odd peer_ids, crypto flags, numbers with too many
digits; and the per-address limit on unknown passkeys."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from domain.tracker import store
from tests.announce.factories import announce, bdecode, failure, peer_id, query, raw_get
from tests.domain.tracker.hnr_helpers import clock  # noqa: F401 (a fixture)
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ih(db) -> bytes:
    return bytes(make_torrent().info_hash_v1)


def _buffered() -> list[dict]:
    return [json.loads(e) for e in store.client().lrange(store.buffer_key(), 0, -1)]


def _compact(blob: bytes, width: int) -> set[tuple[str, int]]:
    return {(str(ipaddress.ip_address(blob[i:i + width - 2])),
             int.from_bytes(blob[i + width - 2:i + width], "big"))
            for i in range(0, len(blob), width)}


def test_binary_key_as_aria2_sends_it_is_accepted_and_kept_as_hex(member, ih):
    key = bytes([0x00, 0xFF, 0x25, 0x26, 0x3D, 0x80, 0x0A, 0x7F])
    reply = announce(member, ih, peer_id(b"A2-1-36-0-"), left=0, key=key, supportcrypto=1,
                     no_peer_id=1, numwant=50)
    assert b"failure reason" not in reply
    (entry,) = _buffered()
    assert entry["k"] == "0x" + key.hex()
    assert entry["cl"] == "aria2 1.36"


def test_same_binary_key_is_the_same_peer(member, ih, settings):
    settings.TRACKER_MIN_INTERVAL = 0
    pid, key = peer_id(), b"\x01\x02\xfe\xff"
    announce(member, ih, pid, left=10, key=key, event="started")
    reply = announce(member, ih, pid, left=10, key=key, downloaded=5)
    assert reply[b"incomplete"] == 1
    assert [e["dd"] for e in _buffered()] == [0, 5]


def test_key_longer_than_64_bytes_is_refused_by_name(member, ih):
    assert failure(announce(member, ih, peer_id(), key=b"\x01" * 65)) == \
        "Malformed request: key must be at most 64 bytes (got 65)."


def test_dual_stack_peer_is_handed_out_under_both_addresses(member, ih):
    # Announcing over IPv4, naming its IPv6 address (BEP 7), with a port or without.
    announce(make_user("member"), ih, peer_id(), left=0, port=7001, ip="192.0.2.7",
             ipv6="[2001:db8::7]:7001")
    announce(make_user("member"), ih, peer_id(), left=0, port=7002, ip="2001:db8::8",
             ipv4="192.0.2.8")
    reply = announce(member, ih, peer_id(), left=10, port=7003, numwant=10)
    assert _compact(reply[b"peers"], 6) == {("192.0.2.7", 7001), ("192.0.2.8", 7002)}
    assert _compact(reply[b"peers6"], 18) == {("2001:db8::7", 7001), ("2001:db8::8", 7002)}
    # The dictionary form lists each address as a peer of its own.
    listed = announce(make_user("member"), ih, peer_id(), left=10, compact=0, numwant=10)
    assert {(p[b"ip"], p[b"port"]) for p in listed[b"peers"]} >= {
        (b"192.0.2.7", 7001), (b"2001:db8::7", 7001), (b"192.0.2.8", 7002),
        (b"2001:db8::8", 7002)}


def test_an_announce_over_one_family_keeps_the_other_familys_address(member, ih, settings,
                                                                     clock):  # noqa: F811
    """BEP 7: a dual-stack client announces over IPv4 and over IPv6 in turn, naming only
    the address it announces from. Neither announce takes the other address away; a new
    address replaces only its own family's; an address not given for two intervals goes."""
    settings.TRACKER_MIN_INTERVAL = 0
    settings.TRACKER_ANNOUNCE_INTERVAL = 100
    seeder, pid, asking = make_user("member"), peer_id(), peer_id()

    def seeds(ip: str, **extra: Any) -> None:
        assert b"failure reason" not in announce(seeder, ih, pid, left=0, port=7001, ip=ip,
                                                 **extra)

    def handed_out() -> tuple[set, set]:
        reply = announce(member, ih, asking, left=10, numwant=10)
        return (_compact(reply.get(b"peers", b""), 6), _compact(reply.get(b"peers6", b""), 18))

    seeds("192.0.2.7", ipv6="2001:db8::7")
    seeds("2001:db8::7")  # over IPv6, no ipv4=
    assert handed_out() == ({("192.0.2.7", 7001)}, {("2001:db8::7", 7001)})
    seeds("192.0.2.9")  # over IPv4 from a new address, no ipv6=
    assert handed_out() == ({("192.0.2.9", 7001)}, {("2001:db8::7", 7001)})
    seeds("2001:db8::9")
    assert handed_out() == ({("192.0.2.9", 7001)}, {("2001:db8::9", 7001)})
    # Only IPv4 from now on: the IPv6 address, last given 2.4 intervals ago, goes.
    for _ in range(3):
        clock.advance(80)
        seeds("192.0.2.9")
    assert handed_out() == ({("192.0.2.9", 7001)}, set())


@pytest.mark.parametrize("params", [
    {"ip": "198.51.100.99"},  # same family as the connection: someone else's address
    {"ipv4": "198.51.100.99"},
    {"ipv6": "example.org"}, {"ipv6": "ff02::1"}, {"ipv6": "::"}, {"ipv6": "[::1"},
    {"ip": b"\xff\x00"},
])
def test_an_address_the_tracker_cannot_use_is_ignored_not_refused(member, ih, params):
    seeder = make_user("member")
    q = query(info_hash=ih, peer_id=peer_id(), port=7001, uploaded=0, downloaded=0, left=0,
              **params)
    status, body = raw_get(f"/announce/{seeder.passkey}", q, ip="192.0.2.7")
    assert status == 200 and b"failure reason" not in bdecode(body)
    reply = announce(member, ih, peer_id(), left=10)
    assert _compact(reply[b"peers"], 6) == {("192.0.2.7", 7001)}
    assert b"peers6" not in reply


@pytest.mark.parametrize("prefix", [b"-TR0abc-", b"-TRzzzz-", b"-qB\xff\xff\xff\xff-",
                                    b"\x00" * 8, b"-" * 8, b"M7-2-2--", b"S58B----"])
def test_odd_peer_ids_are_accepted_and_named(member, ih, prefix):
    assert b"failure reason" not in announce(member, ih, peer_id(prefix), left=0)
    (entry,) = _buffered()
    assert entry["cl"] and "\x00" not in entry["cl"]


@pytest.mark.parametrize(("field", "value", "words"), [
    ("uploaded", "9" * 5000, "uploaded must be between 0 and 9007199254740992"),
    ("downloaded", "1" + "0" * 16, "downloaded must be between 0 and 9007199254740992"),
    ("port", "9" * 4400, "port must be between 1 and 65535"),
])
def test_numbers_with_too_many_digits_get_a_reason(member, ih, field, value, words):
    assert failure(announce(member, ih, peer_id(), **{field: value})) == \
        f"Malformed request: {words}."


def test_leading_zeros_and_a_huge_numwant_are_parsed(member, ih, settings):
    digits: dict[str, Any] = {"left": "0" * 3000, "uploaded": "0" * 30 + "7",
                              "numwant": "9" * 3000}
    reply = announce(member, ih, peer_id(), **digits)
    assert b"failure reason" not in reply
    (entry,) = _buffered()
    assert (entry["left"], entry["up"], entry["nw"]) == (0, 7, settings.TRACKER_NUMWANT_MAX)


def test_crypto_corrupt_trackerid_are_accepted(member, ih):
    reply = announce(member, ih, peer_id(), left=0, supportcrypto=1, requirecrypto=1,
                     corrupt="123", trackerid=b"\x00\xff", no_peer_id=1, redundant=0)
    assert b"failure reason" not in reply


def test_unknown_passkeys_per_address_are_limited_without_database_reads(ih, settings):
    settings.TRACKER_UNKNOWN_PASSKEYS_PER_IP = 3
    member = make_user("member")
    bad = [f"{n:032x}" for n in range(1, 5)]
    for passkey in bad[:3]:
        assert failure(announce(member, ih, peer_id(), passkey=passkey,
                                ip="203.0.113.9")).startswith("Unknown passkey")
    # Tried before: known to be unknown, and the database is not asked again.
    with CaptureQueriesContext(connection) as queries:
        assert failure(announce(member, ih, peer_id(), passkey=bad[0],
                                ip="203.0.113.9")).startswith("Unknown passkey")
        reason = failure(announce(member, ih, peer_id(), passkey=bad[3], ip="203.0.113.9"))
        assert reason.startswith("Too many unknown passkeys from your address")
    assert len(queries) == 0
    # Another address is not held back, nor is a member already in the cache.
    assert failure(announce(member, ih, peer_id(), passkey=bad[3],
                            ip="203.0.113.10")).startswith("Unknown passkey")
    assert b"failure reason" not in announce(member, ih, peer_id(), ip="203.0.113.10")
    assert b"failure reason" not in announce(member, ih, peer_id(), ip="203.0.113.9")
    # Only a member whose record must come from the database waits out the window.
    other = make_user("member")
    assert failure(announce(other, ih, peer_id(), ip="203.0.113.9")).startswith(
        "Too many unknown passkeys")
    assert 0 < store.client().ttl(f"{store.prefix()}:unknownpk:203.0.113.9") <= \
        settings.TRACKER_UNKNOWN_PASSKEY_WINDOW


def test_unknown_passkeys_count_per_ipv6_slash_64(ih, settings):
    settings.TRACKER_UNKNOWN_PASSKEYS_PER_IP = 2
    member = make_user("member")
    for n, ip in enumerate(["2001:db8:1:2::1", "2001:db8:1:2::ffff"], start=1):
        assert failure(announce(member, ih, peer_id(), passkey=f"{n:032x}", ip=ip)
                       ).startswith("Unknown passkey")
    # Another address of the same /64 is the same subscriber; another /64 is not.
    assert failure(announce(member, ih, peer_id(), passkey=f"{9:032x}",
                            ip="2001:db8:1:2:abcd::1")).startswith("Too many unknown")
    assert failure(announce(member, ih, peer_id(), passkey=f"{9:032x}",
                            ip="2001:db8:1:3::1")).startswith("Unknown passkey")
