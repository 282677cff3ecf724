"""Migrations apply the hand-written SQL in sql/ through `run_sql_file`.

Each file NNNN_name.sql has its undo in NNNN_name.reverse.sql (absent: irreversible).
Files are never edited once a migration applies them; a change is a new file.
"""

from __future__ import annotations

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def read_sql(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def run_sql_file(name: str) -> migrations.RunSQL:
    reverse = SQL_DIR / name.replace(".sql", ".reverse.sql")
    return migrations.RunSQL(
        sql=read_sql(name),
        reverse_sql=reverse.read_text(encoding="utf-8") if reverse.exists()
        else migrations.RunSQL.noop,
    )
