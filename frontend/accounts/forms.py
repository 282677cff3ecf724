"""Forms for the accounts pages: they parse and show field errors; rules live in the
domain services, whose errors land on the field they name (frontend.formerrors.add_domain_error)."""

from __future__ import annotations

from typing import Any

from django import forms

from domain.accounts.models import UserPrivacy

PRIVACY_LABELS = {
    "show_uploaded": "Uploaded amount",
    "show_downloaded": "Downloaded amount",
    "show_ratio": "Ratio",
    "show_required_ratio": "Required ratio",
    "show_bonus_points": "Bonus points",
    "show_seeding": "Seeding (count and size)",
    "show_leeching": "Leeching",
    "show_snatched": "Snatched",
    "show_uploads": "Uploads",
    "show_requests_filled": "Requests filled",
    "show_requests_voted": "Requests voted on",
    "show_collections": "Collections",
    "show_collections_contributed": "Collections contributed to",
    "show_last_seen": "Last seen",
    "show_invited": "Members invited",
    "show_comments": "Comments",
    "show_achievements": "Achievements",
}


class LoginForm(forms.Form):
    username = forms.CharField(label="Username or email", max_length=254,
                               widget=forms.TextInput(attrs={"autofocus": True,
                                                             "autocomplete": "username"}))
    password = forms.CharField(strip=False, max_length=4096, widget=forms.PasswordInput(
        attrs={"autocomplete": "current-password"}))


class CodeForm(forms.Form):
    code = forms.CharField(label="Code", max_length=32, widget=forms.TextInput(
        attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}))


class RegisterForm(forms.Form):
    username = forms.CharField(max_length=32)
    email = forms.EmailField(max_length=254)
    password = forms.CharField(strip=False, max_length=4096, widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(strip=False, max_length=4096,
                                     widget=forms.PasswordInput(
                                         attrs={"autocomplete": "new-password"}))
    invite_code = forms.CharField(max_length=64, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label="Current password", strip=False, max_length=4096,
                                   widget=forms.PasswordInput)
    new_password = forms.CharField(label="New password", strip=False, max_length=4096,
                                   widget=forms.PasswordInput)
    new_password_again = forms.CharField(label="New password again", strip=False,
                                         max_length=4096, widget=forms.PasswordInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password") != data.get(
                "new_password_again"):
            self.add_error("new_password_again", "The two passwords differ.")
        return data


class EmailChangeForm(forms.Form):
    email = forms.EmailField(label="New email address", max_length=254)
    password = forms.CharField(label="Current password", strip=False, max_length=4096,
                               widget=forms.PasswordInput)


class PasswordForm(forms.Form):
    password = forms.CharField(label="Current password", strip=False, max_length=4096,
                               widget=forms.PasswordInput)


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)


class PrivacyForm(forms.Form):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for name in UserPrivacy.SETTINGS:
            self.fields[name] = forms.BooleanField(label=PRIVACY_LABELS[name],
                                                   required=False)


class ProfileForm(forms.Form):
    """The member's own profile; `title` only for a class with the title permission."""

    avatar = forms.FileField(label="Avatar (PNG, JPEG, GIF or WebP)", required=False)
    remove_avatar = forms.BooleanField(label="Remove my avatar", required=False)
    profile_text = forms.CharField(label="About me", required=False,
                                   widget=forms.Textarea(attrs={"rows": 8}))
    title = forms.CharField(label="Title", max_length=64, required=False)

    def __init__(self, *args: Any, may_title: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_title:
            del self.fields["title"]
