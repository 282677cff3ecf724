"""/metrics: Prometheus text for the operator's scraper only, with the tracker's state
read at scrape time (buffer, set-aside entries, flush lag, peers) and the counters the
announce path keeps (results by refusal code, latency, cache hits and misses)."""

from __future__ import annotations

import json
import time

import pytest
from asgiref.sync import async_to_sync
from prometheus_client.parser import text_string_to_metric_families

from domain.tracker import store
from domain.tracker.flush import tracker_flush
from tests.announce.factories import announce, call_app, peer_id
from tests.factories import make_torrent

pytestmark = pytest.mark.django_db


def _get(ip: str = "127.0.0.1", headers: list[tuple[bytes, bytes]] | None = None
         ) -> tuple[int, bytes]:
    return async_to_sync(call_app)("/metrics", b"", ip=ip, headers=headers or [])


def _samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = _get()
    assert status == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples}


def _value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_announce_results_refusals_latency_and_cache_are_counted(member):
    ih = bytes(make_torrent().info_hash_v1)
    before = _samples()
    announce(member, ih, peer_id(), left=0)  # a miss: the cache is filled
    announce(member, ih, peer_id(), left=0)  # a hit
    announce(member, ih, peer_id(), left=0, passkey="0" * 32)
    announce(member, ih, peer_id(), left=0, port=0)
    after = _samples()

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("tracker_requests_total", kind="announce", result="ok", reason="") == 2
    assert delta("tracker_requests_total", kind="announce", result="refused",
                 reason="passkey") == 1
    assert delta("tracker_requests_total", kind="announce", result="refused",
                 reason="malformed:port") == 1
    assert delta("tracker_request_seconds_count", kind="announce") == 4
    assert delta("tracker_cache_lookups_total", result="hit") >= 1
    assert delta("tracker_cache_lookups_total", result="miss") >= 1
    assert delta("tracker_cache_fill_seconds_count") >= 1


def test_buffer_set_aside_flush_lag_and_peers_are_read_at_scrape_time(member):
    ih = bytes(make_torrent().info_hash_v1)
    announce(member, ih, peer_id(), left=0)
    announce(member, ih, peer_id(), left=5)
    samples = _samples()
    assert _value(samples, "tracker_buffer_entries") == 2
    assert 0 <= _value(samples, "tracker_flush_lag_seconds") < 60
    assert _value(samples, "tracker_flush_set_aside_entries") == 0

    r = store.client()
    r.lpush(store.buffer_key(), json.dumps({"ts": time.time() - 600}))  # an old one
    r.rpush(store.buffer_key() + ":rejected", b"not json")
    samples = _samples()
    assert _value(samples, "tracker_flush_lag_seconds") >= 600
    assert _value(samples, "tracker_flush_set_aside_entries") == 1

    r.lpop(store.buffer_key())
    tracker_flush()
    samples = _samples()
    assert _value(samples, "tracker_buffer_entries") == 0
    assert _value(samples, "tracker_flush_lag_seconds") == 0
    assert _value(samples, "tracker_peers", role="seeder") == 1
    assert _value(samples, "tracker_peers", role="leecher") == 1


def test_only_allowed_addresses_or_the_token_may_read_it(settings):
    assert _get("127.0.0.1")[0] == 200
    assert _get("::1")[0] == 200
    status, body = _get("203.0.113.5")
    assert status == 403 and b"METRICS_TOKEN" in body
    assert b"tracker_" not in body
    settings.METRICS_TOKEN = "s3cret-token"
    assert _get("203.0.113.5", [(b"authorization", b"Bearer s3cret-token")])[0] == 200
    assert _get("203.0.113.5", [(b"authorization", b"Bearer wrong")])[0] == 403
    assert _get("203.0.113.5", [(b"authorization", b"s3cret-token")])[0] == 403
    settings.METRICS_ALLOWED_IPS = ["10.9.0.0/16"]
    assert _get("10.9.4.2")[0] == 200
    assert _get("127.0.0.1")[0] == 403


def test_a_request_forwarded_by_an_untrusted_local_proxy_is_not_local(settings):
    # A proxy on the same host forwards the public's requests from 127.0.0.1: unless it is
    # a trusted proxy, its forwarding header makes the request an outsider's.
    xff = [(b"x-forwarded-for", b"198.51.100.7")]
    assert _get("127.0.0.1", xff)[0] == 403
    assert _get("127.0.0.1", [(b"x-real-ip", b"198.51.100.7")])[0] == 403
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    assert _get("127.0.0.1", xff)[0] == 403  # the real client is outside
    assert _get("127.0.0.1", [(b"x-forwarded-for", b"::1")])[0] == 200
