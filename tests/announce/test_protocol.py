"""BEP 3/7/23/48 details of announce and scrape replies, as a client sees them."""

from __future__ import annotations

import ipaddress

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.announce.factories import (
    announce,
    bdecode,
    failure,
    peer_id,
    query,
    raw_get,
    scrape,
)
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def torrent(db):
    return make_torrent()


def test_first_announce_gets_counts_intervals_and_no_peers(member, torrent, settings):
    reply = announce(member, bytes(torrent.info_hash_v1), peer_id(), left=100,
                     event="started")
    assert reply[b"complete"] == 0
    assert reply[b"incomplete"] == 1
    assert reply[b"downloaded"] == 0
    assert reply[b"interval"] == settings.TRACKER_ANNOUNCE_INTERVAL
    assert reply[b"min interval"] == settings.TRACKER_MIN_INTERVAL
    assert reply[b"peers"] == b""  # a peer never gets itself


def test_reply_keys_are_sorted_bencode(member, torrent):
    _, body = raw_get(f"/announce/{member.passkey}", query(
        info_hash=bytes(torrent.info_hash_v1), peer_id=peer_id(), port=1, uploaded=0,
        downloaded=0, left=0))
    assert body.startswith(b"d8:completei1e10:downloadedi0e10:incompletei0e8:interval")
    assert b"12:min intervali" in body and b"5:peers0:" in body


def test_compact_ipv4_peers_and_seeders_get_only_leechers(member, torrent):
    ih = bytes(torrent.info_hash_v1)
    other = make_user("member")
    third = make_user("member")
    announce(other, ih, peer_id(), left=0, port=7001, ip="192.0.2.7")  # seeder
    announce(third, ih, peer_id(), left=0, port=7002, ip="192.0.2.8")  # seeder
    reply = announce(member, ih, peer_id(), left=10, port=7003, ip="192.0.2.9")
    got = {(str(ipaddress.ip_address(reply[b"peers"][i:i + 4])),
            int.from_bytes(reply[b"peers"][i + 4:i + 6], "big"))
           for i in range(0, len(reply[b"peers"]), 6)}
    assert got == {("192.0.2.7", 7001), ("192.0.2.8", 7002)}
    # A seeder is told about the leecher only, never about other seeders.
    seeder_view = announce(other, ih, peer_id(), left=0, port=7004, ip="192.0.2.10")
    assert seeder_view[b"peers"] == ipaddress.ip_address("192.0.2.9").packed + \
        (7003).to_bytes(2, "big")
    assert seeder_view[b"complete"] == 3 and seeder_view[b"incomplete"] == 1


def test_ipv6_peers_go_in_peers6(member, torrent):
    ih = bytes(torrent.info_hash_v1)
    announce(make_user("member"), ih, peer_id(), left=0, port=7001, ip="2001:db8::7")
    reply = announce(member, ih, peer_id(), left=10, port=7002)
    assert reply[b"peers"] == b""
    assert reply[b"peers6"] == ipaddress.ip_address("2001:db8::7").packed + \
        (7001).to_bytes(2, "big")


def test_dictionary_peers_when_compact_0_and_no_peer_id(member, torrent):
    ih = bytes(torrent.info_hash_v1)
    seed_pid = peer_id()
    announce(make_user("member"), ih, seed_pid, left=0, port=7001, ip="192.0.2.7")
    reply = announce(member, ih, peer_id(), left=10, compact=0)
    assert reply[b"peers"] == [{b"ip": b"192.0.2.7", b"peer id": seed_pid, b"port": 7001}]
    reply = announce(make_user("member"), ih, peer_id(), left=0, compact=0, no_peer_id=1)
    assert reply[b"peers"] == [{b"ip": b"10.1.2.3", b"port": 6881}]


def test_numwant_limits_and_is_capped(member, torrent, settings):
    ih = bytes(torrent.info_hash_v1)
    for n in range(5):
        announce(make_user("member"), ih, peer_id(), left=0, port=7000 + n,
                 ip=f"192.0.2.{n + 1}")
    assert len(announce(member, ih, peer_id(), left=5, numwant=2)[b"peers"]) == 12
    settings.TRACKER_NUMWANT_MAX = 3
    assert len(announce(member, ih, peer_id(), left=5, numwant=500)[b"peers"]) == 18
    assert len(announce(member, ih, peer_id(), left=5, numwant=0)[b"peers"]) == 0


def test_stopped_peer_leaves_the_swarm(member, torrent):
    ih = bytes(torrent.info_hash_v1)
    pid = peer_id()
    announce(member, ih, pid, left=0, event="started")
    reply = announce(member, ih, pid, left=0, event="stopped")
    assert reply[b"complete"] == 0 and reply[b"peers"] == b""
    assert scrape(member, ih)[b"files"][ih] == {b"complete": 0, b"downloaded": 0,
                                               b"incomplete": 0}


def test_scrape_one_and_many_keyed_by_raw_hash(member, torrent):
    ih = bytes(torrent.info_hash_v1)
    second = make_torrent()
    ih2 = bytes(second.info_hash_v1)
    announce(member, ih, peer_id(), left=0)
    pid = peer_id()
    announce(member, ih2, pid, left=10)
    announce(member, ih2, pid, left=0, event="completed")
    assert scrape(member, ih) == {b"files": {ih: {b"complete": 1, b"downloaded": 0,
                                                  b"incomplete": 0}}}
    files = scrape(member, ih, ih2, b"\x01" * 20)[b"files"]
    assert set(files) == {ih, ih2}  # an unknown hash is simply left out
    assert files[ih2] == {b"complete": 1, b"downloaded": 1, b"incomplete": 0}


def test_scrape_needs_a_hash(member):
    status, body = raw_get(f"/scrape/{member.passkey}", b"")
    assert status == 200
    assert "info_hash is missing" in failure(bdecode(body))


def test_v2_truncated_hash_finds_the_torrent(member):
    torrent = make_torrent(version="v2")
    short = bytes(torrent.info_hash_v2)[:20]
    reply = announce(member, short, peer_id(), left=0)
    assert reply[b"complete"] == 1


def test_hybrid_under_both_hashes_is_one_peer(member):
    torrent = make_torrent(version="hybrid")
    v1, v2 = bytes(torrent.info_hash_v1), bytes(torrent.info_hash_v2)[:20]
    pid = peer_id()
    announce(member, v1, pid, left=10, event="started", key="abc")
    reply = announce(member, v2, pid, left=10, event="started", key="abc")
    assert reply[b"incomplete"] == 1
    # Regular announces under both hashes right after each other: neither is "too fast".
    announce(member, v1, pid, left=0, event="completed", key="abc")
    reply = announce(member, v2, pid, left=0, event="completed", key="abc")
    assert reply[b"complete"] == 1 and reply[b"incomplete"] == 0
    assert scrape(member, v1, v2)[b"files"][v2][b"downloaded"] == 1


def test_forwarded_for_only_from_trusted_proxies(member, torrent, settings):
    ih = bytes(torrent.info_hash_v1)
    xff = [(b"x-forwarded-for", b"198.51.100.9, 10.0.0.2")]
    q = query(info_hash=ih, peer_id=peer_id(), port=7001, uploaded=0, downloaded=0, left=0)
    raw_get(f"/announce/{member.passkey}", q, ip="10.0.0.1", headers=xff)
    leecher = announce(make_user("member"), ih, peer_id(), left=5)
    assert leecher[b"peers"][:4] == ipaddress.ip_address("10.0.0.1").packed

    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    q = query(info_hash=ih, peer_id=peer_id(), port=7002, uploaded=0, downloaded=0, left=0)
    raw_get(f"/announce/{make_user('member').passkey}", q, ip="10.0.0.1", headers=xff)
    leecher = announce(make_user("member"), ih, peer_id(), left=5, numwant=10)
    addrs = {leecher[b"peers"][i:i + 4] for i in range(0, len(leecher[b"peers"]), 6)}
    assert ipaddress.ip_address("198.51.100.9").packed in addrs


def test_no_orm_query_per_announce_once_cached(member, torrent):
    ih = bytes(torrent.info_hash_v1)
    announce(member, ih, peer_id(), left=0)  # fills the caches
    with CaptureQueriesContext(connection) as queries:
        announce(member, ih, peer_id(), left=0)
        scrape(member, ih)
    assert len(queries) == 0


def test_no_orm_query_from_redis_cache_alone(member, torrent):
    from domain.tracker import cache

    ih = bytes(torrent.info_hash_v1)
    announce(member, ih, peer_id(), left=0)
    cache.local_clear()  # another process: nothing local, Redis has the records
    with CaptureQueriesContext(connection) as queries:
        announce(member, ih, peer_id(), left=0)
    assert len(queries) == 0


def test_interval_has_jitter_within_the_setting(member, torrent, settings):
    settings.TRACKER_INTERVAL_JITTER = 120
    intervals = {announce(make_user("member"), bytes(torrent.info_hash_v1), peer_id(),
                          left=0)[b"interval"] for _ in range(12)}
    base = settings.TRACKER_ANNOUNCE_INTERVAL
    assert all(base <= i <= base + 120 for i in intervals)
    assert len(intervals) > 1  # spread out, not one value for everyone


def test_trackerid_and_unknown_parameters_are_accepted(member, torrent):
    reply = announce(member, bytes(torrent.info_hash_v1), peer_id(), left=0,
                     trackerid="abc", supportcrypto=1, corrupt=0, redundant=0)
    assert b"failure reason" not in reply
