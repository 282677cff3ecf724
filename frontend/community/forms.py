"""Forms for the community pages. Limits mirror the services' (which have the last word)."""

from __future__ import annotations

from django import forms

from domain.community.services import FORUM_POST_MAX, PM_BODY_MAX, PM_SUBJECT_MAX


class ChatPostForm(forms.Form):
    body = forms.CharField(label="Message", max_length=10000,
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))


class TopicForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(label="Post", max_length=FORUM_POST_MAX,
                           widget=forms.Textarea(attrs={"rows": 8}))


class PostForm(forms.Form):
    body = forms.CharField(label="Reply", max_length=FORUM_POST_MAX,
                           widget=forms.Textarea(attrs={"rows": 6}))
    quoted = forms.UUIDField(required=False, widget=forms.HiddenInput)


class PostEditForm(forms.Form):
    body = forms.CharField(label="Post", max_length=FORUM_POST_MAX,
                           widget=forms.Textarea(attrs={"rows": 8}))


class MessageForm(forms.Form):
    recipient = forms.CharField(label="To (member name)", max_length=32)
    subject = forms.CharField(max_length=PM_SUBJECT_MAX)
    body = forms.CharField(label="Message", max_length=PM_BODY_MAX,
                           widget=forms.Textarea(attrs={"rows": 8}))


class TicketForm(forms.Form):
    subject = forms.CharField(max_length=PM_SUBJECT_MAX)
    body = forms.CharField(label="Message", max_length=PM_BODY_MAX,
                           widget=forms.Textarea(attrs={"rows": 8}))


class ReplyForm(forms.Form):
    body = forms.CharField(label="Reply", max_length=PM_BODY_MAX,
                           widget=forms.Textarea(attrs={"rows": 5}))
    parent = forms.UUIDField(widget=forms.HiddenInput)


class BlockForm(forms.Form):
    username = forms.CharField(label="Member name", max_length=32)


class TopicModerationForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in
                                        ("lock", "unlock", "sticky", "unsticky", "delete",
                                         "move")])
    forum = forms.UUIDField(required=False)


class ReportResolveForm(forms.Form):
    # One form per open report on the moderation feed: an aria-label names each (a
    # <label for> cannot, the rendered ids repeat).
    note = forms.CharField(label="Resolution note", max_length=5000, widget=forms.Textarea(
        attrs={"rows": 2, "aria-label": "Resolution note"}))
    dismiss = forms.BooleanField(required=False)
