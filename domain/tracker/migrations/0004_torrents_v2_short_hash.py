from django.db import migrations

from domain.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0003_client_rules_flush_batches"),
        ("catalog", "0001_initial"),
    ]

    operations = [run_sql_file("0300_torrents_v2_short_hash.sql")]
