"""Periodic account jobs. Each task takes no arguments and calls one service."""

from __future__ import annotations

from celery import shared_task

from domain.accounts.achievements import (
    achievements_award_due_by_age,
    achievements_award_due_by_counters,
)
from domain.accounts.services import group_auto_apply
from domain.accounts.sessions import user_sessions_cleanup


@shared_task(name="accounts.group_auto_apply")
def group_auto_apply_task() -> int:
    """Promote and demote members between automatic classes, and award the account-age
    and tracker-counter achievements that came due; returns how many class changes were
    made."""
    changed = len(group_auto_apply())
    achievements_award_due_by_age()
    achievements_award_due_by_counters()
    return changed


@shared_task(name="accounts.user_sessions_cleanup")
def user_sessions_cleanup_task() -> int:
    """Delete long-ended session rows; returns how many."""
    return user_sessions_cleanup()
