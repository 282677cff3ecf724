"""Default warning thresholds and auto-flag rules; admins change both in Django admin."""

from django.db import migrations

THRESHOLDS = [
    (5, "download", "Downloads off while 5 or more warning points are active"),
    (10, "account", "Account banned while 10 or more warning points are active"),
]

RULES = [
    ("New uploader's first uploads", "first_uploads", {"uploads": 3}, 0.4, 0),
    ("Banned name patterns", "name_pattern",
     {"patterns": [r"(?i)\bkeygen\b", r"(?i)\bcrack(ed)?[-_. ]only\b", r"(?i)\.exe$"]}, 0.7, 1),
    ("Descriptions with many links", "description_links", {"max_links": 8}, 0.5, 0),
    ("Chat and forum word list", "word_list",
     {"words": ["free bitcoin", "cheap followers"], "targets": ["chat_message", "forum_post"]},
     0.6, 0),
    ("Many reports on one target", "report_count", {"reports": 3}, 0.8, 2),
    ("Implausible transfer figures", "transfer_implausible", {}, 0.9, 2),
]


def create(apps, schema_editor):
    Threshold = apps.get_model("moderation", "WarningThreshold")
    Rule = apps.get_model("moderation", "AutoFlagRule")
    for points, consequence, description in THRESHOLDS:
        Threshold.objects.update_or_create(consequence=consequence, defaults={
            "points": points, "description": description})
    for name, kind, parameters, score, priority in RULES:
        Rule.objects.update_or_create(name=name, defaults={
            "kind": kind, "parameters": parameters, "score": score, "priority": priority})


def delete(apps, schema_editor):
    apps.get_model("moderation", "WarningThreshold").objects.all().delete()
    apps.get_model("moderation", "AutoFlagRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("moderation", "0003_warnings_appeals_autoflag")]
    operations = [migrations.RunPython(create, delete)]
