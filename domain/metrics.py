"""Every Prometheus metric in one place (as domain/events.py is for events), and what
/metrics exposes.

Counters and histograms are incremented where things happen (the announce app, the
tracker cache, the live hub). State that lives in Redis or PostgreSQL (buffer length,
set-aside entries, flush lag, peers) is read when Prometheus scrapes, so it is right
whichever process answers and costs nothing between scrapes.

Several processes (uvicorn --workers N, daphne and the tracker side by side): set
PROMETHEUS_MULTIPROC_DIR to an empty directory before they start (prometheus-client's
multiprocess mode); every process writes its figures there and any of them exposes the
sum. Without it each process exposes its own counters. README "Operations" lists the
alerts to set.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# --- the announce path ---
ANNOUNCES = Counter(
    "tracker_requests_total",
    "Announces and scrapes answered, by kind (announce, scrape), result (ok, refused, "
    "error) and the refusal's code (passkey, torrent, min_interval, malformed:<field>...).",
    ["kind", "result", "reason"])
LATENCY = Histogram(
    "tracker_request_seconds", "Time to answer an announce or a scrape, in the app.",
    ["kind"], buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                       2.5, 5.0))

# --- the tracker's lookup cache (domain/tracker/cache.py) ---
CACHE_LOOKUPS = Counter(
    "tracker_cache_lookups_total",
    "Announce/scrape lookups: hit (every record in a cache) or miss (a database fill ran).",
    ["result"])
CACHE_FILL_SECONDS = Histogram(
    "tracker_cache_fill_seconds", "Time of one fill of missing records from PostgreSQL.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
CACHE_RECORDS_FILLED = Counter(
    "tracker_cache_records_filled_total",
    "Records read from PostgreSQL into the cache, by kind (member, torrent, ip_ban, "
    "client_rules) and source (miss, bulk: a load at start).", ["kind", "source"])

# --- the live sockets (consumers/) ---
LIVE_SOCKETS = Gauge("live_sockets", "Open, authorized live sockets.",
                     multiprocess_mode="livesum")
LIVE_SUBSCRIPTIONS = Gauge("live_hub_subscriptions",
                           "Socket subscriptions to streams held by the process hubs.",
                           multiprocess_mode="livesum")
LIVE_DELIVERIES = Counter("live_frames_delivered_total",
                          "Event frames the hubs pushed to sockets.")


def _buffer_ts(raw: bytes | None) -> float | None:
    if not raw:
        return None
    try:
        return float(json.loads(raw)["ts"])
    except (ValueError, KeyError, TypeError):
        return None


class TrackerStateCollector(Collector):
    """Gauges read at scrape time from the tracker's Redis and from PostgreSQL."""

    def collect(self) -> Iterable[GaugeMetricFamily]:
        from django.db import connection

        from domain.tracker import store

        r = store.client()
        buffer = store.buffer_key()
        items = store.flushing_key() + ":items"
        # Set aside by the flush (entries it could not write); trk-accounting's list.
        rejected = buffer + ":rejected"
        pipe = r.pipeline(transaction=False)
        pipe.llen(buffer)
        pipe.llen(items)
        pipe.llen(rejected)
        pipe.lindex(buffer, 0)
        pipe.lindex(items, 0)
        pipe.scard(store.active_key())
        buffered, in_flight, set_aside, oldest, oldest_in_flight, active = pipe.execute()
        yield GaugeMetricFamily("tracker_buffer_entries",
                                "Announces acknowledged and not yet taken by a flush.",
                                value=int(buffered))
        yield GaugeMetricFamily("tracker_flush_in_flight_entries",
                                "Entries of the batch a flush is writing (or crashed on).",
                                value=int(in_flight))
        yield GaugeMetricFamily("tracker_flush_set_aside_entries",
                                "Entries the flush set aside instead of writing (staff "
                                "must look at them).", value=int(set_aside))
        stamps = [t for t in (_buffer_ts(oldest), _buffer_ts(oldest_in_flight)) if t]
        yield GaugeMetricFamily(
            "tracker_flush_lag_seconds",
            "Age of the oldest acknowledged announce not yet in PostgreSQL (0: none).",
            value=max(0.0, time.time() - min(stamps)) if stamps else 0.0)
        yield GaugeMetricFamily("tracker_active_torrents",
                                "Torrents with a swarm in Redis.", value=int(active))
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FILTER (WHERE is_seeder), "
                        "count(*) FILTER (WHERE NOT is_seeder) FROM peers")
            seeders, leechers = cur.fetchone()
        peers = GaugeMetricFamily("tracker_peers",
                                  "Peers as of the last flush (the peers table), by role.",
                                  labels=["role"])
        peers.add_metric(["seeder"], int(seeders))
        peers.add_metric(["leecher"], int(leechers))
        yield peers


_registry: list[CollectorRegistry] = []


def registry() -> CollectorRegistry:
    """What /metrics exposes: this process's metrics, or with PROMETHEUS_MULTIPROC_DIR
    every process's, plus the state read at scrape time."""
    if not _registry:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            found = CollectorRegistry()
            multiprocess.MultiProcessCollector(found)  # type: ignore[no-untyped-call]
        else:
            found = REGISTRY
        found.register(TrackerStateCollector())
        _registry.append(found)
    return _registry[0]


def metrics_exposition() -> tuple[bytes, str]:
    """The text exposition and its content type (reads Redis and PostgreSQL: sync)."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST
