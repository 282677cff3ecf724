"""`manage.py seed_demo`: load a small, realistic community into an empty database.

Run by the launcher after `migrate`. It writes nothing when the database already has
members (so restarting `make run` never duplicates or clobbers anything) and otherwise
loads, in one transaction: members across the default groups, torrents built from real
bencoded info dictionaries (v1, v2 and hybrid), tags, requests, collections, comments,
forum topics, chat, private messages, a report, a warning and a bonus ledger that adds up
to every balance. It ends by printing the demo login, one line:
`Demo login: sysop / <password>` (DEMO_PASSWORD, default "demo-password-123").
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pyotp
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from domain.accounts.models import User, UserGroup, UserStatistics, UserStatus, UserTwoFactor
from domain.base import TargetType
from domain.bonus.models import BonusRule, BonusTransaction, FreeleechToken, TransactionType
from domain.catalog.demo import build_torrent
from domain.catalog.models import (
    CollectionType,
    Comment,
    RequestStatus,
    Torrent,
    TorrentCategory,
    TorrentCollection,
    TorrentCollectionItem,
    TorrentCollectionSubscription,
    TorrentFile,
    TorrentMetadata,
    TorrentModeration,
    TorrentRequest,
    TorrentRequestBounty,
    TorrentRequestVote,
    TorrentStatus,
    TorrentTag,
    TorrentTagAssignment,
    TorrentTagVote,
)
from domain.community.models import (
    ChatMessage,
    ChatRoom,
    Forum,
    ForumPost,
    ForumSubscription,
    ForumTopic,
    PrivateMessage,
)
from domain.moderation.models import (
    ModerationQueueItem,
    QueueSource,
    Report,
    ReportReason,
    Warning,
)
from domain.moderation.warnings import warning_take_effect
from domain.search.services import search_enqueue_all
from domain.tracker.models import TorrentStatistics

DEMO_USERNAME = "sysop"
DEMO_MEMBER = "reelfan"
DEFAULT_DEMO_PASSWORD = "demo-password-123"  # noqa: S105 -- the public demo login
ALREADY_SEEDED = "Database already has members; demo data not loaded."
TORRENT_SOURCE = "DEMO"

KIB = 1024
MIB = 1024**2
GIB = 1024**3
TIB = 1024**4
HOUR = 3600
DAY = 24 * HOUR


# --------------------------------------------------------------------------- members


@dataclass(frozen=True)
class DemoMember:
    username: str
    group: str
    joined_days_ago: float
    title: str = ""
    profile: str = ""
    status: str = UserStatus.ACTIVE
    invited_by: str | None = None
    ip: str | None = None
    seen_hours_ago: float | None = None
    stats: dict[str, int] = field(default_factory=dict)
    hide: tuple[str, ...] = ()  # user_privacy settings turned off


def _traffic(up: int, down: int, *, seeding: int, leeching: int, seeding_size: int,
             snatched: int, seed_days: int) -> dict[str, int]:
    """Credited and raw traffic: raw upload a little below credited (double-upload
    torrents), raw download above it (freeleech)."""
    return {
        "uploaded": up, "downloaded": down,
        "uploaded_raw": up * 9 // 10, "downloaded_raw": down * 23 // 20,
        "seeding_count": seeding, "leeching_count": leeching, "seeding_size": seeding_size,
        "snatched_count": snatched, "seedtime_seconds": seed_days * DAY,
    }


MEMBERS: tuple[DemoMember, ...] = (
    DemoMember(
        "sysop", "sysop", 420, title="Keeper of the servers", ip="203.0.113.10",
        seen_hours_ago=0.2,
        profile="Runs the boxes, the backups and the occasional 3 a.m. database restore. "
                "For account problems, send a staff ticket instead of a PM.",
        stats=_traffic(850 * GIB, 120 * GIB, seeding=40, leeching=0, seeding_size=310 * GIB,
                       snatched=95, seed_days=2900)),
    DemoMember(
        "marta", "moderator", 380, title="Moderator", ip="198.51.100.23", seen_hours_ago=1.5,
        profile="Torrent moderation and the rules. If your upload is pending, it is "
                "probably in my queue; check the upload guide while you wait.",
        stats=_traffic(2355 * GIB, 610 * GIB, seeding=122, leeching=1, seeding_size=1450 * GIB,
                       snatched=540, seed_days=6100)),
    DemoMember(
        "quillon", "forum_moderator", 300, title="Forum moderator", ip="198.51.100.77",
        seen_hours_ago=3,
        profile="I look after the forums and the support channel. Ask anything, "
                "but search first.",
        stats=_traffic(410 * GIB, 290 * GIB, seeding=33, leeching=0, seeding_size=280 * GIB,
                       snatched=210, seed_days=1800)),
    DemoMember(
        "seedbox_sam", "uploader", 350, title="Open-content uploader", ip="203.0.113.42",
        seen_hours_ago=0.5,
        profile="Dedicated 10 Gbit/s box in Amsterdam. I upload open movies, free "
                "software and public-domain classics, and I seed everything forever.",
        stats=_traffic(int(14.8 * TIB), 320 * GIB, seeding=312, leeching=0,
                       seeding_size=int(9.6 * TIB), snatched=388, seed_days=41000)),
    DemoMember(
        "velvet", "vip", 260, title="Collector", ip="2001:db8::5e7", seen_hours_ago=6,
        profile="Film restoration nerd. Remuxes or nothing.",
        stats=_traffic(int(5.1 * TIB), int(2.2 * TIB), seeding=188, leeching=2,
                       seeding_size=int(4.4 * TIB), snatched=730, seed_days=15500),
        hide=("show_downloaded", "show_snatched", "show_seeding", "show_leeching")),
    DemoMember(
        "cinephile", "elite", 200, ip="198.51.100.140", seen_hours_ago=12,
        profile="Silent film and early horror. Curator of the Blender Open Movies "
                "collection.",
        stats=_traffic(780 * GIB, 455 * GIB, seeding=64, leeching=1, seeding_size=515 * GIB,
                       snatched=301, seed_days=5200)),
    DemoMember(
        "reelfan", "power_user", 120, invited_by="cinephile", ip="203.0.113.88",
        seen_hours_ago=2,
        profile="Mostly here for animation and documentaries.",
        stats=_traffic(96 * GIB, 71 * GIB, seeding=21, leeching=1, seeding_size=88 * GIB,
                       snatched=64, seed_days=640)),
    DemoMember(
        "nightowl", "member", 40, invited_by="reelfan", ip="198.51.100.201",
        seen_hours_ago=20,
        profile="New here. Audiobooks and Linux ISOs.",
        stats=_traffic(18 * GIB, 24 * GIB, seeding=4, leeching=2, seeding_size=9 * GIB,
                       snatched=19, seed_days=45)),
    DemoMember(
        "newcomer", "validating", 1 / 24, status=UserStatus.VALIDATING, ip="203.0.113.150"),
)


# --------------------------------------------------------------------------- torrents


@dataclass(frozen=True)
class DemoTorrent:
    key: str
    name: str  # the release name shown on the site
    category: str  # category slug
    uploader: str
    days_ago: float
    files: tuple[tuple[str, int], ...]
    description: str
    metadata: dict[str, Any]
    tags: tuple[str, ...]
    seeders: int = 0
    leechers: int = 0
    snatches: int = 0
    version: str = "v1"
    single_file: bool = False  # the info name is then the one file's name
    status: str = TorrentStatus.APPROVED
    moderator: str = "marta"
    freeleech_days: float | None = None
    double_upload: bool = False
    featured: bool = False


def _episodes(show: str, tag: str, count: int, base: int, step: int) -> tuple[tuple[str, int],
                                                                                 ...]:
    return tuple((f"{show}.S01E{n:02d}.{tag}.mkv", base + (n * step) % (base // 3))
                 for n in range(1, count + 1))


SLIP_TRACKS = ("999,999", "1,000,000", "Letting You", "Discipline", "Echoplex", "Head Down",
               "Lights in the Sky", "Corona Radiata", "The Four of Us Are Dying",
               "Demon Seed")
MACLEOD_TRACKS = ("Monkeys Spinning Monkeys", "Sneaky Snitch", "Carefree", "Fluffing a Duck",
                  "Scheming Weasel (faster version)", "Investigations",
                  "Local Forecast - Elevator", "Wallpaper")
HOLMES_BOOKS = ("A Study in Scarlet", "The Sign of the Four",
                "The Adventures of Sherlock Holmes", "The Memoirs of Sherlock Holmes",
                "The Hound of the Baskervilles", "The Return of Sherlock Holmes",
                "The Valley of Fear", "His Last Bow", "The Case-Book of Sherlock Holmes")
DVD_FILES = (("VIDEO_TS/VIDEO_TS.IFO", 12_288), ("VIDEO_TS/VIDEO_TS.BUP", 12_288),
             ("VIDEO_TS/VIDEO_TS.VOB", 229_376), ("VIDEO_TS/VTS_01_0.IFO", 38_912),
             ("VIDEO_TS/VTS_01_0.BUP", 38_912), ("VIDEO_TS/VTS_01_1.VOB", 1_073_709_056),
             ("VIDEO_TS/VTS_01_2.VOB", 1_073_709_056), ("VIDEO_TS/VTS_01_3.VOB", 1_073_709_056),
             ("VIDEO_TS/VTS_01_4.VOB", 874_436_608))

BBB = "Big.Buck.Bunny.2008.1080p.BluRay.x264-ORBiT"
SINTEL = "Sintel.2010.2160p.UHD.BluRay.x265.10bit.HDR.DTS-HD.MA.5.1-ORBiT"
TEARS = "Tears.of.Steel.2012.1080p.WEB-DL.AAC2.0.H.264-FiLMHAUS"
NOTLD = "Night.of.the.Living.Dead.1968.1080p.BluRay.REMUX.AVC.FLAC.1.0-PDCLASSiC"
METROPOLIS = "Metropolis.1927.576p.DVDRip.x264-SiLENTS"
PIONEER = "Pioneer.One.S01.720p.WEB-DL.x264-VODO"
SLIP = "Nine.Inch.Nails-The.Slip-2008-WEB-FLAC-24bit-96kHz"
MACLEOD = "Kevin.MacLeod-Royalty.Free.Selections.Vol.1-2014-MP3-320"
ZERO_AD = "0.A.D.Alpha.26.Zhuangzi.Windows"
DEBIAN = "debian-12.5.0-amd64-DVD-1"
HOLMES = "Arthur.Conan.Doyle-The.Complete.Sherlock.Holmes-EPUB"
AUSTEN = "Jane.Austen-Pride.and.Prejudice-LibriVox-MP3-64kbps"

TORRENTS: tuple[DemoTorrent, ...] = (
    DemoTorrent(
        "bbb", BBB, "movies-hd", "seedbox_sam", 58,
        files=((f"{BBB}.mkv", 928_670_754), (f"{BBB}.nfo", 4_117),
               ("Sample/big.buck.bunny.1080p.sample.mkv", 31_457_883)),
        description="Big Buck Bunny, the Blender Foundation's second open movie (Peach "
                    "project). A giant rabbit takes gentle revenge on three bullying "
                    "rodents.\n\nEncoded from the 2008 Blu-ray, CRF 16, no filtering. "
                    "Licensed CC BY 3.0. A 30-second sample is in the Sample folder.",
        metadata={"year": 2008, "resolution": "1080p", "video_codec": "x264",
                  "audio_codec": "DTS 5.1", "source": "BluRay", "container": "mkv",
                  "release_group": "ORBiT", "languages": ["en"],
                  "subtitles": ["en", "de", "fr", "es"], "runtime_minutes": 10,
                  "imdb_id": "tt1254207", "tmdb_id": 10378},
        tags=("animation", "comedy", "open.movie", "creative.commons", "1080p"),
        seeders=412, leechers=9, snatches=3_187, featured=True),
    DemoTorrent(
        "sintel", SINTEL, "movies-uhd", "seedbox_sam", 44,
        files=((f"{SINTEL}.mkv", 4_831_662_593), ("Subs/Sintel.en.srt", 12_386),
               ("Subs/Sintel.de.srt", 12_902), ("Subs/Sintel.es.srt", 12_544)),
        description="Sintel, the Durian open movie: a girl searches for the baby dragon "
                    "she raised.\n\nUHD master with HDR10, lossless DTS-HD MA audio. "
                    "Hybrid v1 + v2 torrent: modern clients join the v2 swarm, older ones "
                    "the v1 swarm. Licensed CC BY 3.0.",
        metadata={"year": 2010, "resolution": "2160p", "video_codec": "x265",
                  "audio_codec": "DTS-HD MA 5.1", "source": "BluRay", "container": "mkv",
                  "release_group": "ORBiT", "hdr_format": "HDR10", "languages": ["en"],
                  "subtitles": ["en", "de", "es"], "runtime_minutes": 15,
                  "imdb_id": "tt1727587", "tmdb_id": 45745},
        tags=("animation", "fantasy", "open.movie", "creative.commons", "2160p", "hdr"),
        seeders=188, leechers=14, snatches=1_204, version="hybrid", double_upload=True,
        featured=True),
    DemoTorrent(
        "tears", TEARS, "movies-hd", "velvet", 30,
        files=((f"{TEARS}.mp4", 1_131_877_990),), single_file=True,
        description="Tears of Steel (Mango project), Blender's live-action science "
                    "fiction short shot in Amsterdam. Official 1080p web release, "
                    "untouched. Licensed CC BY 3.0.",
        metadata={"year": 2012, "resolution": "1080p", "video_codec": "H.264",
                  "audio_codec": "AAC 2.0", "source": "WEB-DL", "container": "mp4",
                  "release_group": "FiLMHAUS", "languages": ["en"], "runtime_minutes": 12,
                  "imdb_id": "tt2285752", "tmdb_id": 133701},
        tags=("science.fiction", "open.movie", "creative.commons", "1080p"),
        seeders=97, leechers=21, snatches=640, freeleech_days=3),
    DemoTorrent(
        "notld", NOTLD, "movies-remux", "cinephile", 26,
        files=((f"{NOTLD}.mkv", 24_918_337_208),), single_file=True,
        description="George A. Romero's Night of the Living Dead, in the public domain "
                    "since 1968 thanks to a missing copyright notice.\n\nUntouched remux "
                    "of the 4K-restoration Blu-ray: AVC video, original mono as FLAC.",
        metadata={"year": 1968, "resolution": "1080p", "video_codec": "AVC",
                  "audio_codec": "FLAC 1.0", "source": "BluRay", "container": "mkv",
                  "release_group": "PDCLASSiC", "languages": ["en"], "subtitles": ["en"],
                  "runtime_minutes": 96, "imdb_id": "tt0063350", "tmdb_id": 10331},
        tags=("horror", "classic", "black.and.white", "public.domain"),
        seeders=63, leechers=4, snatches=402, moderator="sysop"),
    DemoTorrent(
        "nosferatu", "Nosferatu.1922.NTSC.DVD5-SiLENTS", "movies-dvdr", "cinephile", 21,
        files=DVD_FILES,
        description="Nosferatu, eine Symphonie des Grauens (F. W. Murnau, 1922). Full "
                    "untouched DVD5 with the tinted restoration and the 2005 orchestral "
                    "score. Menus intact.",
        metadata={"year": 1922, "resolution": "480i", "video_codec": "MPEG-2",
                  "audio_codec": "AC3 2.0", "source": "DVD", "container": "VOB",
                  "release_group": "SiLENTS", "languages": ["de"], "subtitles": ["en"],
                  "runtime_minutes": 94, "imdb_id": "tt0013442", "tmdb_id": 653},
        tags=("horror", "silent.film", "classic", "public.domain"),
        seeders=41, leechers=2, snatches=277),
    DemoTorrent(
        "metropolis", METROPOLIS, "movies-sd", "velvet", 17,
        files=((f"{METROPOLIS}.mkv", 2_196_213_941),), single_file=True,
        description="Fritz Lang's Metropolis (1927), the 2002 restoration from the "
                    "Murnau Foundation. DVDRip, 576p, x264 at CRF 18.",
        metadata={"year": 1927, "resolution": "576p", "video_codec": "x264",
                  "audio_codec": "AC3 2.0", "source": "DVD", "container": "mkv",
                  "release_group": "SiLENTS", "languages": ["de"], "subtitles": ["en", "de"],
                  "runtime_minutes": 124, "imdb_id": "tt0017136", "tmdb_id": 19},
        tags=("science.fiction", "silent.film", "classic", "public.domain"),
        seeders=28, leechers=3, snatches=156),
    DemoTorrent(
        "pioneer", PIONEER, "tv-web-dl", "seedbox_sam", 14,
        files=_episodes("Pioneer.One", "720p.WEB-DL.x264-VODO", 6, 365_000_000, 7_919_113),
        description="Pioneer One, the crowd-funded drama released for free through "
                    "VODO: a capsule falls from the sky over Canada, and its passenger "
                    "says he comes from a Soviet Mars colony. Season 1, all six "
                    "episodes. Licensed CC BY-NC-SA 3.0.",
        metadata={"year": 2010, "resolution": "720p", "video_codec": "x264",
                  "audio_codec": "AAC 2.0", "source": "WEB-DL", "container": "mkv",
                  "release_group": "VODO", "languages": ["en"], "subtitles": ["en"],
                  "runtime_minutes": 35},
        tags=("drama", "science.fiction", "creative.commons", "720p"),
        seeders=55, leechers=6, snatches=318),
    DemoTorrent(
        "slip", SLIP, "music-flac", "velvet", 12,
        files=(*((f"{n:02d} - {title}.flac", 58_000_000 + (n * 9_731_771) % 41_000_000)
                 for n, title in enumerate(SLIP_TRACKS, start=1)),
               ("cover.jpg", 1_482_117), ("The Slip.m3u8", 612)),
        description="Nine Inch Nails - The Slip (2008), given away by the band under "
                    "CC BY-NC-SA. The official 24-bit/96 kHz high-definition download, "
                    "converted losslessly from WAVE to FLAC.",
        metadata={"year": 2008, "audio_codec": "FLAC 24bit/96kHz", "source": "WEB",
                  "container": "flac", "languages": ["en"]},
        tags=("industrial", "rock", "creative.commons", "flac"),
        seeders=73, leechers=1, snatches=489),
    DemoTorrent(
        "macleod", MACLEOD, "music-mp3", "reelfan", 9,
        files=tuple((f"{n:02d} - Kevin MacLeod - {title}.mp3", 4_200_000 + n * 611_307)
                    for n, title in enumerate(MACLEOD_TRACKS, start=1)),
        description="Eight favourites from incompetech.com, the royalty-free music "
                    "heard in a million videos. CC BY 4.0: credit Kevin MacLeod.",
        metadata={"year": 2014, "audio_codec": "MP3 320", "source": "WEB",
                  "container": "mp3"},
        tags=("instrumental", "creative.commons", "mp3"),
        seeders=19, leechers=0, snatches=88),
    DemoTorrent(
        "zeroad", ZERO_AD, "games-pc", "seedbox_sam", 7,
        files=(("0ad-0.0.26-alpha-win32.exe", 1_387_215_360),), single_file=True,
        description="0 A.D. Alpha 26 \"Zhuangzi\", the free, open-source historical "
                    "real-time strategy game from Wildfire Games. Official Windows "
                    "installer. BitTorrent v2 only: you need a v2-capable client "
                    "(libtorrent 2.0 or later, qBittorrent 4.4+).",
        metadata={"year": 2022, "extra": {"platform": "Windows",
                                          "license": "GPL-2.0-or-later, CC BY-SA 3.0"}},
        tags=("strategy", "historical", "open.source"),
        seeders=36, leechers=5, snatches=201, version="v2"),
    DemoTorrent(
        "debian", DEBIAN, "software", "seedbox_sam", 19,
        files=(("debian-12.5.0-amd64-DVD-1.iso", 3_994_091_520),), single_file=True,
        description="Debian 12.5 \"bookworm\", first DVD image for amd64. Verify with "
                    "the SHA512SUMS and signature from cdimage.debian.org.",
        metadata={"year": 2024, "extra": {"architecture": "amd64", "license": "DFSG"}},
        tags=("linux", "open.source"),
        seeders=240, leechers=11, snatches=1_877, moderator="sysop"),
    DemoTorrent(
        "holmes", HOLMES, "books-ebooks", "cinephile", 5,
        files=tuple((f"{n}. {title}.epub", 310_000 + (n * 83_117) % 420_000)
                    for n, title in enumerate(HOLMES_BOOKS, start=1)),
        description="All four novels and five story collections, from the Standard "
                    "Ebooks editions (public domain, carefully proofread).",
        metadata={"languages": ["en"], "extra": {"format": "EPUB 3"}},
        tags=("mystery", "public.domain", "epub"),
        seeders=44, leechers=0, snatches=265),
    DemoTorrent(
        "austen", AUSTEN, "books-audiobooks", "nightowl", 0.125,
        files=tuple((f"prideandprejudice_{n:02d}_austen_64kb.mp3",
                     4_600_000 + (n * 1_310_723) % 7_300_000) for n in range(1, 62)),
        description="Pride and Prejudice, read by Karen Savage for LibriVox. All 61 "
                    "chapters, 64 kbps MP3. Public domain recording.",
        metadata={"year": 2007, "audio_codec": "MP3 64kbps", "source": "WEB",
                  "container": "mp3", "languages": ["en"], "runtime_minutes": 689},
        tags=("classic", "romance", "public.domain", "mp3"),
        seeders=1, status=TorrentStatus.PENDING, moderator=""),
)

TAG_DESCRIPTIONS = {
    "open.movie": "Films from the Blender Studio open movie projects.",
    "creative.commons": "Released under a Creative Commons licence.",
    "public.domain": "Out of copyright or dedicated to the public domain.",
    "silent.film": "Films from the silent era, before synchronized sound.",
    "hdr": "High dynamic range video (HDR10, HDR10+, Dolby Vision).",
}

# torrent key, tag, voter, vote
TAG_VOTES = (
    ("bbb", "animation", "reelfan", 1), ("bbb", "animation", "cinephile", 1),
    ("bbb", "comedy", "nightowl", 1), ("sintel", "fantasy", "velvet", 1),
    ("metropolis", "science.fiction", "reelfan", 1), ("nosferatu", "horror", "velvet", 1),
    ("pioneer", "drama", "nightowl", -1), ("slip", "rock", "cinephile", -1),
)


# --------------------------------------------------------------------------- community


# slug, name, description, parent slug
SUB_FORUMS = [
    ("encoding", "Encoding", "Sources, settings and tools for making releases.", "general"),
    ("encoding-x26x", "x264 / x265", "Encoder settings, presets and comparisons.", "encoding"),
    ("clients", "Torrent clients", "Setting up and troubleshooting clients.", "support"),
]

# forum slug, title, sticky, locked, views, [(author, days ago, body)]
TOPICS: tuple[tuple[str, str, bool, bool, int, tuple[tuple[str, float, str], ...]], ...] = (
    ("announcements", "Welcome! Read the rules before your first download", True, False, 2_841, (
        ("sysop", 400,
         "Welcome to the tracker.\n\n1. Keep your ratio above your required ratio; new "
         "members have a 5 GiB grace period.\n2. Seed everything you download for at "
         "least 72 hours or to a ratio of 1.0 (hit and runs earn a warning).\n3. Never "
         "share your passkey or your .torrent files: they identify you.\n4. One account "
         "per person, for life.\n\nQuestions go to the Support forum or a staff ticket."),
        ("reelfan", 110, "Thanks for the clear rules. Is the 72 hours counted per torrent "
                         "or overall?"),
        ("quillon", 110, "Per torrent, and only time spent actually seeding counts."),
    )),
    ("announcements", "Hybrid v1 + v2 torrents are now supported", False, True, 1_112, (
        ("sysop", 44,
         "Uploads may now be BitTorrent v2 or hybrid. Hybrid torrents keep both info "
         "hashes, so every client can join; v2-only torrents need libtorrent 2.0 or later "
         "(qBittorrent 4.4+, Deluge 2.1+). See the Sintel UHD upload for an example."),
    )),
    ("general", "What are you seeding this week?", False, False, 436, (
        ("reelfan", 6, "Just finished Pioneer One; surprisingly good for a crowd-funded "
                       "show. Seeding the whole season now. What about you?"),
        ("velvet", 5.5, "The Slip in 24/96. It still sounds great sixteen years on."),
        ("seedbox_sam", 5, "Everything, always. The 0 A.D. installer is getting a lot of "
                           "v2 peers, which is nice to see."),
        ("nightowl", 1.2, "Debian ISOs and my first audiobook upload (pending approval)."),
    )),
    ("support", "Client says \"unregistered torrent\" after a passkey reset", False, False, 97, (
        ("nightowl", 3,
         "I reset my passkey yesterday and now all my torrents show \"unregistered "
         "torrent\" in the tracker status. Did I break something?"),
        ("quillon", 2.9,
         "Nothing is broken: your old .torrent files still carry the old passkey in their "
         "announce URL. Re-download them from the site (or use your client's \"edit "
         "tracker\" to paste the new announce URL) and they will work again."),
        ("nightowl", 2.8, "That fixed it, thank you!"),
    )),
    ("encoding-x26x", "CRF 18 or 20 for 1080p animation?", False, False, 41, (
        ("seedbox_sam", 8, "Sintel at CRF 18 with --tune animation is about 40% bigger "
                           "than CRF 20 and I cannot tell them apart. Thoughts?"),
        ("velvet", 7.5, "CRF 20 and a slower preset: the preset buys more than two CRF steps."),
    )),
    ("vip-lounge", "Remux groups: which ones do you trust?", False, False, 58, (
        ("velvet", 10, "After the PDCLASSiC Night of the Living Dead remux, I am curious "
                       "which other groups people rate for untouched remuxes."),
        ("seedbox_sam", 9.5, "PDCLASSiC and SiLENTS for the old stuff; both include proper "
                             "logs and never re-encode audio."),
    )),
)

# room, author, minutes ago, body
CHAT: tuple[tuple[str, str, float, str], ...] = (
    ("general", "reelfan", 95, "Morning all. Anyone else seeing the Sintel hybrid pick up "
                               "v2 peers?"),
    ("general", "seedbox_sam", 92, "@reelfan yes, qBittorrent 4.4+ joins the v2 swarm; "
                                   "older clients use the v1 half."),
    ("general", "nightowl", 60, "Is the support forum the right place for passkey "
                                "questions?"),
    ("general", "quillon", 57, "@nightowl it is, or ask here. Reset it from your profile, "
                               "then re-download your .torrent files."),
    ("general", "velvet", 20, "Tears of Steel is freeleech until the weekend, grab it while "
                              "it lasts."),
    ("vip", "velvet", 300, "The Night of the Living Dead remux is the best I have seen that "
                           "film look."),
    ("vip", "seedbox_sam", 290, "Agreed. Next on my list is a UHD of Cosmos Laundromat, if "
                                "the source checks out."),
    ("vip", "marta", 240, "Reminder: the lounge rules still apply here, so no invite "
                          "trading please."),
)

# target torrent key, author, days ago, body, quotes (index into this tuple) or None
COMMENTS: tuple[tuple[str, str, float, str, int | None], ...] = (
    ("bbb", "reelfan", 40, "Gorgeous encode, and the sample made it easy to check the grain "
                           "before grabbing. Thanks!", None),
    ("bbb", "seedbox_sam", 39.5, "Glad you like it. The source was the 2008 Blu-ray; no "
                                 "denoising, so the grain is what the film has.", 0),
    ("sintel", "velvet", 30, "The HDR10 grade looks superb on an OLED. Subtitles are in "
                             "sync, too.", None),
    ("pioneer", "quillon", 11, "Great to see this archived properly. The VODO site is long "
                               "gone.", None),
    ("debian", "nightowl", 18, "Thanks for filling my request so quickly! The SHA512 "
                               "matches the one on cdimage.debian.org.", None),
)


# --------------------------------------------------------------------------- the seeder


class DemoSeeder:
    """Writes the demo rows; call `run()` inside a transaction on an empty database."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.now = timezone.now()
        self.rng = random.Random()
        self.users: dict[str, User] = {}
        self.torrents: dict[str, Torrent] = {}
        self.categories = {c.slug: c for c in TorrentCategory.objects.all()}
        self.ledger: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def ago(self, days: float = 0, *, hours: float = 0, minutes: float = 0) -> datetime:
        return self.now - timedelta(days=days, hours=hours, minutes=minutes)

    def run(self) -> str:
        self.create_members()
        self.create_torrents()
        self.create_tags()
        self.create_requests()
        self.create_collections()
        self.create_comments()
        self.create_forum_topics()
        self.create_chat()
        self.create_private_messages()
        self.create_moderation()
        self.create_bonus_economy()
        self.write_ledger()
        self.update_member_counters()
        return (f"Demo data loaded: {len(self.users)} members, {len(self.torrents)} torrents, "
                f"{ForumTopic.objects.count()} forum topics, "
                f"{ChatMessage.objects.count()} chat messages.")

    # members ------------------------------------------------------------------------

    def create_members(self) -> None:
        groups = {g.name: g for g in UserGroup.objects.all()}
        for spec in MEMBERS:
            joined = self.ago(spec.joined_days_ago)
            user = User.objects.create_user(
                username=spec.username, email=f"{spec.username}@tracker.example",
                password=self.password, group=groups[spec.group], status=spec.status,
                title=spec.title, profile_text=spec.profile,
                invited_by=self.users.get(spec.invited_by or ""),
                registration_ip=spec.ip, last_ip=spec.ip, created_at=joined,
                last_seen_at=(None if spec.seen_hours_ago is None
                              else self.ago(hours=spec.seen_hours_ago)),
            )
            if groups[spec.group].requires_2fa:
                # Staff classes require a second factor: enrolled, so the printed staff
                # login lands on the site (`manage.py demo_2fa_code` prints the code).
                UserTwoFactor.objects.create(user=user, secret=pyotp.random_base32(),
                                             is_enabled=True, confirmed_at=self.now)
            if spec.stats:
                UserStatistics.objects.filter(user=user).update(**spec.stats)
            if spec.hide:
                for setting in spec.hide:
                    setattr(user.privacy, setting, False)
                user.privacy.save(update_fields=list(spec.hide))
            self.users[spec.username] = user

    # torrents -----------------------------------------------------------------------

    def create_torrents(self) -> None:
        for spec in TORRENTS:
            info_name = spec.files[0][0] if spec.single_file else spec.name
            built = build_torrent(info_name, spec.files, version=spec.version, rng=self.rng,
                                  source=TORRENT_SOURCE)
            uploaded = self.ago(spec.days_ago)
            approved = spec.status == TorrentStatus.APPROVED
            torrent = Torrent.objects.create(
                info_hash_v1=built.info_hash_v1, info_hash_v2=built.info_hash_v2,
                version=built.version, name=spec.name, description=spec.description,
                category=self.categories[spec.category], uploader=self.users[spec.uploader],
                status=spec.status, size=built.size, file_count=built.file_count,
                piece_length=built.piece_length, info_dict=built.info, source=TORRENT_SOURCE,
                is_freeleech=spec.freeleech_days is not None,
                freeleech_until=(None if spec.freeleech_days is None
                                 else self.now + timedelta(days=spec.freeleech_days)),
                is_double_upload=spec.double_upload, is_featured=spec.featured,
                created_at=uploaded,
            )
            TorrentFile.objects.bulk_create(
                TorrentFile(torrent=torrent, file_index=i, path=f.path, size=f.size,
                            pieces_root=f.pieces_root)
                for i, f in enumerate(built.files))
            TorrentMetadata.objects.create(torrent=torrent, created_at=uploaded,
                                           **spec.metadata)
            TorrentModeration.objects.create(
                torrent=torrent, status=spec.status, created_at=uploaded,
                moderator=self.users[spec.moderator] if approved else None,
                decided_at=uploaded + timedelta(minutes=35) if approved else None,
                notes="Checked files, metadata and sample." if approved else "",
            )
            TorrentStatistics.objects.create(
                torrent=torrent, seeders=spec.seeders, leechers=spec.leechers,
                snatches=spec.snatches, total_uploaded=spec.snatches * built.size * 11 // 10,
                total_downloaded=spec.snatches * built.size, created_at=uploaded,
                last_seeder_at=self.ago(minutes=3) if spec.seeders else None,
                last_activity_at=self.ago(minutes=3),
            )
            if not approved:
                ModerationQueueItem.objects.create(
                    target_type=TargetType.TORRENT, target_id=torrent.id,
                    source=QueueSource.NEW_UPLOAD, summary=f"New upload: {spec.name}",
                    flags=["first_upload"], submitted_by=self.users[spec.uploader],
                    created_at=uploaded)
            self.torrents[spec.key] = torrent

    def create_tags(self) -> None:
        tags: dict[str, TorrentTag] = {}
        assignments: dict[tuple[str, str], TorrentTagAssignment] = {}
        for spec in TORRENTS:
            torrent = self.torrents[spec.key]
            for name in spec.tags:
                if name not in tags:
                    tags[name] = TorrentTag.objects.create(
                        name=name, description=TAG_DESCRIPTIONS.get(name, ""),
                        created_by=torrent.uploader, created_at=torrent.created_at)
                assignments[(spec.key, name)] = TorrentTagAssignment.objects.create(
                    torrent=torrent, tag=tags[name], added_by=torrent.uploader,
                    created_at=torrent.created_at)
        for key, name, voter, vote in TAG_VOTES:
            assignment = assignments[(key, name)]
            TorrentTagVote.objects.create(assignment=assignment, user=self.users[voter],
                                          vote=vote)
            assignment.score += vote
            assignment.save(update_fields=["score"])
        for tag in tags.values():
            tag.usage_count = tag.assignments.count()
            tag.save(update_fields=["usage_count"])

    # requests and collections -------------------------------------------------------

    def create_requests(self) -> None:
        elephants = TorrentRequest.objects.create(
            requester=self.users["reelfan"], category=self.categories["movies-hd"],
            title="Elephants Dream (2006) 1080p",
            description="The very first Blender open movie (Orange project). A 1080p "
                        "BluRay or WEB-DL would complete the Blender Open Movies "
                        "collection.",
            requirements={"resolution": "1080p", "source": ["BluRay", "WEB-DL"],
                          "container": "mkv"},
            created_at=self.ago(9))
        for name, amount, days in (("reelfan", "500", 9), ("cinephile", "250", 8)):
            self.place_bounty(elephants, name, Decimal(amount), self.ago(days))
        for name, days in (("reelfan", 9), ("cinephile", 8), ("velvet", 4)):
            TorrentRequestVote.objects.create(request=elephants, user=self.users[name],
                                              created_at=self.ago(days))

        debian = self.torrents["debian"]
        iso = TorrentRequest.objects.create(
            requester=self.users["nightowl"], category=self.categories["software"],
            title="Debian 12.5 amd64 DVD-1 ISO",
            description="The full first DVD, for installing without a network.",
            requirements={"architecture": "amd64"}, status=RequestStatus.FILLED,
            filled_torrent=debian, filler=self.users["seedbox_sam"],
            filled_at=debian.created_at, created_at=self.ago(20))
        self.place_bounty(iso, "nightowl", Decimal("100"), self.ago(20))
        TorrentRequestVote.objects.create(request=iso, user=self.users["nightowl"],
                                          created_at=self.ago(20))
        self.add_tx("seedbox_sam", TransactionType.BOUNTY_AWARDED, Decimal("100"),
                    debian.created_at, f"Bounty for filling \"{iso.title}\"",
                    torrent=debian, counterparty=self.users["nightowl"],
                    metadata={"request_id": str(iso.id)})

        for request in (elephants, iso):
            request.bounty_total = sum(b.amount for b in request.bounties.all())
            request.vote_count = request.votes.count()
            request.save(update_fields=["bounty_total", "vote_count"])
        self.elephants = elephants

    def place_bounty(self, request: TorrentRequest, username: str, amount: Decimal,
                     when: datetime) -> None:
        TorrentRequestBounty.objects.create(request=request, user=self.users[username],
                                            amount=amount, created_at=when)
        self.add_tx(username, TransactionType.BOUNTY_PLACED, -amount, when,
                    f"Bounty on request \"{request.title}\"",
                    metadata={"request_id": str(request.id)})

    def create_collections(self) -> None:
        specs = (
            ("Blender Open Movies", CollectionType.THEME, "cinephile", "movies",
             "Every open movie from the Blender Studio, in the best version we have. "
             "Elephants Dream is still wanted: see the request.",
             (("bbb", "The Peach project, 2008."), ("sintel", "The Durian project, 2010."),
              ("tears", "The Mango project, 2012: live action and VFX.")),
             ("velvet", "reelfan")),
            ("Silent Era Essentials", CollectionType.STAFF_PICKS, "marta", "movies",
             "Staff picks from before the talkies.",
             (("nosferatu", "Murnau's vampire, with the tinted restoration."),
              ("metropolis", "Lang's city of the future.")),
             ("cinephile",)),
        )
        for name, kind, owner, category, description, items, subscribers in specs:
            collection = TorrentCollection.objects.create(
                name=name, collection_type=kind, owner=self.users[owner],
                category=self.categories[category], description=description,
                item_count=len(items), subscriber_count=len(subscribers),
                created_at=self.ago(35))
            for position, (key, note) in enumerate(items, start=1):
                TorrentCollectionItem.objects.create(
                    collection=collection, torrent=self.torrents[key],
                    added_by=self.users[owner], position=position, note=note,
                    created_at=max(self.ago(35), self.torrents[key].created_at))
            for name_ in subscribers:
                TorrentCollectionSubscription.objects.create(
                    collection=collection, user=self.users[name_], created_at=self.ago(20))

    def create_comments(self) -> None:
        made: list[Comment] = []
        for key, author, days, body, quotes in COMMENTS:
            made.append(Comment.objects.create(
                target_type=TargetType.TORRENT, target_id=self.torrents[key].id,
                author=self.users[author], body=body,
                quoted=made[quotes] if quotes is not None else None,
                created_at=self.ago(days)))
        Comment.objects.create(
            target_type=TargetType.REQUEST, target_id=self.elephants.id,
            author=self.users["velvet"], created_at=self.ago(4),
            body="Voted. If nobody has a Blu-ray, the official 1080p PNG sequence could be "
                 "encoded by one of our uploaders.")

    # forums, chat, messages ---------------------------------------------------------

    def create_forum_topics(self) -> None:
        # Sub-forums, so the hierarchy shows: General > Encoding > x264 / x265.
        for order, (slug, name, description, parent) in enumerate(SUB_FORUMS, start=20):
            Forum.objects.create(
                slug=slug, name=name, description=description, sort_order=order,
                parent=Forum.objects.get(slug=parent), min_rank_read=100, min_rank_write=100,
                min_rank_create_topic=100)
        forums = {f.slug: f for f in Forum.objects.all()}
        touched: set[str] = set()
        for slug, title, sticky, locked, views, posts in TOPICS:
            first_author, first_days, _ = posts[0]
            topic = ForumTopic.objects.create(
                forum=forums[slug], author=self.users[first_author], title=title,
                is_sticky=sticky, is_locked=locked, view_count=views,
                created_at=self.ago(first_days))
            for author, days, body in posts:
                ForumPost.objects.create(topic=topic, author=self.users[author], body=body,
                                         created_at=self.ago(days))
            last_author, last_days, _ = posts[-1]
            topic.post_count = len(posts)
            topic.last_post_at = self.ago(last_days)
            topic.last_poster = self.users[last_author]
            topic.save(update_fields=["post_count", "last_post_at", "last_poster"])
            touched.add(slug)
            if title.startswith("Client says"):
                ForumSubscription.objects.create(user=self.users["nightowl"], topic=topic,
                                                 last_read_at=self.ago(2.8),
                                                 created_at=self.ago(3))
        ForumSubscription.objects.create(user=self.users["cinephile"],
                                         forum=forums["announcements"],
                                         created_at=self.ago(150))
        for slug in touched:
            forum = forums[slug]
            topics = ForumTopic.objects.filter(forum=forum)
            latest = topics.order_by("-last_post_at").first()
            forum.topic_count = topics.count()
            forum.post_count = ForumPost.objects.filter(topic__forum=forum).count()
            forum.last_post_at = latest.last_post_at if latest else None
            forum.last_topic = latest
            forum.save(update_fields=["topic_count", "post_count", "last_post_at",
                                      "last_topic"])

    def create_chat(self) -> None:
        rooms = {r.name: r for r in ChatRoom.objects.all()}
        for room, author, minutes, body in CHAT:
            mentions = [u.id for name, u in self.users.items() if f"@{name}" in body]
            ChatMessage.objects.create(room=rooms[room], user=self.users[author], body=body,
                                       mentions=mentions, created_at=self.ago(minutes=minutes))

    def create_private_messages(self) -> None:
        reelfan, sam = self.users["reelfan"], self.users["seedbox_sam"]
        first = PrivateMessage(
            sender=reelfan, recipient=sam, subject="Sintel subtitles",
            body="Hi Sam, do you have Italian subtitles for the Sintel UHD? The Blender "
                 "site lists a translation but I cannot find the file.",
            is_read=True, read_at=self.ago(2, hours=20), created_at=self.ago(3))
        first.conversation_id = first.id
        first.save()
        PrivateMessage.objects.create(
            conversation_id=first.id, parent=first, sender=sam, recipient=reelfan,
            subject="Re: Sintel subtitles",
            body="I will check the Durian archive tonight. If it is there I will add it "
                 "to the torrent's Subs folder in a new version and send you the link.",
            created_at=self.ago(2, hours=19))
        notice = PrivateMessage(
            sender=self.users["marta"], recipient=self.users["nightowl"],
            subject="About your warning",
            body="Hi, you received a warning for hit and runs on three torrents. Keep them "
                 "seeding for 72 hours or to a 1.0 ratio and it will expire on its own in "
                 "two weeks. Reply here if you have questions.",
            is_read=True, read_at=self.ago(5), created_at=self.ago(6))
        notice.conversation_id = notice.id
        notice.save()

    # moderation ---------------------------------------------------------------------

    def create_moderation(self) -> None:
        metropolis = self.torrents["metropolis"]
        report = Report.objects.create(
            reporter=self.users["cinephile"], target_type=TargetType.TORRENT,
            target_id=metropolis.id, reason=ReportReason.TRUMPED,
            description="The 2010 restoration with the recovered Buenos Aires footage is "
                        "now out on Blu-ray. Once someone uploads it, this 576p DVDRip of "
                        "the 2002 cut should be trumped.",
            evidence={"better_source": "Metropolis (1927) 2010 restoration, Blu-ray"},
            created_at=self.ago(2))
        ModerationQueueItem.objects.create(
            target_type=TargetType.REPORT, target_id=report.id, source=QueueSource.USER_REPORT,
            priority=1, summary=f"Report ({report.get_reason_display()}): {metropolis.name}",
            submitted_by=report.reporter, created_at=report.created_at)

        nightowl = self.users["nightowl"]
        Warning.objects.create(
            user=nightowl, issued_by=self.users["marta"], points=1,
            reason="Hit and run on three torrents: downloaded, then stopped seeding "
                   "within an hour.",
            expires_at=self.now + timedelta(days=8), acknowledged_at=self.ago(5),
            created_at=self.ago(6))
        # Points, thresholds, audit and the tracker's cache, as every other warning path.
        warning_take_effect(nightowl)

    # bonus economy ------------------------------------------------------------------

    def add_tx(self, username: str, kind: str, amount: Decimal, when: datetime,
               description: str, **extra: Any) -> None:
        self.ledger[username].append({"transaction_type": kind, "amount": amount,
                                      "created_at": when, "description": description,
                                      **extra})

    def create_bonus_economy(self) -> None:
        seeding = BonusRule.objects.get(name="standard_seeding")
        # username: (weekly seeding reward, torrents seeded)
        earners = {"seedbox_sam": ("2104.50", 312), "marta": ("611.25", 122),
                   "velvet": ("942.75", 188), "cinephile": ("321.00", 64),
                   "quillon": ("165.50", 33), "reelfan": ("212.25", 21),
                   "nightowl": ("61.75", 4)}
        for username, (weekly, count) in earners.items():
            joined = self.users[username].created_at
            for week in range(6):
                when = self.ago(1 + 7 * week).replace(minute=0, second=0, microsecond=0)
                if when <= joined:
                    continue
                # Vary the weeks a little, as real seeding does.
                amount = Decimal(weekly) - Decimal(week * 3)
                self.add_tx(username, TransactionType.EARNING, amount, when,
                            f"Seeding reward: {count} torrents for 168 hours", rule=seeding,
                            idempotency_key=f"earning:{when:%Y-%m-%dT%H}",
                            metadata={"torrents": count, "hours": 168})

        reelfan, cinephile = self.users["reelfan"], self.users["cinephile"]
        when = self.ago(5)
        self.add_tx("reelfan", TransactionType.GIFT_SENT, Decimal("-100"), when,
                    "Gift to cinephile: thanks for the invite!", counterparty=cinephile)
        self.add_tx("cinephile", TransactionType.GIFT_RECEIVED, Decimal("100"), when,
                    "Gift from reelfan: thanks for the invite!", counterparty=reelfan)

        velvet = self.users["velvet"]
        bought = self.ago(3)
        self.add_tx("velvet", TransactionType.PURCHASE_TOKEN, Decimal("-250"), bought,
                    "Freeleech token")
        FreeleechToken.objects.create(user=velvet, source="purchase", created_at=bought)
        self.add_tx("velvet", TransactionType.PURCHASE_UPLOAD, Decimal("-1000"), self.ago(10),
                    "10 GiB upload credit", metadata={"bytes": 10 * GIB})
        self.add_tx("marta", TransactionType.ADJUSTMENT, Decimal("500"), self.ago(30),
                    "Staff bonus for the moderation queue cleanup",
                    acting_user=self.users["sysop"])

    def write_ledger(self) -> None:
        for username, entries in self.ledger.items():
            user = self.users[username]
            balance = Decimal(0)
            rows = []
            for entry in sorted(entries, key=lambda e: e["created_at"]):
                balance += entry["amount"]
                if balance < 0:
                    raise RuntimeError(f"demo ledger for {username} goes negative")
                rows.append(BonusTransaction(user=user, balance_after=balance, **entry))
            BonusTransaction.objects.bulk_create(rows)
            user.bonus_points = balance
            user.save(update_fields=["bonus_points"])

    def update_member_counters(self) -> None:
        """The counters that follow from the rows just written."""
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        queries = (
            ("uploads_count", Torrent.objects.values("uploader")
             .annotate(n=Count("id")).values_list("uploader", "n")),
            ("forum_posts_count", ForumPost.objects.values("author")
             .annotate(n=Count("id")).values_list("author", "n")),
            ("comments_count", Comment.objects.values("author")
             .annotate(n=Count("id")).values_list("author", "n")),
            ("requests_voted_count", TorrentRequestVote.objects.values("user")
             .annotate(n=Count("id")).values_list("user", "n")),
            ("requests_filled_count", TorrentRequest.objects.filter(filler__isnull=False)
             .values("filler").annotate(n=Count("id")).values_list("filler", "n")),
            ("invites_sent_count", User.objects.filter(invited_by__isnull=False)
             .values("invited_by").annotate(n=Count("id")).values_list("invited_by", "n")),
        )
        for counter, rows in queries:
            for user_id, n in rows:
                counts[str(user_id)][counter] = n
        for user in self.users.values():
            if counts.get(str(user.id)):
                UserStatistics.objects.filter(user=user).update(**counts[str(user.id)])


class Command(BaseCommand):
    help = "Load demo data (members, torrents, forums, chat...) into an empty database."

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD
        with transaction.atomic():
            # Two launchers starting at once must not both seed.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('seed_demo'))")
            if User.objects.exists():
                self.stdout.write(ALREADY_SEEDED)
                return
            summary = DemoSeeder(password).run()
            # The rows above are written around the services (back-dated, in fixed
            # states), so what the services would queue for the search index is queued
            # here: with Meilisearch set, the demo catalog can be found.
            search_enqueue_all()
        self.stdout.write(summary)
        self.stdout.write(f"Demo login: {DEMO_MEMBER} / {password} (a member); "
                          f"{DEMO_USERNAME} / {password} (staff: the code comes from "
                          "`manage.py demo_2fa_code`)")
