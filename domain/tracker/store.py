"""The tracker's Redis: one client per process and every key name in one place.

The hot path talks to Redis with the plain synchronous client: on a hit an announce is one
MGET (often skipped by the process-local cache) and one EVALSHA, each answered by a local
Redis in tens of microseconds, which is cheaper than a hop through redis.asyncio. Key names
carry TRACKER_REDIS_PREFIX so tests (and two sites on one Redis) never share a swarm.

TRACKER_REDIS_URL names the tracker's Redis (REDIS_URL when unset). In production it is a
Redis of its own with appendonly yes, appendfsync everysec and maxmemory-policy noeviction:
the swarm and the unflushed buffer are accounting, not cache, and must survive a restart
and never be evicted or flushed with the cache (README, "Tracker Redis").
"""

from __future__ import annotations

import threading

import redis

from domain.tracker.conf import setting

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def url() -> str:
    return str(setting("TRACKER_REDIS_URL") or setting("REDIS_URL"))


def watchers_elsewhere() -> bool:
    """Whether the channel layer lives in another Redis than the tracker's: the announce
    script cannot then see who watches a torrent (channel_group_key) and publishes every
    change, still throttled per torrent."""
    hosts = setting("CHANNEL_LAYERS")["default"]["CONFIG"].get("hosts") or [{}]
    first = hosts[0]
    address = first.get("address") if isinstance(first, dict) else first
    return bool(address) and str(address) != url()


def client() -> redis.Redis:
    url_ = url()
    found = _clients.get(url_)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(url_)
        if found is None:
            found = redis.Redis.from_url(url_, socket_timeout=5, socket_connect_timeout=5,
                                         health_check_interval=30)
            _clients[url_] = found
        return found


def prefix() -> str:
    return str(setting("TRACKER_REDIS_PREFIX"))


# Lookup cache (cache.py)
def passkey_key(passkey: str) -> str:
    return f"{prefix()}:pk:{passkey}"


def user_key(user_id: object) -> str:
    """Which passkey the cached record of this member was stored under."""
    return f"{prefix()}:user:{user_id}"


def info_hash_key(info_hash: bytes) -> str:
    return f"{prefix()}:ih:{info_hash.hex()}"


def torrent_key(torrent_id: object) -> str:
    """Which info_hash keys hold this torrent's cached record."""
    return f"{prefix()}:torrent:{torrent_id}"


def ip_ban_key(ip: str) -> str:
    return f"{prefix()}:ipban:{ip}"


def client_rules_key() -> str:
    return f"{prefix()}:clientrules"


def epoch_key() -> str:
    """Bumped by every invalidation; each announce reads it for free inside its script and a
    process that sees it change drops its local copies (cache.note_epoch)."""
    return f"{prefix()}:epoch"


def global_freeleech_key() -> str:
    return f"{prefix()}:freeleech"


# Swarm (swarm.py): one torrent's keys, touched together by the announce script.
def peers_state_key(torrent_id: str) -> str:
    return f"{prefix()}:{{{torrent_id}}}:p"


def seeders_key(torrent_id: str) -> str:
    return f"{prefix()}:{{{torrent_id}}}:s"


def leechers_key(torrent_id: str) -> str:
    return f"{prefix()}:{{{torrent_id}}}:l"


def addrs_key(torrent_id: str) -> str:
    return f"{prefix()}:{{{torrent_id}}}:a"


def user_peers_key(torrent_id: str, user_id: str) -> str:
    return f"{prefix()}:{{{torrent_id}}}:u:{user_id}"


def snatched_key(torrent_id: str) -> str:
    return f"{prefix()}:{{{torrent_id}}}:sn"


def torrent_stats_key(torrent_id: str) -> str:
    return f"{prefix()}:{{{torrent_id}}}:ts"


def token_key(torrent_id: str, token_id: str) -> str:
    """A member's freeleech token on this torrent: a hash of "max" (bytes it may free; -1
    for no cap) and "used" (bytes freed so far, flushed or not). cache.py fills it, the
    announce script spends it."""
    return f"{prefix()}:{{{torrent_id}}}:tok:{token_id}"


def publish_key(torrent_id: str) -> str:
    return f"{prefix()}:{{{torrent_id}}}:pub"


def publish_dirty_key(torrent_id: str) -> str:
    """Set while a trailing publish of this torrent's counts is scheduled (swarm.py)."""
    return f"{prefix()}:{{{torrent_id}}}:pubd"


def active_key() -> str:
    """Torrents with a swarm in Redis (the reaper walks these)."""
    return f"{prefix()}:active"


def buffer_key() -> str:
    """Announces acknowledged to clients and not yet written to PostgreSQL."""
    return f"{prefix()}:buf"


def flushing_key() -> str:
    """The batch being written: a hash {id, entries} that survives a crashed flush."""
    return f"{prefix()}:flushing"


def channel_group_key(group: str) -> str:
    """Where channels-redis keeps a group's members (its `_group_key`). The announce
    script publishes peer counts only when this exists, i.e. someone has the torrent's
    page open: a group_send costs several Redis round trips, and most swarms have no
    watcher. tests/domain/tracker/test_swarm_lifecycle.py subscribes through the real
    layer, so a change of this layout in channels-redis fails that test."""
    prefix = setting("CHANNEL_LAYERS")["default"]["CONFIG"].get("prefix", "asgi")
    return f"{prefix}:group:{group}"
