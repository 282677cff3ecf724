"""Forms for reports, warnings and appeals. Limits mirror the services' (which decide)."""

from __future__ import annotations

from django import forms

from domain.moderation.models import ReportReason


class ReportForm(forms.Form):
    reason = forms.ChoiceField(choices=ReportReason.choices)
    description = forms.CharField(label="What is wrong", required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 5}))


class AppealForm(forms.Form):
    target_type = forms.CharField(widget=forms.HiddenInput, max_length=32)
    target_id = forms.UUIDField(widget=forms.HiddenInput)
    text = forms.CharField(label="Why should this be reconsidered?", max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 4}))


class WarnForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    points = forms.IntegerField(min_value=1, max_value=100, initial=1)
    expires_in_days = forms.IntegerField(label="Expires in (days; empty: never)",
                                         required=False, min_value=1, max_value=3650,
                                         initial=30)
    report = forms.UUIDField(required=False, widget=forms.HiddenInput)


class BanForm(forms.Form):
    ban_type = forms.ChoiceField(choices=[("account", "Account"), ("upload", "Upload rights"),
                                          ("download", "Download rights")])
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    expires_in_days = forms.IntegerField(label="Expires in (days; empty: never)",
                                         required=False, min_value=1, max_value=3650)


class NoteForm(forms.Form):
    body = forms.CharField(label="Note", max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 3}))


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("deny", "Deny")])
    note = forms.CharField(label="Reason (needed to deny)", required=False, max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 3}))


class AuditFilterForm(forms.Form):
    action = forms.CharField(required=False, max_length=64,
                             help_text="A prefix: warning. or ban.issue")
    actor = forms.CharField(required=False, max_length=32, label="Actor (member name)")
    target_id = forms.CharField(required=False, max_length=36, label="Target id")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.DateTimeField(required=False, widget=forms.HiddenInput)
