"""The Celery app and the beat schedule: every periodic job is listed here, its period a
setting."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")

app = Celery("tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["domain.tracker", "domain.moderation", "domain.community",
                        "domain.accounts", "domain.bonus", "domain.catalog"])
# The header figures' publisher reads several areas, so it is a module of its own.
app.autodiscover_tasks(["domain"], related_name="memberstats")


def beat_schedule() -> dict[str, dict[str, object]]:
    from django.conf import settings

    return {
        "bonus-award-due-periods": {
            "task": "bonus.award_due_periods",
            "schedule": float(settings.BONUS_EARNING_SCHEDULE_SECONDS),
        },
        "bonus-expire-tokens": {
            "task": "bonus.expire_tokens",
            "schedule": float(settings.BONUS_TOKEN_EXPIRY_SECONDS),
        },
        "bonus-recompute-statistics": {
            "task": "bonus.recompute_statistics",
            "schedule": float(settings.BONUS_STATISTICS_RECOMPUTE_SECONDS),
        },
        "community-chat-cleanup": {
            "task": "community.chat_messages_cleanup",
            "schedule": float(settings.COMMUNITY_CHAT_CLEANUP_SECONDS),
        },
        "accounts-group-auto-apply": {
            "task": "accounts.group_auto_apply",
            "schedule": float(settings.GROUP_AUTO_APPLY_SECONDS),
        },
        "accounts-user-sessions-cleanup": {
            "task": "accounts.user_sessions_cleanup",
            "schedule": float(settings.SESSION_CLEANUP_SECONDS),
        },
        "tracker-flush": {
            "task": "tracker.flush",
            "schedule": float(settings.TRACKER_FLUSH_SECONDS),
        },
        "tracker-reap-stale-peers": {
            "task": "tracker.reap_stale_peers",
            "schedule": float(settings.TRACKER_REAP_SECONDS),
        },
        "announces-partitions": {
            "task": "tracker.announces_partitions_ensure",
            "schedule": float(settings.PARTITION_MAINTENANCE_SECONDS),
        },
        "audit-logs-partitions": {
            "task": "moderation.audit_logs_partitions_ensure",
            "schedule": float(settings.PARTITION_MAINTENANCE_SECONDS),
        },
        "peer-history-roll-up": {
            "task": "tracker.peer_history_roll_up",
            "schedule": float(settings.PEER_HISTORY_ROLLUP_SECONDS),
        },
        "partitions-archive": {
            "task": "moderation.partitions_archive",
            "schedule": float(settings.PARTITION_ARCHIVE_SECONDS),
        },
        "search-queue-drain": {
            "task": "search.queue_drain",
            "schedule": float(settings.SEARCH_QUEUE_DRAIN_SECONDS),
        },
        "search-queue-purge": {
            "task": "search.queue_purge",
            "schedule": float(settings.SEARCH_QUEUE_PURGE_SECONDS),
        },
        "moderation-warnings-expire": {
            "task": "moderation.warnings_expire",
            "schedule": float(settings.WARNINGS_EXPIRE_SECONDS),
        },
        "tracker-hit-and-run-check": {
            "task": "tracker.hit_and_run_check",
            "schedule": float(settings.HNR_CHECK_SECONDS),
        },
        "tracker-ratio-watch-check": {
            "task": "tracker.ratio_watch_check",
            "schedule": float(settings.RATIO_WATCH_CHECK_SECONDS),
        },
        "catalog-top10-refresh": {
            "task": "catalog.top10_refresh",
            "schedule": float(settings.TOP10_REFRESH_SECONDS),
        },
        "accounts-member-stats-publish": {
            "task": "accounts.member_stats_publish",
            "schedule": float(settings.MEMBER_STATS_PUBLISH_SECONDS),
        },
        "catalog-site-statistics-snapshot": {
            "task": "catalog.site_statistics_snapshot",
            "schedule": float(settings.SITE_STATISTICS_SECONDS),
        },
    }


@app.on_after_configure.connect
def _install_beat_schedule(sender: Celery, **_: object) -> None:
    sender.conf.beat_schedule = beat_schedule()
