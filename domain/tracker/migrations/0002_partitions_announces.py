from django.db import migrations

from domain.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0001_initial"),
        ("catalog", "0001_initial"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        run_sql_file("0002_monthly_partitions.sql"),
        run_sql_file("0003_announces.sql"),
        run_sql_file("0004_peer_history_timescale.sql"),
    ]
