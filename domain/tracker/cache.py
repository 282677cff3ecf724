"""The tracker's lookup cache and its explicit invalidation.

The announce path resolves passkey -> member and info_hash -> torrent (v1 hash, v2 hash and
the truncated 20-byte v2 hash all lead to the same record), the address's IP ban and the
client rules from Redis, never the ORM. Records are computed once from the database on a
miss (`cache_fill`), including everything that decides a refusal (status, group permissions,
bans, freeleech tokens), so a hit needs no further thought.

Anything that changes what an announce may do (passkey reset, ban, group change, torrent
approval, rejection or deletion, freeleech change, token use) calls one of the
`invalidate_*` functions below inside its transaction; the keys are dropped after commit,
so the next announce re-reads the database. Each process also keeps what it read for
at most TRACKER_LOCAL_CACHE_SECONDS, which saves a Redis round trip on most announces: every
invalidation bumps an epoch counter that each announce's swarm script returns, and a process
that sees it move drops all its copies, so an invalidation reaches every busy process with
its next announce.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from domain.tracker import store
from domain.tracker.clients import ClientRules
from domain.tracker.conf import setting

_MISSING = object()
# key -> (expires at, monotonic; value). Only the announce path reads it.
_local: dict[str, tuple[float, Any]] = {}
_epoch: list[bytes | None] = [None]


@dataclass(frozen=True, slots=True)
class MemberRecord:
    id: str
    # Why this member may not announce at all (status, account ban), or "".
    refusal: str = ""
    # Why this member may not leech (download ban, group without Perm.DOWNLOAD), or "".
    leech_refusal: str = ""
    max_peers: int = 3
    # torrent id -> expiry (unix seconds; inf when none) of an active freeleech token.
    tokens: dict[str, float] = field(default_factory=dict)
    # torrent id -> that token's id: its byte allowance is kept in Redis (store.token_key).
    token_ids: dict[str, str] = field(default_factory=dict)
    # When a ban in this record runs out (unix seconds): the record is stale from then on,
    # since nothing invalidates a ban that simply expires.
    valid_until: float = math.inf

    def has_token(self, torrent_id: str, now: float) -> bool:
        until = self.tokens.get(torrent_id)
        return until is not None and now < until


@dataclass(frozen=True, slots=True)
class TorrentRecord:
    id: str
    refusal: str = ""
    size: int = 0
    freeleech_until: float = 0.0  # unix seconds; inf: no end; 0: not freeleech
    neutral: bool = False
    double_upload: bool = False
    info_hashes: tuple[str, ...] = ()

    def is_freeleech(self, now: float) -> bool:
        return now < self.freeleech_until


@dataclass(frozen=True, slots=True)
class IpBanRecord:
    """What the cache knows of an address: the refusal ("" when not banned) and, like
    MemberRecord.valid_until, when the ban runs out (nothing invalidates a ban that simply
    expires, so the record is stale from then on)."""

    reason: str = ""
    valid_until: float = math.inf


NOT_BANNED = IpBanRecord()


@dataclass(frozen=True, slots=True)
class Lookup:
    """Everything an announce needs to know before it touches the swarm."""

    member: MemberRecord | None
    torrents: dict[bytes, TorrentRecord | None]
    ip_ban: str  # the ban's reason, or "" when the address is not banned
    rules: ClientRules
    global_freeleech: bool


class CacheMiss(Exception):
    """Some record is in neither cache: call `cache_fill` (it reads the database)."""


def _encode(record: object | None) -> bytes:
    if record is None:
        return b"null"
    data = {f: getattr(record, f) for f in record.__slots__}  # type: ignore[attr-defined]
    return json.dumps(data, default=_json_default).encode()


def _json_default(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value))


def _member(raw: bytes) -> MemberRecord | None:
    data = json.loads(raw)
    if data is None:
        return None
    data["tokens"] = {k: float(v) for k, v in data["tokens"].items()}
    return MemberRecord(**data)


def _member_stale(raw: bytes) -> bool:
    member = _member(raw)
    return member is not None and member.valid_until <= time.time()


def _ip_ban(raw: bytes) -> IpBanRecord:
    # b"" is "not banned" (the common answer, kept short); a ban is its JSON record. A
    # plain reason is what an older version stored: a ban with no known end.
    if not raw:
        return NOT_BANNED
    if raw[:1] != b"{":
        return IpBanRecord(reason=raw.decode())
    data = json.loads(raw)
    return IpBanRecord(reason=data["reason"], valid_until=float(data["valid_until"]))


def _ip_ban_stale(raw: bytes) -> bool:
    return _ip_ban(raw).valid_until <= time.time()


def _torrent(raw: bytes) -> TorrentRecord | None:
    data = json.loads(raw)
    if data is None:
        return None
    data["freeleech_until"] = float(data["freeleech_until"])
    data["info_hashes"] = tuple(data["info_hashes"])
    return TorrentRecord(**data)


def _rules(raw: bytes) -> ClientRules:
    data = json.loads(raw)
    return ClientRules(
        allow=tuple((bytes.fromhex(p), n) for p, n in data["allow"]),
        deny=tuple((bytes.fromhex(p), n, r) for p, n, r in data["deny"]))


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
    if ttl > 0:
        if len(_local) > 200_000:
            _local.clear()
        _local[key] = (time.monotonic() + ttl, value)


def local_clear() -> None:
    """Forget this process's copies (tests; an invalidation in this very process)."""
    _local.clear()


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


def _lookup_finish(keys: list[str], values: list[Any], wanted: list[int],
                   raw: list[bytes | None], info_hashes: list[bytes]) -> Lookup:
    for i, r in zip(wanted, raw, strict=True):
        if r is None:
            if i == 3:  # no global switch stored: the setting decides
                values[i] = bool(setting("TRACKER_FREELEECH"))
                continue
            raise CacheMiss(keys[i])
        if i == 0:
            value: Any = _member(r)
        elif i == 1:
            value = _ip_ban(r)
        elif i == 2:
            value = _rules(r)
        elif i == 3:
            value = r == b"1"
        else:
            value = _torrent(r)
        values[i] = value
        _local_put(keys[i], value)
    member = values[0]
    if member is not None and member.valid_until <= time.time():
        _local.pop(keys[0], None)  # a ban ran out: read the member again
        raise CacheMiss(keys[0])
    ip_ban = values[1]
    if ip_ban.reason and ip_ban.valid_until <= time.time():
        _local.pop(keys[1], None)  # the ban ran out: ask the database again
        raise CacheMiss(keys[1])
    return Lookup(member=member, ip_ban=ip_ban.reason, rules=values[2],
                  global_freeleech=values[3],
                  torrents=dict(zip(info_hashes, values[4:], strict=True)))


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


# --- Filling from the database (sync; the ORM) ---

@dataclass(frozen=True, slots=True)
class TokenAllowance:
    """An active freeleech token as the database has it, to seed its Redis counter."""

    id: str
    torrent_id: str
    max_bytes: int  # -1: no cap
    used_bytes: int  # downloaded_bytes as flushed so far


# Seeds a token's counter: the cap follows the database (staff may change it), bytes used
# never go down (the database lags by what is still buffered; it may also be ahead when
# the expiry job counted peer_history). It outlives any member record that names it.
ALLOWANCE_INIT_LUA = r"""
redis.call('HSET', KEYS[1], 'max', ARGV[1])
local used = tonumber(redis.call('HGET', KEYS[1], 'used'))
if not used or used < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], 'used', ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
"""


def member_record(passkey: str) -> MemberRecord | None:
    return member_record_and_tokens(passkey)[0]


def member_record_and_tokens(passkey: str
                             ) -> tuple[MemberRecord | None, list[TokenAllowance]]:
    from domain.accounts.models import User, UserStatus
    from domain.accounts.permissions import Perm
    from domain.bonus.models import FreeleechToken, TokenStatus
    from domain.moderation.bans import ban_active_for_user
    from domain.moderation.models import BanType

    user = (User.objects.select_related("group")
            .filter(passkey=passkey, deleted_at__isnull=True).first())
    if user is None:
        return None, []
    refusal = ""
    if user.status == UserStatus.VALIDATING:
        refusal = ("Your account is not confirmed yet: confirm your email address, then "
                   "announce again.")
    elif user.status == UserStatus.DISABLED:
        refusal = "Your account is disabled: contact staff to have it enabled."
    elif user.status == UserStatus.BANNED:
        refusal = "Your account is banned: see the site for the reason and how to appeal."
    valid_until = math.inf
    if not refusal:
        ban = ban_active_for_user(user.id, BanType.ACCOUNT)
        if ban is not None:
            refusal = f"Your account is banned: {ban.reason}"
            if ban.expires_at:
                valid_until = ban.expires_at.timestamp()
    leech_refusal = ""
    ban = ban_active_for_user(user.id, BanType.DOWNLOAD)
    if ban is not None:
        if ban.expires_at:
            valid_until = min(valid_until, ban.expires_at.timestamp())
        until = f" until {ban.expires_at:%Y-%m-%d %H:%M} UTC" if ban.expires_at else ""
        leech_refusal = (f"Download forbidden: your download rights are suspended{until} "
                         f"({ban.reason}). You may still seed.")
    elif not user.group.grants(Perm.DOWNLOAD):
        leech_refusal = (f"Download forbidden: members of {user.group.display_name} may not "
                         "download. You may still seed.")
    if not leech_refusal:  # hit-and-runs over the limit, an expired ratio watch
        from domain.tracker.hnr import member_leech_restrictions

        leech_refusal = member_leech_restrictions(user_ids=[str(user.id)]).get(
            str(user.id), "")
    tokens: dict[str, float] = {}
    token_ids: dict[str, str] = {}
    allowances: list[TokenAllowance] = []
    for tok in FreeleechToken.objects.filter(user_id=user.id, status=TokenStatus.ACTIVE,
                                             torrent__isnull=False):
        tid = str(tok.torrent_id)
        tokens[tid] = tok.expires_at.timestamp() if tok.expires_at else math.inf
        token_ids[tid] = str(tok.id)
        allowances.append(TokenAllowance(
            id=str(tok.id), torrent_id=tid, used_bytes=int(tok.downloaded_bytes),
            max_bytes=-1 if tok.max_download_bytes is None else int(tok.max_download_bytes)))
    return MemberRecord(id=str(user.id), refusal=refusal, leech_refusal=leech_refusal,
                        max_peers=int(user.group.max_peers_per_torrent), tokens=tokens,
                        token_ids=token_ids, valid_until=valid_until), allowances


def torrent_record(info_hash: bytes) -> TorrentRecord | None:
    from domain.catalog.models import Torrent, TorrentStatus

    if len(info_hash) == 20:
        # The truncated v2 hash (BEP 52) finds a v2 or hybrid torrent too; the expression
        # matches the index of sql/0300_torrents_v2_short_hash.sql.
        torrent = Torrent.objects.extra(
            where=["(info_hash_v1 = %s OR substring(info_hash_v2 from 1 for 20) = %s)"],
            params=[info_hash, info_hash]).first()
    else:
        torrent = Torrent.objects.filter(info_hash_v2=info_hash).first()
    if torrent is None:
        return None
    refusal = ""
    if torrent.deleted_at is not None:
        refusal = ("Unregistered torrent: it was deleted from the site. Remove it from your "
                   "client.")
    elif torrent.status == TorrentStatus.PENDING:
        refusal = ("Torrent pending: staff have not approved it yet. Announce again once it "
                   "is approved.")
    elif torrent.status == TorrentStatus.REJECTED:
        refusal = "Torrent rejected: staff rejected this upload, so it is not tracked."
    until = 0.0
    if torrent.is_freeleech:
        until = torrent.freeleech_until.timestamp() if torrent.freeleech_until else math.inf
    hashes = [bytes(h).hex() for h in (torrent.info_hash_v1, torrent.info_hash_v2) if h]
    if torrent.info_hash_v2:
        hashes.append(bytes(torrent.info_hash_v2)[:20].hex())
    return TorrentRecord(id=str(torrent.id), refusal=refusal, size=int(torrent.size),
                         freeleech_until=until, neutral=torrent.is_neutral_leech,
                         double_upload=torrent.is_double_upload, info_hashes=tuple(hashes))


def ip_ban_record(ip: str) -> IpBanRecord:
    from domain.moderation.bans import ban_for_ip

    ban = ban_for_ip(ip)
    if ban is None:
        return NOT_BANNED
    return IpBanRecord(
        reason=f"IP banned: your address {ip} is banned ({ban.reason}). Contact staff.",
        valid_until=ban.expires_at.timestamp() if ban.expires_at else math.inf)


def client_rules_data() -> dict[str, list[list[str]]]:
    from domain.tracker.models import ClientRule, ClientRuleKind

    allow: list[list[str]] = []
    deny: list[list[str]] = []
    for rule in ClientRule.objects.filter(is_active=True):
        prefix = rule.peer_id_prefix.encode("latin-1", "replace").hex()
        if rule.kind == ClientRuleKind.ALLOW:
            allow.append([prefix, rule.name])
        else:
            deny.append([prefix, rule.name, rule.reason])
    return {"allow": allow, "deny": deny}


def cache_fill(*, passkey: str, info_hashes: list[bytes], ip: str) -> None:
    """Read from the database whatever `lookup` found in neither cache and store it."""
    r = store.client()
    ttl = int(setting("TRACKER_CACHE_SECONDS"))
    neg = int(setting("TRACKER_NEGATIVE_CACHE_SECONDS"))
    pk_key = store.passkey_key(passkey)
    keys = [pk_key, store.ip_ban_key(ip), store.client_rules_key(),
            *(store.info_hash_key(h) for h in info_hashes)]
    present: list[Any] = r.mget(keys)
    pipe = r.pipeline(transaction=False)
    stale = present[0] is not None and _member_stale(present[0])
    if present[0] is None or stale:
        member, allowances = member_record_and_tokens(passkey)
        # Counters first: an announce that finds the record finds them too.
        token_ex = ttl + math.ceil(setting("TRACKER_LOCAL_CACHE_SECONDS")) + 60
        for tok in allowances:
            pipe.eval(ALLOWANCE_INIT_LUA, 1, store.token_key(tok.torrent_id, tok.id),
                      tok.max_bytes, tok.used_bytes, token_ex)
        ex = ttl if member else neg
        if member is not None and member.valid_until < math.inf:
            ex = max(1, min(ttl, math.ceil(member.valid_until - time.time())))
        pipe.set(pk_key, _encode(member), ex=ex)
        if member is not None:
            pipe.set(store.user_key(member.id), passkey, ex=ttl)
    if present[1] is None or _ip_ban_stale(present[1]):
        ip_ban = ip_ban_record(ip)
        ex = int(setting("TRACKER_IP_BAN_CACHE_SECONDS"))
        if ip_ban.valid_until < math.inf:
            ex = max(1, min(ex, math.ceil(ip_ban.valid_until - time.time())))
        pipe.set(keys[1], _encode(ip_ban) if ip_ban.reason else b"", ex=ex)
    if present[2] is None:
        pipe.set(keys[2], json.dumps(client_rules_data()), ex=ttl)
    for info_hash, key, raw in zip(info_hashes, keys[3:], present[3:], strict=True):
        if raw is not None:
            continue
        torrent = torrent_record(info_hash)
        pipe.set(key, _encode(torrent), ex=ttl if torrent else neg)
        if torrent is not None:
            pipe.sadd(store.torrent_key(torrent.id), key)
            pipe.expire(store.torrent_key(torrent.id), ttl)
            _seed_torrent_stats(pipe, torrent.id)
    pipe.execute()


def _seed_torrent_stats(pipe: Any, torrent_id: str) -> None:
    """The swarm's snatch counter starts from the database's (HSETNX: never rewinds it)."""
    from domain.tracker.models import TorrentStatistics

    snatches = (TorrentStatistics.objects.filter(torrent_id=torrent_id)
                .values_list("snatches", flat=True).first()) or 0
    pipe.hsetnx(store.torrent_stats_key(torrent_id), "snatches", snatches)


# --- Invalidation (called by other areas' services, inside their transaction) ---

def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _delete_now(keys: list[str]) -> None:
    local_clear()
    pipe = store.client().pipeline(transaction=False)
    if keys:
        pipe.delete(*keys)
    pipe.incr(store.epoch_key())
    pipe.execute()


def invalidate_user(user_id: uuid.UUID | str, *, passkeys: tuple[str, ...] = ()) -> None:
    """Forget what the tracker knows of a member (and of their old passkeys): status,
    group, bans, freeleech tokens. Takes effect after commit."""

    def run() -> None:
        r = store.client()
        current = r.get(store.user_key(user_id))
        keys = [store.user_key(user_id), *(store.passkey_key(p) for p in passkeys)]
        if current:
            keys.append(store.passkey_key(_text(current)))
        _delete_now(keys)

    transaction.on_commit(run)


def invalidate_torrent(torrent_id: uuid.UUID | str, *, info_hashes: tuple[bytes, ...] = ()
                       ) -> None:
    """Forget what the tracker knows of a torrent (status, freeleech, hashes). Pass the
    hashes of a torrent the tracker may have refused as unknown (a new upload)."""

    def run() -> None:
        r = store.client()
        keys = [store.torrent_key(torrent_id)]
        for h in info_hashes:
            keys.append(store.info_hash_key(h))
            if len(h) == 32:
                keys.append(store.info_hash_key(h[:20]))
        keys.extend(_text(k) for k in r.smembers(store.torrent_key(torrent_id)))
        _delete_now(keys)

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
