"""Store forms: they check shape and range; the services check balance, recipient and
permission, and their errors land on the field they name."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator

UUID_RE = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)


class UploadCreditForm(forms.Form):
    gib = forms.IntegerField(label="GiB of upload credit", min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The limit is a setting, read per request (tests and admins change it).
        limit = settings.BONUS_UPLOAD_MAX_GIB
        self.fields["gib"].validators.append(MaxValueValidator(limit))
        self.fields["gib"].widget.attrs.update(min=1, max=limit)


class TokenBuyForm(forms.Form):
    quantity = forms.IntegerField(label="Tokens", min_value=1, initial=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = settings.BONUS_TOKEN_MAX_PER_PURCHASE
        self.fields["quantity"].validators.append(MaxValueValidator(limit))
        self.fields["quantity"].widget.attrs.update(min=1, max=limit)


class GiftForm(forms.Form):
    recipient = forms.CharField(label="Member", max_length=32)
    amount = forms.DecimalField(label="Points", max_digits=20, decimal_places=2,
                                min_value=Decimal("0.01"))
    message = forms.CharField(label="Message", required=False,
                              max_length=settings.BONUS_GIFT_MESSAGE_MAX_LENGTH,
                              widget=forms.Textarea(attrs={"rows": 3}))


class TokenUseForm(forms.Form):
    torrent = forms.CharField(label="Torrent link or ID", max_length=500,
                              help_text="Paste the torrent's page address or its ID.")

    def clean_torrent(self) -> uuid.UUID:
        match = UUID_RE.search(self.cleaned_data["torrent"])
        if match is None:
            raise forms.ValidationError("That is not a torrent link or ID.")
        return uuid.UUID(match.group(0))

