"""Forms of the collection pages: shape only; the domain decides who may do what."""

from __future__ import annotations

from typing import Any

from django import forms

from domain.catalog.collection_selectors import COLLECTION_SORTS, CollectionFilters
from domain.catalog.models import CollectionType, TorrentCategory
from frontend.torrents.forms import CategoryChoiceField


class CollectionBrowseForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)
    collection_type = forms.ChoiceField(required=False,
                                        choices=[("", "Any kind"), *CollectionType.choices])
    category = forms.SlugField(required=False, max_length=64)
    owner = forms.CharField(required=False, max_length=32)
    sort = forms.ChoiceField(required=False,
                             choices=[(k, k) for k in [*COLLECTION_SORTS, "relevance"]])
    page = forms.IntegerField(required=False, min_value=1, max_value=100000)

    def filters(self) -> CollectionFilters:
        d = self.cleaned_data
        return CollectionFilters(q=d.get("q") or "",
                                 collection_type=d.get("collection_type") or "",
                                 category=d.get("category") or "", owner=d.get("owner") or "",
                                 sort=d.get("sort") or "updated")


class CollectionForm(forms.Form):
    name = forms.CharField(max_length=255)
    description = forms.CharField(widget=forms.Textarea, required=False, max_length=20000)
    collection_type = forms.ChoiceField(choices=CollectionType.choices, label="Kind",
                                        initial=CollectionType.PERSONAL)
    category = CategoryChoiceField(queryset=TorrentCategory.objects.none(), required=False)
    is_public = forms.BooleanField(required=False, initial=True, label="Public")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ModelChoiceField)
        category.queryset = (TorrentCategory.objects.filter(is_active=True)
                             .select_related("parent")
                             .order_by("parent__sort_order", "sort_order", "name"))


class AddTorrentForm(forms.Form):
    torrent = forms.CharField(max_length=300, label="Torrent (page link or id)")
    note = forms.CharField(max_length=255, required=False)


class ReorderForm(forms.Form):
    order = forms.CharField(widget=forms.Textarea, max_length=200_000,
                            help_text="Torrent ids, one a line, in the new order.")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500)


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea, max_length=65536)
    quoted = forms.UUIDField(required=False, widget=forms.HiddenInput)
