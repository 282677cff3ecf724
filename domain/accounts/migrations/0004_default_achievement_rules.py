"""The default achievement rules (staff add or retire tiers in the table)."""

from django.db import migrations

GIB = 1024**3
DAY = 86_400

# slug, tier, title, description, counter, threshold
RULES = [
    ("first-upload", 1, "First upload", "Uploaded a first torrent.", "uploads_count", 1),
    ("uploads", 1, "Uploader I", "Uploaded 10 torrents.", "uploads_count", 10),
    ("uploads", 2, "Uploader II", "Uploaded 100 torrents.", "uploads_count", 100),
    ("upload-volume", 1, "Sharing 100 GiB", "Uploaded 100 GiB.", "uploaded", 100 * GIB),
    ("upload-volume", 2, "Sharing 1 TiB", "Uploaded 1 TiB.", "uploaded", 1024 * GIB),
    ("upload-volume", 3, "Sharing 10 TiB", "Uploaded 10 TiB.", "uploaded", 10240 * GIB),
    ("seeding-time", 1, "Seeder", "Seeded for a total of 1 day.", "seedtime_seconds", DAY),
    ("seeding-time", 2, "Dedicated seeder", "Seeded for a total of 30 days.",
     "seedtime_seconds", 30 * DAY),
    ("seeding-time", 3, "Seed keeper", "Seeded for a total of 365 days.",
     "seedtime_seconds", 365 * DAY),
    ("snatches", 1, "Collector", "Completed 50 downloads.", "snatched_count", 50),
    ("forum-posts", 1, "First words", "Wrote a first forum post.", "forum_posts_count", 1),
    ("forum-posts", 2, "Regular", "Wrote 100 forum posts.", "forum_posts_count", 100),
    ("forum-posts", 3, "Pillar of the forums", "Wrote 1000 forum posts.",
     "forum_posts_count", 1000),
    ("comments", 1, "Critic", "Wrote 50 comments.", "comments_count", 50),
    ("requests-filled", 1, "Request filler", "Filled 10 requests.", "requests_filled_count", 10),
    ("account-age", 1, "One year here", "A member for one year.", "account_age_days", 365),
    ("account-age", 2, "Five years here", "A member for five years.", "account_age_days",
     5 * 365),
]


def create_rules(apps, schema_editor):
    Rule = apps.get_model("accounts", "AchievementRule")
    for slug, tier, title, description, counter, threshold in RULES:
        Rule.objects.update_or_create(
            achievement=slug, tier=tier,
            defaults={"title": title, "description": description, "counter": counter,
                      "threshold": threshold})


def delete_rules(apps, schema_editor):
    Rule = apps.get_model("accounts", "AchievementRule")
    for slug, tier, *_ in RULES:
        Rule.objects.filter(achievement=slug, tier=tier).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_invites_achievement_rules")]

    operations = [migrations.RunPython(create_rules, delete_rules)]
