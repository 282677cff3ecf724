"""Forms of the request pages. They check shape (lengths, numbers); the domain checks the
rules (minimum bounty, balance, matching torrent) and its errors land on these fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from domain.catalog.models import TorrentCategory
from domain.catalog.request_selectors import REQUEST_SORTS, RequestFilters
from domain.catalog.requests import REQUIREMENT_FIELDS, requirement_fields
from frontend.torrents.forms import CategoryChoiceField

SORT_LABELS = {"created": "Age", "bounty": "Bounty", "votes": "Votes", "filled": "Filled",
               "title": "Title", "relevance": "Relevance"}


def _categories() -> Any:
    return (TorrentCategory.objects.filter(is_active=True).select_related("parent")
            .order_by("parent__sort_order", "sort_order", "name"))


class RequestBrowseForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)
    category = forms.SlugField(required=False, max_length=64)
    status = forms.ChoiceField(required=False, choices=[("", "Any"), ("open", "Open"),
                                                        ("filled", "Filled")])
    bounty_min = forms.DecimalField(required=False, min_value=0, max_digits=20,
                                    decimal_places=2)
    bounty_max = forms.DecimalField(required=False, min_value=0, max_digits=20,
                                    decimal_places=2)
    external_id = forms.CharField(required=False, max_length=64)
    requester = forms.CharField(required=False, max_length=32)
    sort = forms.ChoiceField(required=False,
                             choices=[(k, SORT_LABELS.get(k, k))
                                      for k in [*REQUEST_SORTS, "relevance"]])
    order = forms.ChoiceField(required=False, choices=[("desc", "desc"), ("asc", "asc")])
    page = forms.IntegerField(required=False, min_value=1, max_value=100000)

    def filters(self) -> RequestFilters:
        d = self.cleaned_data
        return RequestFilters(q=d.get("q") or "", category=d.get("category") or "",
                              status=d.get("status") or "", bounty_min=d.get("bounty_min"),
                              bounty_max=d.get("bounty_max"),
                              external_id=d.get("external_id") or "",
                              requester=d.get("requester") or "",
                              sort=d.get("sort") or "created", order=d.get("order") or "desc")


class RequestForm(forms.Form):
    title = forms.CharField(max_length=255)
    category = CategoryChoiceField(queryset=TorrentCategory.objects.none())
    description = forms.CharField(widget=forms.Textarea, required=False, max_length=20000)
    bounty = forms.DecimalField(min_value=Decimal("0.01"), max_digits=20, decimal_places=2,
                                help_text="Bonus points, taken from your balance now.")
    year = forms.IntegerField(required=False, min_value=1870, max_value=2200)
    resolution = forms.CharField(required=False, max_length=16)
    video_codec = forms.CharField(required=False, max_length=32)
    audio_codec = forms.CharField(required=False, max_length=32)
    source = forms.CharField(required=False, max_length=32, label="Source (BluRay, WEB...)")
    format = forms.CharField(required=False, max_length=32, label="Format (FLAC, MKV...)")
    release_group = forms.CharField(required=False, max_length=64)
    imdb_id = forms.CharField(required=False, max_length=16, label="IMDb id")
    tmdb_id = forms.CharField(required=False, max_length=12, label="TMDB id")
    tvdb_id = forms.CharField(required=False, max_length=12, label="TVDB id")
    igdb_id = forms.CharField(required=False, max_length=12, label="IGDB id")
    musicbrainz_id = forms.CharField(required=False, max_length=36, label="MusicBrainz id")

    REQUIREMENTS = ("year", "resolution", "video_codec", "audio_codec", "source", "format",
                    "release_group", "imdb_id", "tmdb_id", "tvdb_id", "igdb_id",
                    "musicbrainz_id")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ModelChoiceField)
        category.queryset = _categories()
        # Which main categories name each detail (the domain refuses it for the others).
        names = dict(TorrentCategory.objects.filter(parent__isnull=True, is_active=True)
                     .order_by("sort_order").values_list("slug", "name"))
        for key in self.REQUIREMENTS:
            takes = [name for slug, name in names.items()
                     if key in REQUIREMENT_FIELDS.get(slug, (key,))]
            if len(takes) < len(names):
                self.fields[key].help_text = "For " + ", ".join(takes) + "."

    def requirements(self) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) for k in self.REQUIREMENTS
                if k in self.fields}


class BountyForm(forms.Form):
    amount = forms.DecimalField(max_digits=20, decimal_places=2, label="Add bounty (points)")


class FillForm(forms.Form):
    torrent = forms.CharField(max_length=300, label="Torrent (page link or id)")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500)


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea, max_length=65536)
    quoted = forms.UUIDField(required=False, widget=forms.HiddenInput)


class RequestEditForm(RequestForm):
    """The fields an open request's requester may change: not its category nor bounty;
    of the details, those its category has."""

    def __init__(self, *args: Any, category: TorrentCategory, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["category"]
        del self.fields["bounty"]
        allowed = requirement_fields(category)
        for key in self.REQUIREMENTS:
            if key not in allowed:
                del self.fields[key]
            else:
                self.fields[key].help_text = ""
