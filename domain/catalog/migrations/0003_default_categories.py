"""The seed's 8 categories and 20 subcategories.

The seed names 14 subcategories (Movies 6, TV 4, Music 4) and counts 20 (57 default rows in
all); the other 6 are ours: Games (PC, Console), Books (E-Books, Audiobooks), Anime (Series,
Movies)."""

from django.db import migrations

CATEGORIES = [
    ("Movies", "movies", "film", [("HD", "movies-hd"), ("SD", "movies-sd"),
                                  ("UHD", "movies-uhd"), ("Remux", "movies-remux"),
                                  ("BluRay", "movies-bluray"), ("DVDR", "movies-dvdr")]),
    ("TV Shows", "tv", "tv", [("HD", "tv-hd"), ("SD", "tv-sd"), ("UHD", "tv-uhd"),
                              ("WEB-DL", "tv-web-dl")]),
    ("Music", "music", "music", [("MP3", "music-mp3"), ("FLAC", "music-flac"),
                                 ("Vinyl", "music-vinyl"), ("Live", "music-live")]),
    ("Games", "games", "gamepad", [("PC", "games-pc"), ("Console", "games-console")]),
    ("Software", "software", "package", []),
    ("Books", "books", "book", [("E-Books", "books-ebooks"), ("Audiobooks", "books-audiobooks")]),
    ("Anime", "anime", "sparkles", [("Series", "anime-series"), ("Movies", "anime-movies")]),
    ("XXX", "xxx", "lock", []),
]


def create_categories(apps, schema_editor):
    Category = apps.get_model("catalog", "TorrentCategory")
    for order, (name, slug, icon, subs) in enumerate(CATEGORIES, start=1):
        parent, _ = Category.objects.update_or_create(
            slug=slug, defaults={"name": name, "icon": icon, "sort_order": order, "parent": None})
        for sub_order, (sub_name, sub_slug) in enumerate(subs, start=1):
            Category.objects.update_or_create(
                slug=sub_slug,
                defaults={"name": sub_name, "parent": parent, "sort_order": sub_order})


def delete_categories(apps, schema_editor):
    Category = apps.get_model("catalog", "TorrentCategory")
    slugs = [s for _, _, _, subs in CATEGORIES for _, s in subs]
    Category.objects.filter(slug__in=slugs).delete()
    Category.objects.filter(slug__in=[c[1] for c in CATEGORIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_torrent_search")]

    operations = [migrations.RunPython(create_categories, delete_categories)]
