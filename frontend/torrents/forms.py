from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator

from domain.catalog.models import TorrentCategory
from domain.catalog.selectors import SORTS, BrowseFilters
from domain.catalog.services import tag_normalize
from domain.errors import ValidationFailed


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: TorrentCategory) -> str:  # type: ignore[override]
        return str(obj)


def _categories() -> Any:
    return (TorrentCategory.objects.filter(is_active=True).select_related("parent")
            .order_by("parent__sort_order", "sort_order", "name"))


class MetadataFields(forms.Form):
    year = forms.IntegerField(required=False, min_value=1870, max_value=2200)
    resolution = forms.CharField(required=False, max_length=16)
    video_codec = forms.CharField(required=False, max_length=32)
    audio_codec = forms.CharField(required=False, max_length=32)
    source = forms.CharField(required=False, max_length=32, label="Source (BluRay, WEB...)")
    container = forms.CharField(required=False, max_length=16)
    release_group = forms.CharField(required=False, max_length=64)
    hdr_format = forms.CharField(required=False, max_length=32)
    runtime_minutes = forms.IntegerField(required=False, min_value=0, max_value=100000)
    imdb_id = forms.CharField(required=False, max_length=16, label="IMDb id",
                              validators=[RegexValidator(r"^tt[0-9]{7,10}$",
                                                         "An IMDb id looks like tt0123456.")])
    tmdb_id = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1,
                                 label="TMDB id")
    tvdb_id = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1,
                                 label="TVDB id")
    igdb_id = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1,
                                 label="IGDB id")
    musicbrainz_id = forms.UUIDField(required=False, label="MusicBrainz id")

    def metadata(self) -> dict[str, Any]:
        data = {name: self.cleaned_data.get(name) for name in MetadataFields.base_fields}
        # Text columns store "" for "not given"; numbers and ids store NULL.
        return {k: ("" if v is None and k in TEXT_METADATA else v) for k, v in data.items()}


TEXT_METADATA = frozenset({"resolution", "video_codec", "audio_codec", "source", "container",
                           "release_group", "hdr_format", "imdb_id"})


class TorrentListingForm(MetadataFields):
    title = forms.CharField(max_length=255, required=False,
                            help_text="Leave empty to use the torrent's name.")
    category = CategoryChoiceField(queryset=TorrentCategory.objects.none())
    description = forms.CharField(widget=forms.Textarea, required=False, max_length=65536,
                                  help_text="Basic HTML: b, i, a, lists, quotes, code.")
    is_anonymous = forms.BooleanField(required=False, label="Upload anonymously")

    field_order = ["title", "category", "description", "is_anonymous"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ModelChoiceField)
        category.queryset = _categories()


class UploadForm(TorrentListingForm):
    torrent_file = forms.FileField(label=".torrent file")
    tags = forms.CharField(required=False, max_length=500,
                           help_text="Comma separated: science.fiction, 1080p")

    field_order = ["torrent_file", *TorrentListingForm.field_order, "tags"]

    def clean_torrent_file(self) -> bytes:
        upload = self.cleaned_data["torrent_file"]
        if upload.size > settings.TORRENT_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                f"The .torrent file is larger than {settings.TORRENT_UPLOAD_MAX_BYTES} bytes.")
        return upload.read()

    def tag_list(self) -> list[str]:
        return [t for t in (s.strip() for s in self.cleaned_data["tags"].split(",")) if t][:20]


class EditForm(TorrentListingForm):
    title = forms.CharField(max_length=255)
    is_freeleech = forms.BooleanField(required=False, label="Freeleech (staff)")


class ModerateForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(required=False, max_length=2000)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=2000)


class TagForm(forms.Form):
    tag = forms.CharField(max_length=64)


class TagVoteForm(forms.Form):
    vote = forms.TypedChoiceField(choices=[("1", "up"), ("-1", "down")], coerce=int)


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea, max_length=65536)
    quoted = forms.UUIDField(required=False, widget=forms.HiddenInput)


class BrowseForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)
    category = forms.SlugField(required=False)
    tags = forms.CharField(required=False, max_length=300)
    freeleech = forms.BooleanField(required=False)
    uploader = forms.CharField(required=False, max_length=32)
    resolution = forms.CharField(required=False, max_length=16)
    source = forms.CharField(required=False, max_length=32)
    video_codec = forms.CharField(required=False, max_length=32)
    release_group = forms.CharField(required=False, max_length=64)
    sort = forms.ChoiceField(required=False, choices=[(k, k) for k in [*SORTS, "relevance"]])
    order = forms.ChoiceField(required=False, choices=[("desc", "desc"), ("asc", "asc")])
    status = forms.ChoiceField(required=False, choices=[("", "any"), ("pending", "pending"),
                                                        ("approved", "approved"),
                                                        ("rejected", "rejected")])
    page = forms.IntegerField(required=False, min_value=1)

    def filters(self) -> BrowseFilters:
        d = self.cleaned_data

        tags: list[str] = []
        for raw in (d.get("tags") or "").split(","):
            if raw.strip():
                try:
                    tags.append(tag_normalize(raw))
                except ValidationFailed:
                    continue
        return BrowseFilters(
            q=d.get("q") or "", category=d.get("category") or "", tags=tuple(tags[:5]),
            freeleech=bool(d.get("freeleech")), uploader=d.get("uploader") or "",
            metadata=tuple((k, d.get(k) or "") for k in
                           ("resolution", "source", "video_codec", "release_group")),
            sort=d.get("sort") or ("relevance" if d.get("q") else "time"),
            order=d.get("order") or "desc", status=d.get("status") or "")
