"""Our categories as Torznab/newznab ids: each has a standard id (2000 Movies, 5000 TV,
3000 Audio, 4000 PC, 7000 Books, 1000 Console, 6000 XXX, 8000 Other, and their
subcategories) that the *arr apps understand, and a site-specific id from 100000 that says
exactly which of ours it is. A standard id may cover several of ours (Movies/HD is our HD
and our Remux); a site id is one category with its subcategories.

Site ids of the seed's categories are fixed here; a category staff add later gets a stable
one from its slug (CRC32, above 200000), so caps cached by Prowlarr for a week stay right.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from domain.catalog.models import TorrentCategory
from domain.catalog.selectors import categories_tree

# slug: (standard id, site id)
KNOWN: dict[str, tuple[int, int]] = {
    "movies": (2000, 100001), "movies-hd": (2040, 100002), "movies-sd": (2030, 100003),
    "movies-uhd": (2045, 100004), "movies-remux": (2040, 100005),
    "movies-bluray": (2050, 100006), "movies-dvdr": (2070, 100007),
    "tv": (5000, 100010), "tv-hd": (5040, 100011), "tv-sd": (5030, 100012),
    "tv-uhd": (5045, 100013), "tv-web-dl": (5010, 100014),
    "music": (3000, 100020), "music-mp3": (3010, 100021), "music-flac": (3040, 100022),
    "music-vinyl": (3040, 100023), "music-live": (3050, 100024),
    "games": (4050, 100030), "games-pc": (4050, 100031), "games-console": (1000, 100032),
    "software": (4000, 100040),
    "books": (7000, 100050), "books-ebooks": (7020, 100051),
    "books-audiobooks": (3030, 100052),
    "anime": (5070, 100060), "anime-series": (5070, 100061), "anime-movies": (2020, 100062),
    "xxx": (6000, 100070),
}
STANDARD_NAMES = {
    1000: "Console", 2000: "Movies", 2020: "Movies/Other", 2030: "Movies/SD",
    2040: "Movies/HD", 2045: "Movies/UHD", 2050: "Movies/BluRay", 2070: "Movies/DVD",
    3000: "Audio", 3010: "Audio/MP3", 3030: "Audio/Audiobook", 3040: "Audio/Lossless",
    3050: "Audio/Other", 4000: "PC", 4050: "PC/Games", 5000: "TV", 5010: "TV/WEB-DL",
    5030: "TV/SD", 5040: "TV/HD", 5045: "TV/UHD", 5070: "TV/Anime", 6000: "XXX",
    7000: "Books", 7020: "Books/EBook", 8000: "Other",
}
OTHER = 8000


@dataclass(frozen=True)
class MappedCategory:
    slug: str
    name: str
    standard: int
    site: int
    parent_slug: str | None

    @property
    def standard_parent(self) -> int:
        return self.standard // 1000 * 1000


def _site_id(slug: str) -> int:
    return 200000 + zlib.crc32(slug.encode()) % 800000


def _mapped(category: TorrentCategory, parent: TorrentCategory | None) -> MappedCategory:
    standard, site = KNOWN.get(category.slug, (0, 0))
    if not standard and parent is not None:
        standard = KNOWN.get(parent.slug, (OTHER, 0))[0]
    return MappedCategory(slug=category.slug, name=str(category), standard=standard or OTHER,
                          site=site or _site_id(category.slug),
                          parent_slug=parent.slug if parent else None)


def category_mapped(category: TorrentCategory) -> MappedCategory:
    """One category's ids (its parent loaded with it, as categories_tree does)."""
    return _mapped(category, category.parent)


def mapped_categories() -> list[MappedCategory]:
    """Every active category, parents before their children, in the site's order."""
    out = []
    for category in categories_tree():
        out.append(_mapped(category, category.parent))
    return out


def mapped_by_slug() -> dict[str, MappedCategory]:
    return {m.slug: m for m in mapped_categories()}


def slugs_for_ids(ids: list[int], mapped: list[MappedCategory]) -> tuple[str, ...] | None:
    """Our category slugs for Torznab ids (OR). A parent standard id (2000) takes every
    category filed under it or its subcategories; unknown ids are skipped, as clients
    expect. None: no usable id was given (no category filter); () would match nothing."""
    wanted = set(ids)
    if not wanted:
        return None
    slugs = [m.slug for m in mapped
             if m.site in wanted or m.standard in wanted or m.standard_parent in wanted]
    if not slugs:
        return ()
    return tuple(slugs)
