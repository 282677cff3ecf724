from django.db import migrations

from domain.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0001_initial"),
        # ensure_monthly_partitions() comes from the tracker's migration.
        ("tracker", "0002_partitions_announces"),
    ]

    operations = [
        run_sql_file("0005_audit_logs.sql"),
        run_sql_file("0006_bans_ip_gist.sql"),
    ]
