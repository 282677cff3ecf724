"""Comments (on torrents, requests and collections) go through the word list too: the
default word-list rule, while it still has the targets 0004 gave it, now also covers
comments. A rule an admin has changed is left as it is."""

from django.db import migrations, models

RULE = "Chat and forum word list"
OLD = ["chat_message", "forum_post"]
NEW = ["chat_message", "forum_post", "comment"]


def _retarget(apps, before, after):
    Rule = apps.get_model("moderation", "AutoFlagRule")
    for rule in Rule.objects.filter(name=RULE, kind="word_list"):
        if rule.parameters.get("targets") == before:
            rule.parameters = {**rule.parameters, "targets": after}
            rule.save(update_fields=["parameters"])


def forwards(apps, schema_editor):
    _retarget(apps, OLD, NEW)


def backwards(apps, schema_editor):
    _retarget(apps, NEW, OLD)


class Migration(migrations.Migration):

    dependencies = [
        ('moderation', '0004_default_thresholds_rules'),
    ]

    operations = [
        migrations.AlterField(
            model_name='autoflagrule',
            name='kind',
            field=models.CharField(choices=[('first_uploads', "A new uploader's first uploads"), ('name_pattern', 'Torrent name matches a banned pattern'), ('description_links', 'Description with many links'), ('word_list', 'Chat, forum or comment text matches a word list'), ('report_count', 'Many reports on one target'), ('transfer_implausible', 'Implausible transfer figures')], max_length=32),
        ),
        migrations.RunPython(forwards, backwards),
    ]
