"""One factory per domain model: each call writes one new, valid row (with whatever it
hangs off), so the admin tests can render every changelist and change page with data."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.db import models
from django.utils import timezone

from domain.accounts.models import (
    AchievementRule,
    ApiKey,
    Invite,
    User,
    UserAchievement,
    UserGroup,
    UserPrivacy,
    UserSession,
    UserStatistics,
    UserTwoFactor,
)
from domain.bonus.models import BonusRule, BonusTransaction, EarningPeriod, FreeleechToken
from domain.catalog.models import (
    Comment,
    FeedToken,
    SiteStatisticsDaily,
    Top10Entry,
    Torrent,
    TorrentCategory,
    TorrentCollection,
    TorrentCollectionItem,
    TorrentCollectionSubscription,
    TorrentFile,
    TorrentMetadata,
    TorrentModeration,
    TorrentPieceLayers,
    TorrentRequest,
    TorrentRequestBounty,
    TorrentRequestVote,
    TorrentTag,
    TorrentTagAssignment,
    TorrentTagVote,
)
from domain.community.models import (
    ChatMessage,
    ChatMute,
    ChatRoom,
    Forum,
    ForumPost,
    ForumSubscription,
    ForumTopic,
    MemberBlock,
    Notification,
    PrivateMessage,
)
from domain.moderation.models import (
    Appeal,
    AuditLog,
    AutoFlagRule,
    Ban,
    ModerationQueueItem,
    Report,
    StaffNote,
    Warning,
    WarningThreshold,
)
from domain.search.models import SearchIndexQueueItem
from domain.tracker.models import (
    Announce,
    ClientRule,
    FlushBatch,
    Peer,
    PeerHistory,
    PeerHistoryDaily,
    RatioWatch,
    RefusedClaim,
    SetAsideEntry,
    TorrentHistory,
    TorrentStatistics,
)
from tests.factories import make_user

_seq = itertools.count(1)

# Not valid UTF-8 on purpose: a display that decodes instead of hex-encoding would crash.
RAW_BYTES = b"\xff\xfe\x00\x80"


def hex_of(value: bytes | memoryview | None) -> str:
    assert value is not None
    return bytes(value).hex()


def peer_id() -> bytes:
    return b"-qB4650-" + RAW_BYTES + uuid.uuid4().bytes[:8]


def torrent(**extra: object) -> Torrent:
    n = next(_seq)
    seed = f"torrent-{n}-{uuid.uuid4()}".encode()
    return Torrent.objects.create(
        info_hash_v1=RAW_BYTES + hashlib.sha1(seed).digest()[4:],  # noqa: S324 - test data
        info_hash_v2=hashlib.sha256(seed).digest(),
        version="hybrid",
        name=f"Some.Release.{n}.1080p.WEB-DL",
        category=TorrentCategory.objects.get(slug="movies-hd"),
        uploader=make_user("uploader"),
        status="approved",
        size=4 * 1024**3,
        file_count=1,
        piece_length=262144,
        info_dict=b"d6:lengthi4294967296e4:name7:release12:piece lengthi262144ee" + RAW_BYTES,
        **extra,
    )


def _group() -> UserGroup:
    n = next(_seq)
    return UserGroup.objects.create(name=f"test-group-{n}", display_name=f"Test group {n}",
                                    rank=10_000 + n, permissions=["site_access"])


def _privacy() -> UserPrivacy:
    return UserPrivacy.objects.get(user=make_user())


def _statistics() -> UserStatistics:
    return UserStatistics.objects.get(user=make_user())


def _session() -> UserSession:
    now = timezone.now()
    return UserSession.objects.create(
        user=make_user(), token_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        ip_address="198.51.100.4", user_agent="Firefox", created_at=now,
        last_seen_at=now, expires_at=now + timedelta(days=14))


def _achievement() -> UserAchievement:
    return UserAchievement.objects.create(user=make_user(), achievement="first-upload",
                                          title="First upload")


def _two_factor() -> UserTwoFactor:
    return UserTwoFactor.objects.create(user=make_user(), secret="JBSWY3DPEHPK3PXP",
                                        is_enabled=True, confirmed_at=timezone.now(),
                                        backup_codes=["hash-1", "hash-2"])


def _invite() -> Invite:
    return Invite.objects.create(inviter=make_user(), email=f"friend{next(_seq)}@example.test",
                                 expires_at=timezone.now() + timedelta(days=3))


def _achievement_rule() -> AchievementRule:
    return AchievementRule.objects.create(achievement=f"seeder-{next(_seq)}", tier=1,
                                          title="Seeder", counter="seeding_count",
                                          threshold=10)


def _category() -> TorrentCategory:
    n = next(_seq)
    return TorrentCategory.objects.create(parent=TorrentCategory.objects.get(slug="movies"),
                                          name=f"Test {n}", slug=f"test-{n}")


def _file() -> TorrentFile:
    return TorrentFile.objects.create(torrent=torrent(), file_index=0,
                                      path="Some.Release/video.mkv", size=4 * 1024**3,
                                      pieces_root=RAW_BYTES * 8)


def _tag() -> TorrentTag:
    return TorrentTag.objects.create(name=f"science.fiction{next(_seq)}")


def _tag_assignment() -> TorrentTagAssignment:
    return TorrentTagAssignment.objects.create(torrent=torrent(), tag=_tag(),
                                               added_by=make_user())


def _tag_vote() -> TorrentTagVote:
    return TorrentTagVote.objects.create(assignment=_tag_assignment(), user=make_user(),
                                         vote=1)


def _moderation() -> TorrentModeration:
    return TorrentModeration.objects.create(torrent=torrent(), status="approved",
                                            moderator=make_user("moderator"),
                                            decided_at=timezone.now())


def _metadata() -> TorrentMetadata:
    return TorrentMetadata.objects.create(torrent=torrent(), year=2021, resolution="1080p",
                                          source="WEB-DL", imdb_id="tt1234567",
                                          languages=["en"])


def _request() -> TorrentRequest:
    return TorrentRequest.objects.create(requester=make_user(), title=f"Wanted {next(_seq)}",
                                         category=TorrentCategory.objects.get(slug="tv-hd"))


def _bounty() -> TorrentRequestBounty:
    return TorrentRequestBounty.objects.create(request=_request(), user=make_user(),
                                               amount=Decimal("100.00"))


def _request_vote() -> TorrentRequestVote:
    return TorrentRequestVote.objects.create(request=_request(), user=make_user())


def _collection() -> TorrentCollection:
    return TorrentCollection.objects.create(
        name=f"Collection {next(_seq)}", owner=make_user(),
        category=TorrentCategory.objects.get(slug="music-flac"))


def _collection_item() -> TorrentCollectionItem:
    return TorrentCollectionItem.objects.create(collection=_collection(), torrent=torrent())


def _collection_subscription() -> TorrentCollectionSubscription:
    return TorrentCollectionSubscription.objects.create(collection=_collection(),
                                                        user=make_user())


def _comment() -> Comment:
    return Comment.objects.create(target_type="torrent", target_id=torrent().pk,
                                  author=make_user(), body="Thanks for the upload!")


def peer() -> Peer:
    return Peer.objects.create(torrent=torrent(), user=make_user(), peer_id=peer_id(),
                               ip="203.0.113.9", port=51413, left=1024, client="qBittorrent")


def announce() -> Announce:
    return Announce.objects.create(torrent=torrent(), user=make_user(), peer_id=peer_id(),
                                   ip="203.0.113.9", port=51413, event="started", uploaded=0,
                                   downloaded=0, left=1024, created_at=timezone.now())


def _piece_layers() -> TorrentPieceLayers:
    return TorrentPieceLayers.objects.create(torrent=torrent(), data=RAW_BYTES * 64)


def _feed_token() -> FeedToken:
    return FeedToken.objects.create(user=make_user(), token=uuid.uuid4().hex)


def _client_rule() -> ClientRule:
    return ClientRule.objects.create(kind="deny", peer_id_prefix=f"-XX{next(_seq)}-",
                                     name="Broken client", reason="Misreports uploads")


def _flush_batch() -> FlushBatch:
    return FlushBatch.objects.create(id=uuid.uuid4(), entries=250)


def _refused_claim() -> RefusedClaim:
    return RefusedClaim.objects.create(torrent=torrent(), user=make_user(), peer_id=peer_id(),
                                       ip="10.1.2.3", event="completed", uploaded=2**53,
                                       downloaded=0, uploaded_credited=1000,
                                       uploaded_refused=2**53 - 1000)


def _set_aside_entry() -> SetAsideEntry:
    return SetAsideEntry.objects.create(id=uuid.uuid4(), batch_id=uuid.uuid4(),
                                        raw='{"t": "broken', error="not a JSON object")


def _earning_period() -> EarningPeriod:
    start = timezone.now().replace(microsecond=0) - timedelta(hours=next(_seq))
    return EarningPeriod.objects.create(period_start=start, period_end=start + timedelta(hours=1),
                                        members=12, points=Decimal("34.50"), duration_ms=80)


def _member_block() -> MemberBlock:
    return MemberBlock.objects.create(user=make_user(), blocked=make_user())


def _chat_mute() -> ChatMute:
    return ChatMute.objects.create(user=make_user(), room=ChatRoom.objects.get(name="general"),
                                   muted_by=make_user("moderator"), reason="Flooding",
                                   expires_at=timezone.now() + timedelta(hours=1))


def _peer_history() -> PeerHistory:
    return PeerHistory.objects.create(torrent=torrent(), user=make_user(), peer_id=peer_id(),
                                      uploaded_delta=1024, is_seeder=True)


def _peer_history_daily() -> PeerHistoryDaily:
    return PeerHistoryDaily.objects.create(day=timezone.now().date(), torrent=torrent(),
                                           user=make_user(), uploaded=4096, samples=3)


def _torrent_history() -> TorrentHistory:
    return TorrentHistory.objects.create(torrent=torrent(), user=make_user(), downloaded=4096,
                                         downloaded_raw=4096, client="qBittorrent 4.6.5",
                                         completed_at=timezone.now())


def _ratio_watch() -> RatioWatch:
    now = timezone.now()
    return RatioWatch.objects.create(user=make_user(), required_ratio=Decimal("0.30"),
                                     ratio_at_start=Decimal("0.1"), started_at=now,
                                     deadline_at=now + timedelta(days=14))


def _torrent_statistics() -> TorrentStatistics:
    return TorrentStatistics.objects.create(torrent=torrent(), seeders=3, leechers=1,
                                            snatches=7)


def _bonus_rule() -> BonusRule:
    n = next(_seq)
    return BonusRule.objects.create(name=f"test-rule-{n}", display_name=f"Test rule {n}",
                                    rule_type="seeding", points_per_hour=Decimal("1.5"))


def _bonus_transaction() -> BonusTransaction:
    return BonusTransaction.objects.create(
        user=make_user(), transaction_type="adjustment", amount=Decimal("5"),
        balance_after=Decimal("5"), acting_user=make_user("sysop"), torrent=torrent())


def _freeleech_token() -> FreeleechToken:
    return FreeleechToken.objects.create(user=make_user(), torrent=torrent(), status="active",
                                         activated_at=timezone.now())


def _forum() -> Forum:
    n = next(_seq)
    return Forum.objects.create(name=f"Forum {n}", slug=f"forum-{n}")


def _topic() -> ForumTopic:
    return ForumTopic.objects.create(forum=Forum.objects.get(slug="general"),
                                     author=make_user(), title=f"Topic {next(_seq)}",
                                     last_poster=make_user())


def _post() -> ForumPost:
    return ForumPost.objects.create(topic=_topic(), author=make_user(), body="First!")


def _forum_subscription() -> ForumSubscription:
    return ForumSubscription.objects.create(user=make_user(), topic=_topic())


def _private_message() -> PrivateMessage:
    return PrivateMessage.objects.create(conversation_id=uuid.uuid4(), sender=make_user(),
                                         recipient=make_user(), subject="Hello", body="Hi!")


def _room() -> ChatRoom:
    n = next(_seq)
    return ChatRoom.objects.create(name=f"room-{n}", display_name=f"Room {n}")


def _chat_message() -> ChatMessage:
    return ChatMessage.objects.create(room=ChatRoom.objects.get(name="general"),
                                      user=make_user(), body="hello @everyone")


def _notification() -> Notification:
    return Notification.objects.create(user=make_user(), kind="system", title="Welcome",
                                       actor=make_user("sysop"), target_type="user",
                                       target_id=uuid.uuid4())


def _report() -> Report:
    return Report.objects.create(reporter=make_user(), target_type="user",
                                 target_id=make_user().pk, reason="spam")


def _warning() -> Warning:
    return Warning.objects.create(user=make_user(), issued_by=make_user("moderator"),
                                  reason="Ratio below the requirement")


def _warning_threshold() -> WarningThreshold:
    return WarningThreshold.objects.update_or_create(consequence="upload",
                                                     defaults={"points": 20})[0]


def _auto_flag_rule() -> AutoFlagRule:
    return AutoFlagRule.objects.create(name=f"Rule {next(_seq)}", kind="report_count",
                                       parameters={"reports": 5})


def _appeal() -> Appeal:
    member = make_user()
    warning = Warning.objects.create(user=member, reason="Spam", points=1)
    return Appeal.objects.create(appellant=member, target_type="warning",
                                 target_id=warning.pk, text="It was not spam")


def _staff_note() -> StaffNote:
    return StaffNote.objects.create(member=make_user(), author=make_user("moderator"),
                                    body="Asked about <b>seedboxes</b>")


def ban() -> Ban:
    return Ban.objects.create(ban_type="ip", ip_range=f"203.0.{next(_seq) % 250}.0/24",
                              reason="Seedbox abuse", issued_by=make_user("moderator"))


def audit_log() -> AuditLog:
    return AuditLog.objects.create(
        actor=make_user("moderator"), action="user.ban", target_type="user",
        target_id=make_user().pk, ip_address="198.51.100.7", user_agent="Firefox",
        changes={"status": ["active", "banned"]}, metadata={"reason": "<script>x</script>"})


def _queue_item() -> ModerationQueueItem:
    return ModerationQueueItem.objects.create(target_type="torrent", target_id=torrent().pk,
                                              source="new_upload", flag_score=0.5,
                                              flags=["new_uploader"])


def _api_key() -> ApiKey:
    return ApiKey.objects.create(user=make_user(), name=f"Prowlarr {next(_seq)}",
                                 prefix="trk_abcd", key_hash=hashlib.sha256(
                                     uuid.uuid4().bytes).hexdigest(), scopes=["search"])


def _top10_entry() -> Top10Entry:
    return Top10Entry.objects.create(board="active", period="week", rank=next(_seq) % 30000,
                                     target_id=uuid.uuid4(), label="Big.Buck.Bunny", value=12)


def _site_statistics() -> SiteStatisticsDaily:
    day = timezone.now().date() - timedelta(days=next(_seq))
    return SiteStatisticsDaily.objects.create(day=day, members=10, torrents=3)


def _search_item() -> SearchIndexQueueItem:
    return SearchIndexQueueItem.objects.create(target_type="torrent", target_id=torrent().pk)


ROW_FACTORIES: dict[type[models.Model], Callable[[], models.Model]] = {
    UserGroup: _group,
    User: make_user,
    UserSession: _session,
    UserPrivacy: _privacy,
    UserStatistics: _statistics,
    UserAchievement: _achievement,
    UserTwoFactor: _two_factor,
    Invite: _invite,
    AchievementRule: _achievement_rule,
    TorrentCategory: _category,
    Torrent: torrent,
    TorrentFile: _file,
    TorrentTag: _tag,
    TorrentTagAssignment: _tag_assignment,
    TorrentTagVote: _tag_vote,
    TorrentModeration: _moderation,
    TorrentMetadata: _metadata,
    TorrentRequest: _request,
    TorrentRequestBounty: _bounty,
    TorrentRequestVote: _request_vote,
    TorrentCollection: _collection,
    TorrentCollectionItem: _collection_item,
    TorrentCollectionSubscription: _collection_subscription,
    Comment: _comment,
    TorrentPieceLayers: _piece_layers,
    FeedToken: _feed_token,
    Peer: peer,
    Announce: announce,
    PeerHistory: _peer_history,
    PeerHistoryDaily: _peer_history_daily,
    TorrentHistory: _torrent_history,
    RatioWatch: _ratio_watch,
    TorrentStatistics: _torrent_statistics,
    ClientRule: _client_rule,
    FlushBatch: _flush_batch,
    RefusedClaim: _refused_claim,
    SetAsideEntry: _set_aside_entry,
    BonusRule: _bonus_rule,
    BonusTransaction: _bonus_transaction,
    FreeleechToken: _freeleech_token,
    EarningPeriod: _earning_period,
    Forum: _forum,
    ForumTopic: _topic,
    ForumPost: _post,
    ForumSubscription: _forum_subscription,
    PrivateMessage: _private_message,
    ChatRoom: _room,
    ChatMessage: _chat_message,
    Notification: _notification,
    MemberBlock: _member_block,
    ChatMute: _chat_mute,
    Report: _report,
    Warning: _warning,
    WarningThreshold: _warning_threshold,
    AutoFlagRule: _auto_flag_rule,
    Appeal: _appeal,
    StaffNote: _staff_note,
    Ban: ban,
    AuditLog: audit_log,
    ModerationQueueItem: _queue_item,
    SearchIndexQueueItem: _search_item,
    ApiKey: _api_key,
    Top10Entry: _top10_entry,
    SiteStatisticsDaily: _site_statistics,
}
