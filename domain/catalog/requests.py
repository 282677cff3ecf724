"""Writes for requests (torrent_requests, torrent_request_bounties, torrent_request_votes):
create, vote with bounty, fill, unfill, delete, comment.

Money: every point that moves is a bonus_transactions row written through
domain.bonus.services in the transaction of the request change. The pot of an open request
is the sum of its unrefunded bounty rows and equals torrent_requests.bounty_total.

Locks: every service here locks the request row first (SELECT ... FOR UPDATE) and only then
touches balances. So two fills of one request are serialized (the second sees `filled` and
is refused), a vote cannot land on a request being filled or deleted, and the order
request -> member never deadlocks with another request service. A bounty's debit is the
ledger's conditional UPDATE (`bonus_points >= amount`), so concurrent votes by one member
cannot overdraw whatever request they go to.

Unfill: the whole bounty is taken back from the filler. When they have spent some of it,
we take what is left (a balance never goes negative) and the shortfall is lost to the
request: it reopens with the smaller pot, the newest bounties trimmed first; the audit row
and the filler's ledger row name the shortfall. Points are never minted to cover it.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from domain.accounts.counters import statistics_bump
from domain.accounts.models import User
from domain.accounts.permissions import Perm, require_perm, user_has_perm
from domain.base import TargetType
from domain.bonus.services import (
    bonus_bounty_credit,
    bonus_bounty_place,
    bonus_bounty_reclaim,
)
from domain.catalog.access import request_may_edit
from domain.catalog.models import (
    Comment,
    RequestStatus,
    Torrent,
    TorrentCategory,
    TorrentRequest,
    TorrentRequestBounty,
    TorrentRequestVote,
    TorrentStatus,
)
from domain.catalog.services import _comment_body, _comment_rate_limit, comment_text_check
from domain.community.models import NotificationKind
from domain.community.notifications import notification_send
from domain.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from domain.moderation.selectors import ban_active_for_user
from domain.moderation.services import audit_log_write
from domain.search.models import IndexOperation
from domain.search.services import search_enqueue

CENT = Decimal("0.01")
TITLE_MAX = 255
DESCRIPTION_MAX = 20000
#: What a request may ask for beyond its category, with the longest value accepted.
REQUIREMENT_TEXT = {"resolution": 16, "video_codec": 32, "audio_codec": 32, "source": 32,
                    "format": 32, "release_group": 64}
EXTERNAL_IDS = ("imdb_id", "tmdb_id", "tvdb_id", "igdb_id", "musicbrainz_id")
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")


def request_url(request_id: uuid.UUID) -> str:
    return f"/requests/{request_id}/"


def _min_bounty() -> Decimal:
    return Decimal(str(settings.REQUEST_MIN_BOUNTY))


def _bounty(value: Any) -> Decimal:
    """A bounty in points: at least REQUEST_MIN_BOUNTY, at most REQUEST_MAX_BOUNTY,
    two decimals."""
    try:
        amount = Decimal(str(value if value is not None else "").strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationFailed("Enter a bounty in points, like 250.", field="amount") from None
    if not amount.is_finite():
        raise ValidationFailed("Enter a bounty in points, like 250.", field="amount")
    minimum, maximum = _min_bounty(), Decimal(str(settings.REQUEST_MAX_BOUNTY))
    if amount < minimum:
        raise ValidationFailed(f"The least bounty is {minimum:,} points.",
                               code="bounty_too_small", field="amount")
    # Before quantize: 1e400 cannot be quantized to cents (InvalidOperation).
    if amount > maximum:
        raise ValidationFailed(f"A bounty is at most {maximum:,} points at a time.",
                               field="amount")
    if amount != amount.quantize(CENT, rounding=ROUND_DOWN):
        raise ValidationFailed("Points have at most two decimals.", field="amount")
    return amount


def _text(value: Any, *, field: str, limit: int, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationFailed("This field is required.", field=field)
    if len(text) > limit:
        raise ValidationFailed(f"At most {limit} characters.", field=field)
    if "\x00" in text:
        raise ValidationFailed("That text contains a NUL character.", field=field)
    return text


# The wanted metadata and external ids a request of each main category may name (a
# subcategory takes its parent's); a category not listed here (one an admin added) takes
# them all. A music request has no video codec, a game's id is IGDB's.
_VIDEO = ("year", "resolution", "video_codec", "audio_codec", "source", "format",
          "release_group")
REQUIREMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "movies": (*_VIDEO, "imdb_id", "tmdb_id"),
    "tv": (*_VIDEO, "imdb_id", "tmdb_id", "tvdb_id"),
    "anime": (*_VIDEO, "imdb_id", "tmdb_id", "tvdb_id"),
    "xxx": _VIDEO,
    "music": ("year", "audio_codec", "source", "format", "release_group", "musicbrainz_id"),
    "games": ("year", "source", "format", "release_group", "igdb_id"),
    "software": ("year", "format", "release_group"),
    "books": ("year", "format", "release_group"),
}
REQUIREMENT_NAMES = {
    "year": "a year", "resolution": "a resolution", "video_codec": "a video codec",
    "audio_codec": "an audio codec", "source": "a source", "format": "a format",
    "release_group": "a release group", "imdb_id": "an IMDb id", "tmdb_id": "a TMDB id",
    "tvdb_id": "a TVDB id", "igdb_id": "an IGDB id", "musicbrainz_id": "a MusicBrainz id",
}


def requirement_fields(category: TorrentCategory) -> tuple[str, ...]:
    """What a request in `category` may ask for (REQUIREMENT_FIELDS)."""
    main = category.parent if category.parent_id else category
    return REQUIREMENT_FIELDS.get(main.slug if main else "", tuple(REQUIREMENT_NAMES))


def requirements_clean(raw: dict[str, Any] | None,
                       category: TorrentCategory | None = None) -> dict[str, Any]:
    """Keep the wanted metadata and external ids a request may carry, validated; empty
    values are dropped so the JSON holds only what was asked for. With `category`, a
    value its category does not have is a field error (a video codec on a music
    request)."""
    clean = _requirements_shape(raw)
    if category is not None:
        allowed = requirement_fields(category)
        for key in clean:
            if key not in allowed:
                main = category.parent if category.parent_id else category
                raise ValidationFailed(
                    f"{main.name if main else category.name} requests do not name "
                    f"{REQUIREMENT_NAMES.get(key, key)}: leave it empty.", field=key)
    return clean


def _requirements_shape(raw: dict[str, Any] | None) -> dict[str, Any]:
    raw = raw or {}
    clean: dict[str, Any] = {}
    for key, limit in REQUIREMENT_TEXT.items():
        value = _text(raw.get(key), field=key, limit=limit)
        if value:
            clean[key] = value
    imdb = _text(raw.get("imdb_id"), field="imdb_id", limit=16)
    if imdb:
        if not re.fullmatch(r"tt[0-9]{7,10}", imdb):
            raise ValidationFailed("An IMDb id looks like tt0087799.", field="imdb_id")
        clean["imdb_id"] = imdb
    for key in ("tmdb_id", "tvdb_id", "igdb_id"):
        value = str(raw.get(key) or "").strip()
        if not value:
            continue
        if not value.isdigit() or not 0 < int(value) < 2**31:
            raise ValidationFailed("Enter the number from the site's address.", field=key)
        clean[key] = int(value)
    mbid = str(raw.get("musicbrainz_id") or "").strip()
    if mbid:
        try:
            clean["musicbrainz_id"] = str(uuid.UUID(mbid))
        except ValueError:
            raise ValidationFailed("A MusicBrainz id is a UUID.",
                                   field="musicbrainz_id") from None
    year = str(raw.get("year") or "").strip()
    if year:
        if not year.isdigit() or not 1870 <= int(year) <= 2200:
            raise ValidationFailed("Enter a year between 1870 and 2200.", field="year")
        clean["year"] = int(year)
    return clean


def _category(category_id: Any) -> TorrentCategory:
    try:
        return TorrentCategory.objects.get(pk=category_id, is_active=True)
    except (TorrentCategory.DoesNotExist, ValueError, TypeError):
        raise ValidationFailed("Choose a category.", field="category") from None


def _locked(request_id: Any) -> TorrentRequest:
    try:
        pk = uuid.UUID(str(request_id))
    except ValueError:
        raise NotFound("That request does not exist.") from None
    found = (TorrentRequest.objects.select_for_update(of=("self",))
             .filter(pk=pk, deleted_at__isnull=True).first())
    if found is None:
        raise NotFound("That request does not exist or was deleted.")
    return found


def _place(*, request: TorrentRequest, user_id: uuid.UUID, amount: Decimal,
           now: datetime) -> TorrentRequestBounty:
    """Debit, bounty row, vote row and counters; the request row is locked by the caller."""
    bonus_bounty_place(user_id=user_id, amount=amount, request_id=request.pk,
                       title=request.title)
    bounty = TorrentRequestBounty.objects.create(request=request, user_id=user_id,
                                                 amount=amount, created_at=now)
    _, first = TorrentRequestVote.objects.get_or_create(request=request, user_id=user_id,
                                                        defaults={"created_at": now})
    request.bounty_total = F("bounty_total") + amount
    if first:
        request.vote_count = F("vote_count") + 1
    request.save(update_fields=["bounty_total", "vote_count", "updated_at"])
    request.refresh_from_db(fields=["bounty_total", "vote_count"])
    if first:
        statistics_bump(user_id=user_id, counter="requests_voted_count")
    return bounty


def request_create(*, requester: User, category_id: Any, title: str, bounty: Any,
                   description: str = "", requirements: dict[str, Any] | None = None
                   ) -> TorrentRequest:
    """File a request with the requester's first bounty (at least REQUEST_MIN_BOUNTY)."""
    require_perm(requester, Perm.REQUEST_CREATE, "Your account may not create requests.")
    require_perm(requester, Perm.BONUS_SPEND, "Your account may not spend bonus points.")
    title = _text(title, field="title", limit=TITLE_MAX, required=True)
    description = _text(description, field="description", limit=DESCRIPTION_MAX)
    category = _category(category_id)
    wanted = requirements_clean(requirements, category)
    amount = _bounty(bounty)
    now = timezone.now()
    with transaction.atomic():
        request = TorrentRequest.objects.create(
            requester=requester, category=category, title=title, description=description,
            requirements=wanted)
        _place(request=request, user_id=requester.pk, amount=amount, now=now)
        search_enqueue(target_type=TargetType.REQUEST, target_id=request.pk)
    return request


def request_edit(*, actor: User, request_id: Any, title: str, description: str = "",
                 requirements: dict[str, Any] | None = None,
                 ip_address: str | None = None) -> TorrentRequest:
    """Edit an open request's title, description, wanted metadata and external ids (not
    its category or bounty). Audited like torrent edits: voters put points on what it
    said, so every change is on record."""
    title = _text(title, field="title", limit=TITLE_MAX, required=True)
    description = _text(description, field="description", limit=DESCRIPTION_MAX)
    with transaction.atomic():
        request = _locked(request_id)
        if not request_may_edit(actor, request):
            raise NotPermitted("Only the requester (while it is open) or staff can edit "
                               "this request.")
        wanted = requirements_clean(requirements, request.category)
        before = {"title": request.title, "description": request.description,
                  "requirements": request.requirements}
        request.title, request.description, request.requirements = title, description, wanted
        request.save(update_fields=["title", "description", "requirements", "updated_at"])
        after = {"title": title, "description": description, "requirements": wanted}
        audit_log_write(action="request.edit", actor=actor, target_type=TargetType.REQUEST,
                        target_id=request.pk, ip_address=ip_address,
                        changes={k: [before[k], after[k]] for k in after
                                 if before[k] != after[k]})
        search_enqueue(target_type=TargetType.REQUEST, target_id=request.pk)
    return request


def request_vote(*, user: User, request_id: Any, amount: Any) -> TorrentRequestBounty:
    """Add bounty to an open request (a member's first bounty is also their vote).
    Refused, moving nothing, below the minimum, beyond the balance or once filled."""
    require_perm(user, Perm.REQUEST_CREATE, "Your account may not vote on requests.")
    require_perm(user, Perm.BONUS_SPEND, "Your account may not spend bonus points.")
    points = _bounty(amount)
    with transaction.atomic():
        request = _locked(request_id)
        if request.status != RequestStatus.OPEN:
            raise Conflict("This request is filled: bounty can only go to open requests.",
                           code="request_not_open", field="amount")
        return _place(request=request, user_id=user.pk, amount=points, now=timezone.now())


def _torrent_for_fill(torrent_ref: Any) -> Torrent:
    """The torrent named by an id or a pasted torrent page link."""
    match = _UUID_RE.search(str(torrent_ref or ""))
    torrent = None
    if match:
        torrent = (Torrent.objects.select_related("category")
                   .filter(pk=uuid.UUID(match.group(0)), deleted_at__isnull=True)
                   .defer("info_dict").first())
    if torrent is None:
        raise ValidationFailed("There is no such torrent: paste its page link or id.",
                               code="no_such_torrent", field="torrent")
    return torrent


def _category_matches(request: TorrentRequest, torrent: Torrent) -> bool:
    return request.category_id in (torrent.category_id, torrent.category.parent_id)


def request_fill(*, filler: User, request_id: Any, torrent: Any,
                 now: datetime | None = None) -> TorrentRequest:
    """Fill an open request with an approved torrent of its category; the whole bounty
    goes to the filler and every voter is told. Of two concurrent fills, the one that
    locks the request first wins; the other is refused with Conflict."""
    if not filler.is_active or not user_has_perm(filler, Perm.SITE_ACCESS):
        raise NotPermitted("Your account may not fill requests.")
    if ban_active_for_user(filler.pk, "upload"):
        raise NotPermitted("You are banned from uploading, so you cannot fill requests.",
                           code="upload_banned")
    found = _torrent_for_fill(torrent)
    now = now or timezone.now()
    with transaction.atomic():
        request = _locked(request_id)
        if request.status != RequestStatus.OPEN:
            raise Conflict("This request was filled already.", code="request_not_open",
                           field="torrent")
        if found.status != TorrentStatus.APPROVED:
            raise ValidationFailed("That torrent is not approved yet: fill with it once "
                                   "staff have approved it.", code="torrent_not_approved",
                                   field="torrent")
        if not _category_matches(request, found):
            raise ValidationFailed(
                f"That torrent is in {found.category}; this request asks for "
                f"{request.category}.", code="category_mismatch", field="torrent")
        own = request.requester_id is not None and request.requester_id in (
            filler.pk, found.uploader_id)
        grace = timedelta(hours=settings.REQUEST_SELF_FILL_GRACE_HOURS)
        if own and now - request.created_at < grace:
            raise NotPermitted(
                "A request can be filled by its requester, or with the requester's own "
                f"upload, only {settings.REQUEST_SELF_FILL_GRACE_HOURS} hours after it "
                "was filed: others get the first chance at the bounty.",
                code="self_fill_grace", field="torrent")
        bounty = request.bounty_total
        request.status = RequestStatus.FILLED
        request.filled_torrent = found
        request.filler = filler
        request.filled_at = now
        request.save(update_fields=["status", "filled_torrent", "filler", "filled_at",
                                    "updated_at"])
        search_enqueue(target_type=TargetType.REQUEST, target_id=request.pk)
        if bounty > 0:
            bonus_bounty_credit(user_id=filler.pk, amount=bounty, request_id=request.pk,
                                title=request.title, awarded=True)
        statistics_bump(user_id=filler.pk, counter="requests_filled_count")
        # The requester (even should their vote row be gone) and every voter, each once;
        # the filler gets their own notice below.
        told = dict.fromkeys([request.requester_id, *TorrentRequestVote.objects.filter(
            request=request).values_list("user_id", flat=True)])
        for voter_id in told:
            if voter_id is None or voter_id == filler.pk:
                continue
            notification_send(
                user_id=voter_id, kind=NotificationKind.REQUEST_FILLED,
                title=f"Your request {request.title} was filled",
                body=f"{filler.username} filled it with {found.name}.",
                url=request_url(request.pk), actor_id=filler.pk,
                target_type=TargetType.REQUEST, target_id=request.pk,
                payload={"request_id": str(request.pk), "torrent_id": str(found.pk)})
        notification_send(
            user_id=filler.pk, kind=NotificationKind.REQUEST_FILLED,
            title=f"You filled {request.title}: {bounty:,} points are yours",
            url=request_url(request.pk), target_type=TargetType.REQUEST,
            target_id=request.pk, payload={"request_id": str(request.pk)})
    return request


def _trim_bounties(request: TorrentRequest, shortfall: Decimal) -> list[dict[str, str]]:
    """Take `shortfall` off the pot, newest bounties first; returns what was trimmed."""
    trimmed: list[dict[str, str]] = []
    for bounty in (TorrentRequestBounty.objects.filter(request=request,
                                                       refunded_at__isnull=True)
                   .order_by("-created_at", "-id")):
        if shortfall <= 0:
            break
        cut = min(bounty.amount, shortfall)
        shortfall -= cut
        trimmed.append({"bounty_id": str(bounty.pk), "user_id": str(bounty.user_id),
                        "amount": str(cut)})
        if cut == bounty.amount:
            bounty.delete()
        else:
            bounty.amount -= cut
            bounty.save(update_fields=["amount"])
    return trimmed


def request_unfill(*, actor: User, request_id: Any, reason: str,
                   ip_address: str | None = None) -> TorrentRequest:
    """Undo a fill (the requester, the filler or staff with TORRENTS_EDIT_ANY): the request
    reopens and the bounty comes back from the filler (see the module docstring for a
    filler who spent it)."""
    reason = _text(reason, field="reason", limit=500, required=True)
    with transaction.atomic():
        request = _locked(request_id)
        if request.status != RequestStatus.FILLED or request.filler_id is None:
            raise Conflict("This request is not filled.", code="request_not_filled")
        staff = user_has_perm(actor, Perm.TORRENTS_EDIT_ANY)
        if not staff and (not actor.is_active
                          or actor.pk not in (request.requester_id, request.filler_id)):
            raise NotPermitted("Only the requester, the filler or staff can unfill a request.")
        filler_id, torrent_id = request.filler_id, request.filled_torrent_id
        owed = request.bounty_total
        taken, _ = bonus_bounty_reclaim(user_id=filler_id, amount=owed,
                                        request_id=request.pk, title=request.title,
                                        acting_user_id=actor.pk)
        shortfall = owed - taken
        trimmed = _trim_bounties(request, shortfall) if shortfall > 0 else []
        request.status = RequestStatus.OPEN
        request.filler = None
        request.filled_torrent = None
        request.filled_at = None
        request.bounty_total = taken
        request.save(update_fields=["status", "filler", "filled_torrent", "filled_at",
                                    "bounty_total", "updated_at"])
        statistics_bump(user_id=filler_id, counter="requests_filled_count", by=-1)
        search_enqueue(target_type=TargetType.REQUEST, target_id=request.pk)
        audit_log_write(action="request.unfill", actor=actor, target_type=TargetType.REQUEST,
                        target_id=request.pk, ip_address=ip_address,
                        changes={"status": ["filled", "open"],
                                 "bounty_total": [str(owed), str(taken)]},
                        metadata={"reason": reason, "filler_id": str(filler_id),
                                  "torrent_id": str(torrent_id or ""),
                                  "shortfall": str(shortfall), "trimmed": trimmed})
        # The filler (what was taken back), the requester and every voter (the request
        # is open again; a voter whose bounty paid for the shortfall is told how much),
        # each once; not the one who unfilled it.
        cut: dict[str, Decimal] = {}
        for row in trimmed:
            cut[row["user_id"]] = cut.get(row["user_id"], Decimal("0")) + Decimal(row["amount"])
        told = dict.fromkeys([filler_id, request.requester_id, *TorrentRequestVote.objects
                              .filter(request=request).values_list("user_id", flat=True)])
        for user_id in told:
            if user_id is None or user_id == actor.pk:
                continue
            if user_id == filler_id:
                title = (f"Your fill of {request.title} was unfilled: {taken:,} points "
                         "taken back")
            else:
                title = f"The request {request.title} was unfilled and is open again"
            body = reason
            if str(user_id) in cut:
                body += (f"\nThe filler had spent part of the bounty: {cut[str(user_id)]:,} "
                         "points of yours did not come back to the request.")
            notification_send(
                user_id=user_id, kind=NotificationKind.REQUEST_UNFILLED, title=title,
                body=body, url=request_url(request.pk), actor_id=actor.pk,
                target_type=TargetType.REQUEST, target_id=request.pk,
                payload={"request_id": str(request.pk), "bounty_total": str(taken),
                         "cut": str(cut.get(str(user_id), Decimal("0")))})
    return request


def request_delete(*, actor: User, request_id: Any, reason: str,
                   ip_address: str | None = None) -> list[tuple[uuid.UUID, Decimal]]:
    """Staff delete a request. An open request's bounties all go back to their voters
    (Gazelle refunds nothing); a filled one's bounty stays with its filler, who earned it.
    Returns the refunds (voter, points)."""
    require_perm(actor, Perm.TORRENTS_DELETE_ANY, "Only staff can delete requests.")
    reason = _text(reason, field="reason", limit=500, required=True)
    now = timezone.now()
    refunds: list[tuple[uuid.UUID, Decimal]] = []
    with transaction.atomic():
        request = _locked(request_id)
        was = request.status
        if was == RequestStatus.OPEN:
            for bounty in (TorrentRequestBounty.objects.filter(request=request,
                                                               refunded_at__isnull=True)
                           .order_by("user_id", "created_at")):
                bonus_bounty_credit(user_id=bounty.user_id, amount=bounty.amount,
                                    request_id=request.pk, title=request.title,
                                    awarded=False, acting_user_id=actor.pk)
                bounty.refunded_at = now
                bounty.save(update_fields=["refunded_at"])
                refunds.append((bounty.user_id, bounty.amount))
            request.bounty_total = Decimal("0")
        elif request.filler_id:
            statistics_bump(user_id=request.filler_id, counter="requests_filled_count",
                            by=-1)
        for voter_id in TorrentRequestVote.objects.filter(request=request).values_list(
                "user_id", flat=True):
            statistics_bump(user_id=voter_id, counter="requests_voted_count", by=-1)
        request.deleted_at = now
        request.status = RequestStatus.CLOSED if was == RequestStatus.OPEN else was
        request.save(update_fields=["deleted_at", "status", "bounty_total", "updated_at"])
        search_enqueue(target_type=TargetType.REQUEST, target_id=request.pk,
                       operation=IndexOperation.DELETE)
        audit_log_write(action="request.delete", actor=actor, target_type=TargetType.REQUEST,
                        target_id=request.pk, ip_address=ip_address,
                        metadata={"reason": reason, "title": request.title, "status": was,
                                  "refunds": [[str(u), str(a)] for u, a in refunds]})
        per_voter: dict[uuid.UUID, Decimal] = {}
        for user_id, amount in refunds:
            per_voter[user_id] = per_voter.get(user_id, Decimal("0")) + amount
        for user_id, amount in per_voter.items():
            notification_send(
                user_id=user_id, kind=NotificationKind.REQUEST_DELETED,
                title=f"The request {request.title} was deleted: {amount:,} points refunded",
                body=reason, actor_id=actor.pk, target_type=TargetType.REQUEST,
                target_id=request.pk,
                payload={"request_id": str(request.pk), "refunded": str(amount)})
    return refunds


def request_vote_refund(*, actor: User, bounty_id: uuid.UUID, reason: str,
                        ip_address: str | None = None) -> TorrentRequestBounty:
    """Staff give one bounty of an open request back to its voter (Django admin's action)."""
    require_perm(actor, Perm.TORRENTS_EDIT_ANY, "Only staff can refund a bounty.")
    reason = _text(reason, field="reason", limit=500, required=True)
    with transaction.atomic():
        request_id = (TorrentRequestBounty.objects.filter(pk=bounty_id)
                      .values_list("request_id", flat=True).first())
        if request_id is None:
            raise NotFound("That bounty does not exist.")
        request = _locked(request_id)
        bounty = TorrentRequestBounty.objects.select_for_update().get(pk=bounty_id)
        if bounty.refunded_at is not None:
            raise Conflict("That bounty was refunded already.")
        if request.status != RequestStatus.OPEN:
            raise Conflict("The request is filled: its bounty went to the filler.")
        bonus_bounty_credit(user_id=bounty.user_id, amount=bounty.amount,
                            request_id=request.pk, title=request.title, awarded=False,
                            acting_user_id=actor.pk)
        bounty.refunded_at = timezone.now()
        bounty.save(update_fields=["refunded_at"])
        request.bounty_total = F("bounty_total") - bounty.amount
        request.save(update_fields=["bounty_total", "updated_at"])
        audit_log_write(action="request.bounty_refund", actor=actor,
                        target_type=TargetType.REQUEST, target_id=request.pk,
                        ip_address=ip_address,
                        metadata={"reason": reason, "bounty_id": str(bounty.pk),
                                  "user_id": str(bounty.user_id),
                                  "amount": str(bounty.amount)})
        notification_send(
            user_id=bounty.user_id, kind=NotificationKind.BOUNTY_REFUNDED,
            title=f"Your bounty of {bounty.amount:,} points on {request.title} was refunded",
            body=reason, url=request_url(request.pk), actor_id=actor.pk,
            target_type=TargetType.REQUEST, target_id=request.pk,
            payload={"request_id": str(request.pk), "refunded": str(bounty.amount)})
    return bounty


def request_comment_post(*, author: User, request_id: Any, body: str,
                         quoted_id: uuid.UUID | None = None) -> Comment:
    """A comment on a request, with the torrents' rules (COMMENT permission, quotes of
    comments on the same request, the requester and a quoted author notified)."""
    require_perm(author, Perm.COMMENT, "Your account may not post comments.")
    body = _comment_body(body)
    _comment_rate_limit(author)
    with transaction.atomic():
        try:
            pk = uuid.UUID(str(request_id))
        except ValueError:
            raise NotFound("That request does not exist.") from None
        request = TorrentRequest.objects.filter(pk=pk, deleted_at__isnull=True).first()
        if request is None:
            raise NotFound("That request does not exist or was deleted.")
        quoted = None
        if quoted_id is not None:
            quoted = Comment.objects.filter(pk=quoted_id, target_type=TargetType.REQUEST,
                                            target_id=request.pk,
                                            deleted_at__isnull=True).first()
            if quoted is None:
                raise ValidationFailed("The quoted comment is gone.", field="quoted")
        comment = Comment.objects.create(target_type=TargetType.REQUEST, target_id=request.pk,
                                         author=author, body=body, quoted=quoted)
        statistics_bump(user_id=author.pk, counter="comments_count")
        comment_text_check(comment)
        url = f"{request_url(request.pk)}#comment-{comment.pk}"
        if request.requester_id and request.requester_id != author.pk:
            notification_send(user_id=request.requester_id,
                              kind=NotificationKind.REQUEST_COMMENT,
                              title=f"{author.username} commented on your request "
                                    f"{request.title}",
                              body=body[:200], url=url, actor_id=author.pk,
                              target_type=TargetType.REQUEST, target_id=request.pk)
        if (quoted is not None and quoted.author_id
                and quoted.author_id not in (author.pk, request.requester_id)):
            notification_send(user_id=quoted.author_id, kind=NotificationKind.QUOTE,
                              title=f"{author.username} quoted you on {request.title}",
                              body=body[:200], url=url, actor_id=author.pk,
                              target_type=TargetType.REQUEST, target_id=request.pk)
    return comment
