"""Admin for reports, warnings, bans, the moderation queue and the audit log.

The audit log is evidence: it is shown, never added to, edited or deleted from the admin
(the table's trigger refuses UPDATE and DELETE as well)."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import truncatechars
from django.utils import timezone
from django.utils.html import format_html

from domain.accounts.admin import DomainAdmin, LogAdmin
from domain.accounts.permissions import Perm
from domain.errors import DomainError
from domain.moderation.autoflag import autoflag_parameters_clean, rules_forget
from domain.moderation.models import (
    Appeal,
    AuditLog,
    AutoFlagRule,
    Ban,
    BanType,
    ModerationQueueItem,
    Report,
    StaffNote,
    Warning,
    WarningThreshold,
)
from domain.moderation.services import ban_take_effect
from domain.moderation.warnings import warning_take_effect, warnings_recheck_all

USER_BANS = (BanType.ACCOUNT, BanType.UPLOAD, BanType.DOWNLOAD)


@admin.register(Report)
class ReportAdmin(DomainAdmin):
    list_display = ("created_at", "target_type", "target_id", "reason", "status", "reporter",
                    "claimed_by", "resolved_at")
    list_filter = ("status", "reason", "target_type", "created_at")
    search_fields = ("description", "reporter__username", "resolution_note")
    uuid_search_fields = ("id", "target_id")
    search_help_text = "Text, reporter, or a report's or target's id."
    date_hierarchy = "created_at"
    list_select_related = ("reporter", "claimed_by")
    raw_id_fields = ("reporter", "claimed_by", "resolved_by")
    readonly_fields = ("created_at", "updated_at")


class _IssuedByActor(admin.ModelAdmin):
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and obj.issued_by_id is None:
            obj.issued_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Warning)
class WarningAdmin(_IssuedByActor, DomainAdmin):
    edit_permission = Perm.USERS_WARN
    list_display = ("user", "points", "excerpt", "issued_by", "created_at", "expires_at",
                    "revoked_at", "appeal_status")
    list_filter = ("appeal_status", ("revoked_at", admin.EmptyFieldListFilter), "expires_at",
                   "created_at")
    search_fields = ("user__username", "reason")
    date_hierarchy = "created_at"
    list_select_related = ("user", "issued_by")
    raw_id_fields = ("user", "issued_by", "revoked_by", "report", "appeal_decided_by")
    readonly_fields = ("acknowledged_at", "created_at", "updated_at")

    def invalidate(self, warning: Warning) -> None:
        # A warning made, changed or deleted here counts as warning_issue's do: points,
        # threshold bans, the tracker's cache and the member's banner follow.
        warning_take_effect(warning.user_id)

    # Deleting a warning lifts it: marked so in the database first, since the take-effect
    # (run before the row goes) recomputes the points from the table.
    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        Warning.objects.filter(pk=obj.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        super().delete_queryset(request, queryset)

    @admin.display(description="reason")
    def excerpt(self, warning: Warning) -> str:
        return truncatechars(warning.reason, 60)


@admin.register(WarningThreshold)
class WarningThresholdAdmin(DomainAdmin):
    edit_permission = Perm.SITE_SETTINGS
    list_display = ("consequence", "points", "is_active", "description")
    list_editable = ("points", "is_active")
    readonly_fields = ("created_at", "updated_at")

    def invalidate(self, threshold: WarningThreshold) -> None:
        # After commit, when the change (or the deletion) is in the table: every member
        # with points gets the consequences the new thresholds give.
        transaction.on_commit(warnings_recheck_all)


class BanForm(forms.ModelForm):
    ip_range = forms.CharField(
        required=False, max_length=43, label="IP range",
        help_text="An address (192.0.2.7, 2001:db8::1) or a network in CIDR form "
                  "(192.0.2.0/24, 2001:db8::/32).",
    )

    class Meta:
        model = Ban
        fields = ("ban_type", "user", "ip_range", "email_pattern", "reason", "issued_by",
                  "expires_at", "revoked_at", "revoked_by", "appeal_status", "appeal_text",
                  "appeal_decided_by", "appeal_decided_at")

    def clean_ip_range(self) -> str | None:
        value = self.cleaned_data["ip_range"].strip()
        if not value:
            return None
        try:
            network = ipaddress.ip_network(value)
        except ValueError:
            try:
                suggestion = ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValidationError(f"{value!r} is not an IP address or CIDR range.",
                                      code="invalid") from None
            # Bits set below the mask: PostgreSQL's cidr refuses them, and silently
            # widening 10.1.2.3/8 to all of 10.0.0.0/8 is not what the typist meant.
            raise ValidationError(f"{value} has host bits set; did you mean {suggestion}?",
                                  code="host_bits") from None
        return str(network)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        ban_type = data.get("ban_type")
        if ban_type in USER_BANS and not data.get("user"):
            self.add_error("user", "This kind of ban needs a member.")
        elif ban_type == BanType.IP and not data.get("ip_range") and (
                "ip_range" not in self.errors):
            self.add_error("ip_range", "An IP ban needs an address or range.")
        elif ban_type == BanType.EMAIL and not data.get("email_pattern"):
            self.add_error("email_pattern", "An email ban needs a pattern.")
        return data


@admin.register(Ban)
class BanAdmin(_IssuedByActor, DomainAdmin):
    form = BanForm
    edit_permission = Perm.USERS_BAN
    list_display = ("ban_type", "target", "excerpt", "issued_by", "created_at", "expires_at",
                    "revoked_at", "appeal_status")
    list_filter = ("ban_type", "appeal_status", ("revoked_at", admin.EmptyFieldListFilter),
                   "expires_at", "created_at")
    search_fields = ("user__username", "ip_range", "email_pattern", "reason")
    search_help_text = "Member, IP range text, email pattern or reason."
    date_hierarchy = "created_at"
    list_select_related = ("user", "issued_by")
    raw_id_fields = ("user", "issued_by", "revoked_by", "appeal_decided_by")
    readonly_fields = ("created_at", "updated_at")

    def invalidate(self, ban: Ban) -> None:
        # Bans made, changed or deleted here take effect as ban_issue's do.
        ban_take_effect(ban)

    # A deleted ban is a lifted one: mark it so before its effects are applied, or an
    # account ban's deletion would end the member's sessions instead of freeing them.
    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        obj.revoked_at = obj.revoked_at or timezone.now()
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        super().delete_queryset(request, queryset)

    @admin.display(description="banned")
    def target(self, ban: Ban) -> str:
        if ban.ban_type == BanType.IP:
            return ban.ip_range or "-"
        if ban.ban_type == BanType.EMAIL:
            return ban.email_pattern
        return str(ban.user) if ban.user_id else "-"

    @admin.display(description="reason")
    def excerpt(self, ban: Ban) -> str:
        return truncatechars(ban.reason, 60)


def _json_block(value: Any) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True,
                                                   ensure_ascii=False))


@admin.register(AuditLog)
class AuditLogAdmin(LogAdmin):
    view_permission = Perm.AUDIT_VIEW
    list_display = ("created_at", "action", "actor", "target_type", "target_id",
                    "ip_address")
    list_filter = ("target_type", "created_at")
    search_fields = ("action", "actor__username", "^ip_address")
    uuid_search_fields = ("id", "target_id", "actor_id")
    search_help_text = "Action, actor, IP prefix, or a target's or actor's id."
    date_hierarchy = "created_at"
    list_select_related = ("actor",)
    fields = ("created_at", "action", "actor", "target_type", "target_id", "ip_address",
              "user_agent", "changes_display", "metadata_display")
    readonly_fields = fields

    @admin.display(description="changes")
    def changes_display(self, entry: AuditLog) -> str:
        return _json_block(entry.changes)

    @admin.display(description="metadata")
    def metadata_display(self, entry: AuditLog) -> str:
        return _json_block(entry.metadata)


@admin.register(ModerationQueueItem)
class ModerationQueueItemAdmin(DomainAdmin):
    list_display = ("created_at", "target_type", "target_id", "source", "status", "priority",
                    "flag_score", "summary", "claimed_by", "resolved_at")
    list_filter = ("status", "source", "target_type", "created_at")
    search_fields = ("summary", "resolution_note", "submitted_by__username")
    uuid_search_fields = ("id", "target_id")
    search_help_text = "Summary, note, submitter, or an item's or target's id."
    date_hierarchy = "created_at"
    list_select_related = ("claimed_by",)
    raw_id_fields = ("submitted_by", "claimed_by", "resolved_by")
    readonly_fields = ("flags", "flag_score", "created_at", "updated_at")


class AutoFlagRuleForm(forms.ModelForm):
    class Meta:
        model = AutoFlagRule
        fields = ("name", "kind", "parameters", "score", "priority", "is_active")
        help_texts = {"parameters": (
            'By kind: first_uploads {"uploads": 3}; name_pattern {"patterns": ["regex", ...]}; '
            'description_links {"max_links": 8}; word_list {"words": [...], "targets": '
            '["chat_message", "forum_post", "comment"]}; report_count {"reports": 3}; '
            "transfer_implausible {}.")}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "kind" in data and "parameters" in data:
            try:
                autoflag_parameters_clean(data["kind"], data["parameters"])
            except DomainError as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data


@admin.register(AutoFlagRule)
class AutoFlagRuleAdmin(DomainAdmin):
    form = AutoFlagRuleForm
    edit_permission = Perm.SITE_SETTINGS
    list_display = ("name", "kind", "is_active", "score", "priority")
    list_filter = ("kind", "is_active")
    search_fields = ("name",)
    readonly_fields = ("created_at", "updated_at")

    def invalidate(self, rule: AutoFlagRule) -> None:
        transaction.on_commit(rules_forget)


@admin.register(Appeal)
class AppealAdmin(DomainAdmin):
    # Decisions go through the staff pages (appeal_decide lifts what was appealed);
    # here appeals are only read.
    list_display = ("created_at", "appellant", "target_type", "status", "decided_by",
                    "decided_at")
    list_filter = ("status", "target_type", "created_at")
    search_fields = ("appellant__username", "text", "decision_note")
    uuid_search_fields = ("id", "target_id")
    list_select_related = ("appellant", "decided_by")
    raw_id_fields = ("appellant", "decided_by")
    readonly_fields = ("appellant", "target_type", "target_id", "text", "status",
                       "decided_by", "decided_at", "decision_note", "created_at",
                       "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StaffNote)
class StaffNoteAdmin(DomainAdmin):
    edit_permission = Perm.USERS_WARN
    view_permission = Perm.USERS_WARN
    list_display = ("created_at", "member", "author", "excerpt")
    search_fields = ("member__username", "body")
    list_select_related = ("member", "author")
    raw_id_fields = ("member", "author")
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description="note")
    def excerpt(self, note: StaffNote) -> str:
        return truncatechars(note.body, 60)
