from django.db import migrations

from domain.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [run_sql_file("0001_torrent_search.sql")]
