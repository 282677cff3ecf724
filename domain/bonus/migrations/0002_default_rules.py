"""The seed's 4 bonus rules: standard_seeding, low_seeder_bonus, freeleech_seeding,
large_file_bonus."""

from decimal import Decimal

from django.db import migrations

GIB = 1024**3

RULES = [
    {"name": "standard_seeding", "display_name": "Standard seeding",
     "description": "Every torrent you seed earns points each hour.",
     "rule_type": "seeding", "points_per_hour": Decimal("1.0000"), "priority": 10},
    {"name": "low_seeder_bonus", "display_name": "Low seeder bonus",
     "description": "Extra points for keeping torrents with 5 or fewer seeders alive.",
     "rule_type": "low_seeders", "points_per_hour": Decimal("0.5000"), "max_seeders": 5,
     "priority": 20},
    {"name": "freeleech_seeding", "display_name": "Freeleech seeding",
     "description": "Extra points for seeding freeleech torrents.",
     "rule_type": "freeleech_seeding", "points_per_hour": Decimal("0.2500"),
     "requires_freeleech": True, "priority": 30},
    {"name": "large_file_bonus", "display_name": "Large torrent bonus",
     "description": "Points per GiB above 10 GiB for seeding large torrents, up to 2 an hour.",
     "rule_type": "large_file", "points_per_gib_hour": Decimal("0.0500"),
     "min_size_bytes": 10 * GIB, "max_points_per_hour": Decimal("2.0000"), "priority": 40},
]


def create(apps, schema_editor):
    BonusRule = apps.get_model("bonus", "BonusRule")
    for rule in RULES:
        fields = dict(rule)
        BonusRule.objects.update_or_create(name=fields.pop("name"), defaults=fields)


def delete(apps, schema_editor):
    apps.get_model("bonus", "BonusRule").objects.filter(
        name__in=[r["name"] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("bonus", "0001_initial")]

    operations = [migrations.RunPython(create, delete)]
