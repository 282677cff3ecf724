"""The tracker's lookup cache and its explicit invalidation.

The announce path resolves passkey -> member and info_hash -> torrent (v1 hash, v2 hash and
the truncated 20-byte v2 hash all lead to the same record), the address's IP ban and the
client rules from Redis, never the ORM. Records are computed from the database by the
loaders (loaders.py), including everything that decides a refusal (status, group
permissions, bans, freeleech tokens), so a hit needs no further thought.

Redis is filled in bulk when the tracker starts and whenever it finds Redis emptied (the
warm keeper below: a deploy, a Redis restart or a FLUSHDB). A miss meanwhile, or for a
record created since, is filled in a batch: the misses of every announce waiting in this
process are read together, one query per kind, on a small pool of threads of the tracker's
own (TRACKER_FILL_THREADS), never on the thread that runs Django's sync code.

Records of members and torrents do not expire on a timer (TRACKER_CACHE_SECONDS = 0):
anything that changes what an announce may do (passkey reset, ban, group change, torrent
approval, rejection or deletion, freeleech change, token use) calls one of the
`invalidate_*` functions below inside its transaction; the keys are dropped after commit,
so the next announce re-reads the database. A record whose ban runs out carries that moment
and is read again then. Each process also keeps what it read for at most
TRACKER_LOCAL_CACHE_SECONDS, which saves a Redis round trip on most announces: every
invalidation bumps an epoch counter that each announce's swarm script returns, and a
process that sees it move drops all its copies, so an invalidation reaches every busy
process with its next announce.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import os
import threading
import time
import uuid
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.signals import setting_changed
from django.db import transaction

from domain.tracker import loaders, store
from domain.tracker.clients import ClientRules
from domain.tracker.conf import setting
from domain.tracker.records import (
    NOT_BANNED,
    IpBanRecord,
    Lookup,
    MemberRecord,
    TorrentRecord,
    decode_ip_ban,
    decode_member,
    decode_rules,
    decode_torrent,
)

__all__ = ["NOT_BANNED", "CacheMiss", "IpBanRecord", "Lookup", "MemberRecord",
           "TorrentRecord", "cache_fill", "global_freeleech_set", "invalidate_client_rules",
           "invalidate_ip_bans", "invalidate_torrent", "invalidate_user", "local_clear",
           "lookup", "lookup_async", "lookup_filled_async", "note_epoch", "warm_keeper_start",
           "warm_once"]

log = logging.getLogger(__name__)

_MISSING = object()
# key -> (expires at, monotonic; value). Only the announce path reads it.
_local: dict[str, tuple[float, Any]] = {}
_epoch: list[bytes | None] = [None]


class CacheMiss(Exception):
    """Some record is in neither cache: call `cache_fill` (it reads the database)."""


def _local_get(key: str) -> Any:
    hit = _local.get(key)
    if hit is None:
        return _MISSING
    if hit[0] < time.monotonic():
        _local.pop(key, None)
        return _MISSING
    return hit[1]


def _local_put(key: str, value: Any) -> None:
    ttl = setting("TRACKER_LOCAL_CACHE_SECONDS")
    if ttl > 0 and value is not None:
        # (Negative answers are not kept here: an address sending random hashes would
        # push the real records out.)
        if len(_local) >= setting("TRACKER_LOCAL_CACHE_MAX"):
            # The oldest tenth goes (dicts keep insertion order): a full clear would
            # send a site bigger than the cap back to Redis for everything at once.
            for old in list(itertools.islice(_local, max(1, len(_local) // 10))):
                _local.pop(old, None)
        _local[key] = (time.monotonic() + ttl, value)


def local_clear(**_: Any) -> None:
    """Forget this process's copies (tests; an invalidation in this very process; a
    setting changed, which the copies of the global freeleech answer depend on)."""
    _local.clear()


setting_changed.connect(local_clear, dispatch_uid="tracker_cache_local_clear")


def note_epoch(epoch: bytes | None) -> None:
    """Every announce's script returns the invalidation epoch; when another process has
    invalidated anything since, this process's copies go too."""
    epoch = epoch or b"0"
    if epoch != _epoch[0]:
        if _epoch[0] is not None:
            _local.clear()
        _epoch[0] = epoch


def _lookup_keys(passkey: str, info_hashes: list[bytes], ip: str) -> list[str]:
    return [store.passkey_key(passkey), store.ip_ban_key(ip), store.client_rules_key(),
            store.global_freeleech_key(), *(store.info_hash_key(h) for h in info_hashes)]


def _resolve(keys: list[str], values: list[Any], wanted: list[int], raw: list[bytes | None]
             ) -> list[int]:
    """Decode what Redis returned into `values`; the indexes still missing (absent, or a
    ban in the record that has run out)."""
    missing = []
    for i, r in zip(wanted, raw, strict=True):
        if r is None:
            if i == 3:  # no global switch stored: the setting decides
                # Kept like a stored answer: without it every announce of a site that never
                # flipped the switch went to Redis for this key alone (global_freeleech_set
                # and a change of the setting drop the copy).
                values[i] = bool(setting("TRACKER_FREELEECH"))
                _local_put(keys[i], values[i])
                continue
            missing.append(i)
            continue
        if i == 0:
            value: Any = decode_member(r)
        elif i == 1:
            value = decode_ip_ban(r)
        elif i == 2:
            value = decode_rules(r)
        elif i == 3:
            value = r == b"1"
        else:
            value = decode_torrent(r)
        values[i] = value
        _local_put(keys[i], value)
    now = time.time()
    member = values[0]
    if member is not _MISSING and member is not None and member.valid_until <= now:
        _local.pop(keys[0], None)  # a ban ran out: read the member again
        values[0] = _MISSING
        missing.insert(0, 0)
    ip_ban = values[1]
    if ip_ban is not _MISSING and ip_ban.reason and ip_ban.valid_until <= now:
        _local.pop(keys[1], None)  # the ban ran out: ask the database again
        values[1] = _MISSING
        missing.append(1)
    return missing


def _build(values: list[Any], info_hashes: list[bytes]) -> Lookup:
    return Lookup(member=values[0], ip_ban=values[1].reason, rules=values[2],
                  global_freeleech=values[3],
                  torrents=dict(zip(info_hashes, values[4:], strict=True)))


def _lookup_finish(keys: list[str], values: list[Any], wanted: list[int],
                   raw: list[bytes | None], info_hashes: list[bytes]) -> Lookup:
    missing = _resolve(keys, values, wanted, raw)
    if missing:
        raise CacheMiss(keys[missing[0]])
    return _build(values, info_hashes)


def lookup(*, passkey: str, info_hashes: list[bytes], ip: str) -> Lookup:
    """Resolve an announce's or scrape's records from the caches; CacheMiss if any is in
    neither (the caller fills them with `cache_fill`, off the event loop)."""
    keys = _lookup_keys(passkey, info_hashes, ip)
    values = [_local_get(k) for k in keys]
    wanted = [i for i, v in enumerate(values) if v is _MISSING]
    raw: list[Any] = store.client().mget([keys[i] for i in wanted]) if wanted else []
    return _lookup_finish(keys, values, wanted, raw, info_hashes)


async def lookup_async(*, passkey: str, info_hashes: list[bytes], ip: str) -> Lookup:
    """`lookup` for the announce app: the Redis read shares the event loop's pipeline."""
    from domain.tracker.pipe import pipe

    keys = _lookup_keys(passkey, info_hashes, ip)
    values = [_local_get(k) for k in keys]
    wanted = [i for i, v in enumerate(values) if v is _MISSING]
    raw = await pipe().call("MGET", *[keys[i] for i in wanted]) if wanted else []
    return _lookup_finish(keys, values, wanted, raw, info_hashes)


async def lookup_filled_async(*, passkey: str, info_hashes: list[bytes], ip: str) -> Lookup:
    """`lookup_async` that fills what is in neither cache (with the other announces' misses
    of this moment, in one batch) instead of raising CacheMiss."""
    from domain.tracker.pipe import pipe

    keys = _lookup_keys(passkey, info_hashes, ip)
    values = [_local_get(k) for k in keys]
    wanted = [i for i, v in enumerate(values) if v is _MISSING]
    raw = await pipe().call("MGET", *[keys[i] for i in wanted]) if wanted else []
    missing = _resolve(keys, values, wanted, raw)
    if missing:
        filler = _filler()
        items = [_item(i, passkey, info_hashes, ip) for i in missing]
        futures = [filler.want(item, ip) for item in items]
        filler.kick()
        for i, future in zip(missing, futures, strict=True):
            # Shielded: one announce giving up (its client hung up) must not cancel the
            # answer the others in the batch wait for.
            values[i] = await asyncio.shield(future)
            _local_put(keys[i], values[i])
    return _build(values, info_hashes)


# --- Filling misses in batches -------------------------------------------------------------

Item = tuple[str, Any]  # ("pk", passkey) | ("ih", info_hash) | ("ip", address) | ("rules", "")


def _item(index: int, passkey: str, info_hashes: list[bytes], ip: str) -> Item:
    if index == 0:
        return ("pk", passkey)
    if index == 1:
        return ("ip", ip)
    if index == 2:
        return ("rules", "")
    return ("ih", info_hashes[index - 4])


def _fill_items(items: dict[Item, str]) -> dict[Item, Any]:
    """One `loaders.fill` for a batch of items (item -> the address that asked)."""
    passkeys = [k for kind, k in items if kind == "pk"]
    hashes = [k for kind, k in items if kind == "ih"]
    filled = loaders.fill(
        passkeys=passkeys, info_hashes=hashes,
        ips=[k for kind, k in items if kind == "ip"],
        rules=("rules", "") in items,
        asked_by={k: ip for (kind, k), ip in items.items() if kind in ("pk", "ih")})
    out: dict[Item, Any] = {}
    for item in items:
        kind, key = item
        if kind == "pk":
            out[item] = filled.members.get(key)
        elif kind == "ih":
            out[item] = filled.torrents.get(key)
        elif kind == "ip":
            out[item] = filled.ip_bans.get(key, NOT_BANNED)
        else:
            data = filled.rules or {"allow": [], "deny": []}
            out[item] = ClientRules(
                allow=tuple((bytes.fromhex(p), n) for p, n in data["allow"]),
                deny=tuple((bytes.fromhex(p), n, r) for p, n, r in data["deny"]))
    return out


_executor: list[tuple[int, ThreadPoolExecutor]] = []
_executor_lock = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    with _executor_lock:
        if not _executor or _executor[0][0] != threads:
            if _executor:
                _executor.pop()[1].shutdown(wait=False)
            _executor.append((threads, ThreadPoolExecutor(
                max_workers=threads, thread_name_prefix="tracker-fill")))
        return _executor[0][1]


async def _run_fill(items: dict[Item, str]) -> dict[Item, Any]:
    threads = int(setting("TRACKER_FILL_THREADS"))
    if threads <= 0:
        # The caller's own sync thread (asgiref's thread-sensitive one): what a test needs,
        # whose rows exist only inside its transaction on that thread's connection.
        from asgiref.sync import sync_to_async

        return await sync_to_async(_fill_items, thread_sensitive=True)(items)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(threads), functools.partial(_fill_items, items))


class _Filler:
    """The misses of one event loop, coalesced: every announce that misses registers what
    it needs (the same record asked twice is read once) and waits; as long as a fill
    thread is free a batch starts at once, and misses that arrive while all are busy wait
    for the next batch, so a burst becomes a few large batches rather than many small."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: dict[Item, asyncio.Future[Any]] = {}
        self.queued: dict[Item, str] = {}
        self.running = 0
        self.tasks: set[asyncio.Task[None]] = set()

    def want(self, item: Item, ip: str) -> asyncio.Future[Any]:
        future = self.waiting.get(item)
        if future is None:
            future = self.waiting[item] = self.loop.create_future()
            self.queued[item] = ip
        return future

    def kick(self) -> None:
        limit = max(1, int(setting("TRACKER_FILL_THREADS")))
        size = max(1, int(setting("TRACKER_FILL_BATCH")))
        while self.queued and self.running < limit:
            batch = dict(itertools.islice(self.queued.items(), size))
            for item in batch:
                del self.queued[item]
            self.running += 1
            task = self.loop.create_task(self._run(batch))
            self.tasks.add(task)  # held until done: the loop keeps only weak references
            task.add_done_callback(self.tasks.discard)

    async def _run(self, batch: dict[Item, str]) -> None:
        try:
            values = await _run_fill(batch)
        except Exception as exc:
            log.warning("tracker fill of %d records failed: %r", len(batch), exc)
            for item in batch:
                future = self.waiting.pop(item)
                if not future.done():
                    future.set_exception(exc)
                    future.exception()  # seen: each waiter re-raises it on its own
        else:
            for item in batch:
                future = self.waiting.pop(item)
                if not future.done():
                    future.set_result(values[item])
        finally:
            self.running -= 1
            self.kick()


_fillers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Filler] = (
    weakref.WeakKeyDictionary())


def _filler() -> _Filler:
    loop = asyncio.get_running_loop()
    found = _fillers.get(loop)
    if found is None:
        found = _fillers[loop] = _Filler(loop)
    return found


def cache_fill(*, passkey: str, info_hashes: list[bytes], ip: str) -> None:
    """Read from the database whatever `lookup` found in neither cache and store it
    (the synchronous path: tests and tools; the announce app uses lookup_filled_async)."""
    keys = _lookup_keys(passkey, info_hashes, ip)
    present: list[Any] = store.client().mget(keys)
    values: list[Any] = [_MISSING] * len(keys)
    missing = _resolve(keys, values, list(range(len(keys))), present)
    if missing:
        _fill_items({_item(i, passkey, info_hashes, ip): ip for i in missing})


# --- Bulk load at start --------------------------------------------------------------------

_warm_started = [False]


def warm_once() -> loaders.BulkLoad | None:
    """Load every record into Redis unless a load already did (its marker is there) or
    another process is loading right now (its lock is)."""
    r = store.client()
    if r.exists(loaders.warm_key()):
        return None
    token = f"{os.getpid()}:{uuid.uuid4().hex}"
    if not r.set(loaders.warm_lock_key(), token, nx=True, ex=600):
        return None
    try:
        result = loaders.bulk_load()
    finally:
        if r.get(loaders.warm_lock_key()) == token.encode():
            r.delete(loaders.warm_lock_key())
    log.info("tracker cache loaded: %d members, %d torrents in %.1f s", result.members,
             result.torrents, result.seconds)
    return result


def _warm_keeper() -> None:
    from django.db import close_old_connections

    while True:
        try:
            close_old_connections()
            warm_once()
        except Exception:
            log.exception("tracker bulk load failed; misses are filled one batch at a time")
        time.sleep(float(setting("TRACKER_WARM_CHECK_SECONDS")))


def warm_keeper_start() -> None:
    """Start (once per process) the thread that bulk-loads Redis at start and again
    whenever it finds Redis emptied. The announce app calls this at start; with
    TRACKER_BULK_LOAD off, misses alone fill the cache."""
    if _warm_started[0] or not setting("TRACKER_BULK_LOAD"):
        return
    _warm_started[0] = True
    threading.Thread(target=_warm_keeper, name="tracker-warm", daemon=True).start()


# --- Invalidation (called by other areas' services, inside their transaction) ---

def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _delete_now(keys: list[str]) -> None:
    local_clear()
    # MULTI: the epoch moves in the same instant as the keys go, so a fill that read the
    # database before the change either stores before this (and is deleted) or finds the
    # epoch moved and stores nothing (loaders.STORE_LUA).
    pipe = store.client().pipeline(transaction=True)
    pipe.incr(store.epoch_key())
    if keys:
        pipe.delete(*keys)
    pipe.execute()


def invalidate_user(user_id: uuid.UUID | str, *, passkeys: tuple[str, ...] = ()) -> None:
    """Forget what the tracker knows of a member (and of their old passkeys): status,
    group, bans, freeleech tokens. Takes effect after commit."""

    def run() -> None:
        r = store.client()
        keys = [store.user_key(user_id), *(store.passkey_key(p) for p in passkeys)]
        current = r.get(store.user_key(user_id))
        if current:
            keys.append(store.passkey_key(_text(current)))
        # The database's passkey too: a record stored by the bulk load or by another
        # process is found under it even if the pointer above was lost.
        keys.extend(store.passkey_key(p) for p in loaders.passkeys_of(user_id))
        _delete_now(keys)

    transaction.on_commit(run)


def invalidate_torrent(torrent_id: uuid.UUID | str, *, info_hashes: tuple[bytes, ...] = ()
                       ) -> None:
    """Forget what the tracker knows of a torrent (status, freeleech, hashes). Pass the
    hashes of a torrent the tracker may have refused as unknown (a new upload), or of
    one deleted from the database before this runs."""

    def run() -> None:
        r = store.client()
        keys = [store.torrent_key(torrent_id)]
        hashes = list(info_hashes) + loaders.hashes_of(torrent_id)
        for h in hashes:
            keys.append(store.info_hash_key(h))
            if len(h) == 32:
                keys.append(store.info_hash_key(h[:20]))
        # Keys an older version recorded for this torrent.
        keys.extend(_text(k) for k in r.smembers(store.torrent_key(torrent_id)))
        _delete_now(list(dict.fromkeys(keys)))

    transaction.on_commit(run)


def invalidate_ip_bans() -> None:
    """Forget every cached IP ban answer (a ban on a range touches unknown addresses)."""

    def run() -> None:
        r = store.client()
        keys = list(r.scan_iter(match=store.ip_ban_key("*"), count=1000))
        _delete_now([k.decode() for k in keys])

    transaction.on_commit(run)


def invalidate_client_rules() -> None:
    transaction.on_commit(lambda: _delete_now([store.client_rules_key()]))


def global_freeleech_set(*, enabled: bool) -> None:
    """Turn site-wide freeleech on or off now (overrides the TRACKER_FREELEECH setting)."""
    _delete_now([])
    store.client().set(store.global_freeleech_key(), b"1" if enabled else b"0")
