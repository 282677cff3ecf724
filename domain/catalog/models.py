"""Torrents and what hangs off them: torrent_categories, torrents, torrent_files,
torrent_tags, torrent_tag_assignments, torrent_tag_votes, torrent_moderation,
torrent_metadata, torrent_requests, torrent_request_bounties, torrent_request_votes,
torrent_collections, torrent_collection_items, torrent_collection_subscriptions, comments."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length, Upper
from django.db.models.lookups import Exact, GreaterThan, LessThanOrEqual
from django.utils import timezone

from domain.base import (
    TargetType,
    TimestampedModel,
    UUIDModel,
    choices_check,
    non_negative,
)

USER = settings.AUTH_USER_MODEL


class TorrentCategory(TimestampedModel):
    """Two levels: a main category (parent NULL) and its subcategories."""

    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="children")
    name = models.CharField(max_length=64)
    slug = models.SlugField(max_length=64, unique=True)
    description = models.TextField(blank=True, default="")
    icon = models.CharField(max_length=64, blank=True, default="")
    sort_order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "torrent_categories"
        verbose_name_plural = "torrent categories"
        ordering = ["sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="torrent_categories_name_uniq",
                                    nulls_distinct=False),
            models.CheckConstraint(condition=~Q(parent=F("id")),
                                   name="torrent_categories_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name if self.parent_id is None else f"{self.parent} / {self.name}"


class TorrentStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class TorrentVersion(models.TextChoices):
    V1 = "v1", "BitTorrent v1"
    V2 = "v2", "BitTorrent v2"
    HYBRID = "hybrid", "Hybrid v1 + v2"


class Torrent(TimestampedModel):
    """A torrent. `info_dict` is the original bencoded info dictionary, byte for byte, so
    a download rebuilt with the member's passkey keeps both info hashes."""

    info_hash_v1 = models.BinaryField(max_length=20, null=True, blank=True)
    info_hash_v2 = models.BinaryField(max_length=32, null=True, blank=True)
    version = models.CharField(max_length=8, choices=TorrentVersion.choices)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    category = models.ForeignKey(TorrentCategory, on_delete=models.PROTECT,
                                 related_name="torrents")
    # Deleting an account keeps its uploads (they belong to the site's catalog).
    uploader = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="uploads")
    is_anonymous = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=TorrentStatus.choices,
                              default=TorrentStatus.PENDING)
    size = models.BigIntegerField()
    file_count = models.PositiveIntegerField()
    piece_length = models.PositiveIntegerField()
    info_dict = models.BinaryField()
    source = models.CharField(max_length=64, blank=True, default="")
    is_freeleech = models.BooleanField(default=False)
    freeleech_until = models.DateTimeField(null=True, blank=True)
    is_neutral_leech = models.BooleanField(default=False)
    is_double_upload = models.BooleanField(default=False)
    is_featured = models.BooleanField(default=False)
    # Kept current by the trigger in sql/0001_torrent_search.sql.
    search_vector = SearchVectorField(null=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "torrents"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["category", "-created_at"], name="torrents_category_idx",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["-created_at"], name="torrents_browse_idx",
                         condition=Q(status="approved", deleted_at__isnull=True)),
            models.Index(fields=["uploader", "-created_at"], name="torrents_uploader_idx"),
            models.Index(fields=["-size"], name="torrents_size_idx"),
            models.Index(fields=["status", "created_at"], name="torrents_pending_idx",
                         condition=Q(status="pending")),
            models.Index(fields=["freeleech_until"], name="torrents_freeleech_idx",
                         condition=Q(is_freeleech=True)),
            GinIndex(fields=["search_vector"], name="torrents_search_gin"),
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="torrents_name_trgm"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["info_hash_v1"], name="torrents_info_hash_v1_uniq"),
            models.UniqueConstraint(fields=["info_hash_v2"], name="torrents_info_hash_v2_uniq"),
            models.CheckConstraint(
                condition=Q(info_hash_v1__isnull=False) | Q(info_hash_v2__isnull=False),
                name="torrents_has_info_hash"),
            models.CheckConstraint(
                condition=Q(info_hash_v1__isnull=True) | Q(Exact(Length("info_hash_v1"), 20)),
                name="torrents_info_hash_v1_20_bytes"),
            models.CheckConstraint(
                condition=Q(info_hash_v2__isnull=True) | Q(Exact(Length("info_hash_v2"), 32)),
                name="torrents_info_hash_v2_32_bytes"),
            models.CheckConstraint(
                condition=(Q(version="v1", info_hash_v1__isnull=False, info_hash_v2__isnull=True)
                           | Q(version="v2", info_hash_v2__isnull=False)
                           | Q(version="hybrid", info_hash_v1__isnull=False,
                               info_hash_v2__isnull=False)),
                name="torrents_version_matches_hashes"),
            models.CheckConstraint(condition=Q(piece_length__gte=16384),
                                   name="torrents_piece_length_min"),
            choices_check("status", TorrentStatus, "torrents_status_valid"),
            choices_check("version", TorrentVersion, "torrents_version_valid"),
            *non_negative("size", "file_count", prefix="torrents"),
        ]

    def __str__(self) -> str:
        return self.name


class TorrentFile(UUIDModel):
    torrent = models.ForeignKey(Torrent, on_delete=models.CASCADE, related_name="files")
    file_index = models.PositiveIntegerField()
    path = models.TextField()
    size = models.BigIntegerField()
    # BitTorrent v2: the merkle root of the file's piece layer (32 bytes).
    pieces_root = models.BinaryField(max_length=32, null=True, blank=True)

    class Meta:
        db_table = "torrent_files"
        ordering = ["torrent", "file_index"]
        constraints = [
            models.UniqueConstraint(fields=["torrent", "file_index"],
                                    name="torrent_files_index_uniq"),
            models.UniqueConstraint(fields=["torrent", "path"], name="torrent_files_path_uniq"),
            models.CheckConstraint(condition=Q(size__gte=0), name="torrent_files_size_gte_0"),
            models.CheckConstraint(condition=~Q(path__startswith="/") & ~Q(path=""),
                                   name="torrent_files_path_relative"),
        ]


class TorrentTag(TimestampedModel):
    """A tag name, normalized (lower case, dots for spaces: `science.fiction`)."""

    name = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=255, blank=True, default="")
    usage_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        db_table = "torrent_tags"
        ordering = ["name"]
        indexes = [
            GinIndex(OpClass("name", name="gin_trgm_ops"), name="torrent_tags_name_trgm"),
            models.Index(fields=["-usage_count"], name="torrent_tags_usage_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(name__regex=r"^[a-z0-9][a-z0-9.+#-]{0,63}$"),
                                   name="torrent_tags_name_normalized"),
        ]

    def __str__(self) -> str:
        return self.name


class TorrentTagAssignment(UUIDModel):
    torrent = models.ForeignKey(Torrent, on_delete=models.CASCADE, related_name="tag_assignments")
    tag = models.ForeignKey(TorrentTag, on_delete=models.CASCADE, related_name="assignments")
    added_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    score = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "torrent_tag_assignments"
        indexes = [models.Index(fields=["tag", "torrent"], name="torrent_tag_assign_tag_idx")]
        constraints = [
            models.UniqueConstraint(fields=["torrent", "tag"], name="torrent_tag_assign_uniq"),
        ]


class TorrentTagVote(UUIDModel):
    assignment = models.ForeignKey(TorrentTagAssignment, on_delete=models.CASCADE,
                                   related_name="votes")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="tag_votes")
    vote = models.SmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "torrent_tag_votes"
        indexes = [models.Index(fields=["user"], name="torrent_tag_votes_user_idx")]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "user"], name="torrent_tag_votes_once"),
            choices_check("vote", [-1, 1], "torrent_tag_votes_up_or_down"),
        ]


class TorrentModeration(TimestampedModel):
    """The moderation decision for one torrent (mirrors torrents.status, with who and why)."""

    torrent = models.OneToOneField(Torrent, on_delete=models.CASCADE, related_name="moderation")
    status = models.CharField(max_length=16, choices=TorrentStatus.choices,
                              default=TorrentStatus.PENDING)
    moderator = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    reason = models.TextField(blank=True, default="")
    notes = models.TextField(blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "torrent_moderation"
        verbose_name_plural = "torrent moderation"
        indexes = [
            models.Index(fields=["created_at"], name="torrent_moderation_pending_idx",
                         condition=Q(status="pending")),
            models.Index(fields=["moderator", "-decided_at"], name="torrent_moderation_mod_idx"),
        ]
        constraints = [
            choices_check("status", TorrentStatus, "torrent_moderation_status_valid"),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(decided_at__isnull=False),
                name="torrent_moderation_decided_has_time"),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reason=""),
                name="torrent_moderation_reject_has_reason"),
        ]


class TorrentMetadata(TimestampedModel):
    """Release details and external ids, as entered (no network fetch)."""

    torrent = models.OneToOneField(Torrent, on_delete=models.CASCADE, related_name="metadata")
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    resolution = models.CharField(max_length=16, blank=True, default="")
    video_codec = models.CharField(max_length=32, blank=True, default="")
    audio_codec = models.CharField(max_length=32, blank=True, default="")
    source = models.CharField(max_length=32, blank=True, default="")
    container = models.CharField(max_length=16, blank=True, default="")
    release_group = models.CharField(max_length=64, blank=True, default="")
    hdr_format = models.CharField(max_length=32, blank=True, default="")
    languages = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    subtitles = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    runtime_minutes = models.PositiveIntegerField(null=True, blank=True)
    imdb_id = models.CharField(max_length=16, blank=True, default="")
    tmdb_id = models.PositiveIntegerField(null=True, blank=True)
    tvdb_id = models.PositiveIntegerField(null=True, blank=True)
    igdb_id = models.PositiveIntegerField(null=True, blank=True)
    musicbrainz_id = models.UUIDField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "torrent_metadata"
        verbose_name_plural = "torrent metadata"
        indexes = [
            models.Index(fields=["resolution", "source"], name="torrent_metadata_res_src_idx"),
            models.Index(fields=["release_group"], name="torrent_metadata_group_idx"),
            models.Index(fields=["tmdb_id"], name="torrent_metadata_tmdb_idx",
                         condition=Q(tmdb_id__isnull=False)),
            models.Index(fields=["imdb_id"], name="torrent_metadata_imdb_idx",
                         condition=~Q(imdb_id="")),
            models.Index(fields=["igdb_id"], name="torrent_metadata_igdb_idx",
                         condition=Q(igdb_id__isnull=False)),
            models.Index(fields=["musicbrainz_id"], name="torrent_metadata_mbid_idx",
                         condition=Q(musicbrainz_id__isnull=False)),
            GinIndex(fields=["languages"], name="torrent_metadata_langs_gin"),
            GinIndex(fields=["extra"], name="torrent_metadata_extra_gin"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(year__isnull=True) | Q(year__range=(1870, 2200)),
                                   name="torrent_metadata_year_range"),
            models.CheckConstraint(condition=Q(imdb_id="") | Q(imdb_id__regex=r"^tt[0-9]{7,10}$"),
                                   name="torrent_metadata_imdb_format"),
        ]


class RequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    FILLED = "filled", "Filled"
    CLOSED = "closed", "Closed"


class TorrentRequest(TimestampedModel):
    """A member asks for something; others add bounty (bonus points) and votes."""

    requester = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="requests_made")
    category = models.ForeignKey(TorrentCategory, on_delete=models.PROTECT,
                                 related_name="requests")
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    requirements = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=RequestStatus.choices,
                              default=RequestStatus.OPEN)
    filled_torrent = models.ForeignKey(Torrent, on_delete=models.SET_NULL, null=True,
                                       blank=True, related_name="requests_filled")
    filler = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="requests_filled")
    filled_at = models.DateTimeField(null=True, blank=True)
    bounty_total = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    vote_count = models.PositiveIntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "torrent_requests"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="torrent_requests_status_idx",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["category", "status"], name="torrent_requests_cat_idx"),
            models.Index(fields=["requester"], name="torrent_requests_requester_idx"),
            models.Index(fields=["-bounty_total"], name="torrent_requests_bounty_idx",
                         condition=Q(status="open")),
            # The browse page's sorts (domain/catalog/request_selectors.py), each (column,
            # id) read forward or backward, so page 1 reads 50 rows, not a sort of all.
            *[models.Index(fields=[column, "id"], name=f"torrent_req_{short}_sort",
                           condition=Q(deleted_at__isnull=True))
              for column, short in (("created_at", "created"), ("bounty_total", "bounty"),
                                    ("vote_count", "votes"), ("title", "title"))],
            models.Index(F("filled_at").desc(nulls_last=True), F("id").desc(),
                         name="torrent_req_filled_sort",
                         condition=Q(deleted_at__isnull=True)),
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"),
                     name="torrent_requests_title_trgm"),
            # Ours: full text on the title (domain/catalog/request_selectors.py).
            GinIndex(SearchVector("title", config="simple"),
                     name="torrent_requests_title_fts"),
        ]
        constraints = [
            choices_check("status", RequestStatus, "torrent_requests_status_valid"),
            models.CheckConstraint(condition=Q(bounty_total__gte=0),
                                   name="torrent_requests_bounty_gte_0"),
            models.CheckConstraint(
                condition=~Q(status="filled") | Q(filled_at__isnull=False, filler__isnull=False),
                name="torrent_requests_filled_has_filler"),
        ]


class TorrentRequestBounty(UUIDModel):
    request = models.ForeignKey(TorrentRequest, on_delete=models.CASCADE, related_name="bounties")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="bounties")
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "torrent_request_bounties"
        indexes = [
            models.Index(fields=["request", "created_at"], name="torrent_req_bounty_req_idx"),
            models.Index(fields=["user"], name="torrent_req_bounty_user_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="torrent_req_bounty_positive"),
        ]


class TorrentRequestVote(UUIDModel):
    request = models.ForeignKey(TorrentRequest, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="request_votes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "torrent_request_votes"
        indexes = [models.Index(fields=["user"], name="torrent_req_votes_user_idx")]
        constraints = [
            models.UniqueConstraint(fields=["request", "user"], name="torrent_req_votes_once"),
        ]


class CollectionType(models.TextChoices):
    PERSONAL = "personal", "Personal"
    THEME = "theme", "Theme"
    SERIES = "series", "Series"
    DISCOGRAPHY = "discography", "Discography"
    LABEL = "label", "Label"
    STAFF_PICKS = "staff_picks", "Staff picks"


class TorrentCollection(TimestampedModel):
    """Gazelle's collages: curated lists of torrents members can follow."""

    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    collection_type = models.CharField(max_length=16, choices=CollectionType.choices,
                                       default=CollectionType.PERSONAL)
    owner = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="collections")
    category = models.ForeignKey(TorrentCategory, on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="collections")
    is_public = models.BooleanField(default=True)
    is_locked = models.BooleanField(default=False)
    # Ours, not the seed's: staff feature a collection (listed first on browse).
    is_featured = models.BooleanField(default=False)
    item_count = models.PositiveIntegerField(default=0)
    subscriber_count = models.PositiveIntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "torrent_collections"
        ordering = ["name"]
        indexes = [
            models.Index(fields=["owner"], name="torrent_collections_owner_idx"),
            models.Index(fields=["collection_type", "-updated_at"],
                         name="torrent_collections_type_idx",
                         condition=Q(deleted_at__isnull=True, is_public=True)),
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"),
                     name="torrent_collections_name_trgm"),
        ]
        constraints = [
            choices_check("collection_type", CollectionType, "torrent_collections_type_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class TorrentCollectionItem(UUIDModel):
    collection = models.ForeignKey(TorrentCollection, on_delete=models.CASCADE,
                                   related_name="items")
    torrent = models.ForeignKey(Torrent, on_delete=models.CASCADE, related_name="in_collections")
    added_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    position = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "torrent_collection_items"
        ordering = ["collection", "position"]
        indexes = [
            models.Index(fields=["torrent"], name="torrent_coll_items_torrent_idx"),
            models.Index(fields=["collection", "position"], name="torrent_coll_items_pos_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["collection", "torrent"],
                                    name="torrent_coll_items_once"),
        ]


class TorrentCollectionSubscription(UUIDModel):
    collection = models.ForeignKey(TorrentCollection, on_delete=models.CASCADE,
                                   related_name="subscriptions")
    user = models.ForeignKey(USER, on_delete=models.CASCADE,
                             related_name="collection_subscriptions")
    created_at = models.DateTimeField(default=timezone.now)
    last_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "torrent_collection_subscriptions"
        indexes = [models.Index(fields=["user"], name="torrent_coll_subs_user_idx")]
        constraints = [
            models.UniqueConstraint(fields=["collection", "user"], name="torrent_coll_subs_once"),
        ]


COMMENT_TARGETS = (TargetType.TORRENT, TargetType.REQUEST, TargetType.COLLECTION)


class Comment(TimestampedModel):
    """A comment on a torrent, request or collection (polymorphic target, see domain.base)."""

    target_type = models.CharField(max_length=32,
                                   choices=[(t.value, t.label) for t in COMMENT_TARGETS])
    target_id = models.UUIDField()
    author = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="comments")
    body = models.TextField()
    quoted = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="quoted_by")
    edited_at = models.DateTimeField(null=True, blank=True)
    edit_count = models.PositiveIntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        db_table = "comments"
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "created_at"],
                         name="comments_target_idx", condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["author", "-created_at"], name="comments_author_idx"),
        ]
        constraints = [
            choices_check("target_type", [t.value for t in COMMENT_TARGETS],
                          "comments_target_type_valid"),
            models.CheckConstraint(
                condition=(Q(GreaterThan(Length("body"), 0))
                           & Q(LessThanOrEqual(Length("body"), 65536))),
                name="comments_body_length"),
        ]


class TorrentPieceLayers(models.Model):
    """BitTorrent v2 `piece layers` (outside the info dict, so not in torrents.info_dict),
    kept byte for byte so a downloaded v2/hybrid file is complete without asking peers."""

    torrent = models.OneToOneField(Torrent, on_delete=models.CASCADE, primary_key=True,
                                   related_name="piece_layers")
    data = models.BinaryField()

    class Meta:
        db_table = "torrent_piece_layers"

    def __str__(self) -> str:
        return f"piece layers of {self.torrent_id}"


class FeedToken(TimestampedModel):
    """A member's RSS feed secret: a torrent client's RSS reader has no session and must
    not be handed the passkey in a URL it may log or share, so feeds get their own token,
    resettable on its own."""

    user = models.OneToOneField(USER, on_delete=models.CASCADE, related_name="feed_token")
    token = models.CharField(max_length=64, unique=True)

    class Meta:
        db_table = "torrent_feed_tokens"


class Top10Board(models.TextChoices):
    """Gazelle's top 10 lists: five of torrents, four of members."""

    ACTIVE = "active", "Most active torrents"
    SNATCHED = "snatched", "Most snatched torrents"
    TRANSFERRED = "transferred", "Most data transferred"
    BEST_SEEDED = "best_seeded", "Best seeded torrents"
    WORST_SEEDED = "worst_seeded", "Worst seeded torrents"
    UPLOADERS = "uploaders", "Top uploaders"
    DOWNLOADERS = "downloaders", "Top downloaders"
    SEEDERS = "seeders", "Top seeders (seed time)"
    BONUS = "bonus", "Top bonus earners"


class Top10Period(models.TextChoices):
    DAY = "day", "Past day"
    WEEK = "week", "Past week"
    MONTH = "month", "Past month"
    ALL = "all", "All time"


class Top10Entry(UUIDModel):
    """One line of one top 10 list, written by the beat job (domain/catalog/top10.py) and
    never computed per request. `target_id` is a torrent or a member, by the board."""

    board = models.CharField(max_length=16, choices=Top10Board.choices)
    period = models.CharField(max_length=8, choices=Top10Period.choices)
    rank = models.PositiveSmallIntegerField()
    target_id = models.UUIDField()
    label = models.CharField(max_length=255)
    value = models.DecimalField(max_digits=24, decimal_places=2)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "top10_entries"
        ordering = ["board", "period", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["board", "period", "rank"], name="top10_rank_once"),
            choices_check("board", Top10Board, "top10_board_valid"),
            choices_check("period", Top10Period, "top10_period_valid"),
        ]


class SiteStatisticsDaily(models.Model):
    """The site's figures once a day (the statistics page charts them). Written by the
    beat job (domain/catalog/sitestats.py); a rerun on the same day overwrites that day."""

    day = models.DateField(primary_key=True)
    members = models.PositiveIntegerField(default=0)
    active_today = models.PositiveIntegerField(default=0)
    active_week = models.PositiveIntegerField(default=0)
    torrents = models.PositiveIntegerField(default=0)
    peers = models.PositiveIntegerField(default=0)
    seeders = models.PositiveIntegerField(default=0)
    leechers = models.PositiveIntegerField(default=0)
    transferred = models.DecimalField(max_digits=30, decimal_places=0, default=0)
    members_per_class = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "site_statistics_daily"
        ordering = ["-day"]
        verbose_name_plural = "site statistics (daily)"

    def __str__(self) -> str:
        return str(self.day)
