from django.db import migrations

from domain.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    """torrents.stat_seeders/leechers/snatches, copies of torrent_statistics' counts kept
    by trigger, with a partial index per sort key (the lists' seeder/leecher/snatch
    sorts; sql/0007_torrent_swarm_sort.sql)."""

    dependencies = [
        ("catalog", "0008_request_sort_indexes"),
        ("tracker", "0007_refused_claims_set_aside"),
    ]

    operations = [run_sql_file("0007_torrent_swarm_sort.sql")]
