"""Achievements: awarded when a member's user_statistics counters (or account age) reach
a rule's threshold, each with a notification. Counter bumps (domain.accounts.counters) check
at once; the periodic jobs catch what moved in batches (the tracker's flush) or by age."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from domain.accounts.models import (
    ACCOUNT_AGE_DAYS,
    AchievementRule,
    User,
    UserAchievement,
    UserStatistics,
    UserStatus,
)
from domain.base import TargetType
from domain.signals import member_notification_send


def achievements_check(*, user_id: uuid.UUID) -> list[UserAchievement]:
    """Award every achievement whose rule the member now meets and notify each. Services
    that change user_statistics counters call this after their change (cheap: two small
    reads when nothing is new). Safe to call repeatedly and concurrently."""
    awarded: list[UserAchievement] = []
    with transaction.atomic():
        # Lock the counters row: two concurrent checks award a tier once.
        stats = UserStatistics.objects.select_for_update().filter(user_id=user_id).first()
        if stats is None:
            return awarded
        created_at = User.objects.filter(pk=user_id).values_list("created_at", flat=True)[0]
        earned = set(UserAchievement.objects.filter(user_id=user_id)
                     .values_list("achievement", "tier"))
        for rule in AchievementRule.objects.filter(is_active=True):
            if (rule.achievement, rule.tier) in earned:
                continue
            value = ((timezone.now() - created_at).days if rule.counter == ACCOUNT_AGE_DAYS
                     else getattr(stats, rule.counter))
            if value < rule.threshold:
                continue
            achievement = UserAchievement.objects.create(
                user_id=user_id, achievement=rule.achievement, tier=rule.tier,
                title=rule.title, description=rule.description, icon=rule.icon,
                metadata={"counter": rule.counter, "threshold": rule.threshold,
                          "value": value})
            member_notification_send(
                user_id=user_id, kind="achievement", title=f"Achievement: {rule.title}",
                body=rule.description, target_type=TargetType.USER, target_id=user_id,
                payload={"achievement": rule.achievement, "tier": rule.tier})
            awarded.append(achievement)
    return awarded


def achievements_award_due_by_age(*, now: Any = None) -> int:
    """Account-age achievements have no counter service to trigger them: find, per rule,
    the members old enough who lack it (one query per rule) and check those. Returns how
    many achievements were awarded; a second run awards none."""
    now = now or timezone.now()
    awarded = 0
    for rule in AchievementRule.objects.filter(is_active=True, counter=ACCOUNT_AGE_DAYS):
        due = (User.objects.filter(status=UserStatus.ACTIVE, deleted_at__isnull=True,
                                   created_at__lte=now - timedelta(days=rule.threshold))
               .exclude(achievements__achievement=rule.achievement,
                        achievements__tier=rule.tier)
               .values_list("pk", flat=True))
        for user_id in due.iterator(chunk_size=500):
            awarded += len(achievements_check(user_id=user_id))
    return awarded


def achievements_award_due_by_counters() -> int:
    """The tracker's flush moves transfer counters (uploaded, seed time, snatches...) in
    batches and checks no achievements: find, per counter rule, the members whose counter
    reached its threshold and who lack it (one indexed query per rule), and check those.
    Row counters are checked by statistics_bump at once; this also catches them after a
    recount. Returns how many achievements were awarded."""
    awarded = 0
    for rule in AchievementRule.objects.filter(is_active=True).exclude(
            counter=ACCOUNT_AGE_DAYS):
        due = (UserStatistics.objects
               .filter(**{f"{rule.counter}__gte": rule.threshold},
                       user__status=UserStatus.ACTIVE, user__deleted_at__isnull=True)
               .exclude(user__achievements__achievement=rule.achievement,
                        user__achievements__tier=rule.tier)
               .values_list("user_id", flat=True))
        for user_id in due.iterator(chunk_size=500):
            awarded += len(achievements_check(user_id=user_id))
    return awarded
