"""The .torrent parser: real files from libtorrent, every refusal, and fuzzing."""

from __future__ import annotations

import contextlib
import hashlib

import bencodepy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.catalog.torrentfile import (
    TorrentFileInvalid,
    announce_url,
    torrent_file_build,
    torrent_parse,
)
from domain.errors import ValidationFailed
from tests.domain.catalog.factories import (
    bencode_torrent,
    libtorrent_hashes,
    libtorrent_make,
    v1_info,
)


@pytest.mark.parametrize("version", ["v1", "v2", "hybrid"])
def test_libtorrent_torrents_parse_with_libtorrents_own_hashes(version):
    raw = libtorrent_make(version, files={"a/video.mkv": 70_000, "b.nfo": 1_000})

    parsed = torrent_parse(raw)

    assert parsed.version == version
    assert (parsed.info_hash_v1, parsed.info_hash_v2) == libtorrent_hashes(raw)
    assert sorted((f.path, f.size) for f in parsed.files) == [("a/video.mkv", 70_000),
                                                              ("b.nfo", 1_000)]
    assert parsed.size == 71_000
    assert parsed.name == "Some.Release.2024.1080p-GRP"
    assert (parsed.piece_layers is not None) == (version != "v1")


@pytest.mark.parametrize("version", ["v1", "v2", "hybrid"])
def test_rebuilt_file_keeps_both_hashes_and_carries_the_passkey(version, settings):
    settings.SITE_URL = "https://tracker.example.test"
    raw = libtorrent_make(version)
    parsed = torrent_parse(raw)

    out = torrent_file_build(info_bytes=parsed.info_bytes, piece_layers=parsed.piece_layers,
                             announce=announce_url("ab" * 16))

    assert libtorrent_hashes(out) == libtorrent_hashes(raw)
    assert bencodepy.decode(out)[b"announce"] == (
        b"https://tracker.example.test/announce/" + b"ab" * 16)


def test_single_file_v1_uses_its_name_as_path():
    parsed = torrent_parse(bencode_torrent(v1_info()))

    assert [(f.path, f.size) for f in parsed.files] == [("hand.made", 40000)]


def test_hash_is_over_the_original_bytes_even_with_unsorted_keys():
    # bencode requires sorted keys, but files in the wild break the rule; re-encoding
    # would sort them and change the hash a client computes.
    info = (b"d6:lengthi40000e4:name9:hand.made7:privatei1e12:piece lengthi16384e"
            b"6:pieces60:" + b"\x01" * 60 + b"e")
    raw = b"d8:announce3:url4:info" + info + b"e"

    parsed = torrent_parse(raw)

    assert parsed.info_bytes == info
    assert parsed.info_hash_v1 == hashlib.sha1(info).digest()  # noqa: S324


REFUSALS = [
    ("not bencode", b"this is not a torrent", "not bencoded"),
    ("truncated", bencode_torrent(v1_info())[:-3], "not bencoded"),
    ("not a dict", bencodepy.encode([1, 2]), "not a dictionary"),
    ("no info", bencodepy.encode({b"announce": b"x"}), "no info dictionary"),
    ("info not a dict", bencodepy.encode({b"info": b"x"}), "no info dictionary"),
    ("piece length not power of two", bencode_torrent(v1_info(piece_length=20000)),
     "piece length"),
    ("piece length too small", bencode_torrent(v1_info(piece_length=1024)), "piece length"),
    ("piece length missing", bencode_torrent(v1_info(piece_length=None)), "piece length"),
    ("pieces not multiple of 20", bencode_torrent(v1_info(pieces=b"\x01" * 59)),
     "multiple of 20"),
    ("piece count mismatch", bencode_torrent(v1_info(pieces=b"\x01" * 40)), "piece count"),
    ("dot dot path", bencode_torrent(v1_info(length=None, files=[
        {b"length": 40000, b"path": [b"..", b"etc", b"passwd"]}])), "'..'"),
    ("absolute path", bencode_torrent(v1_info(length=None, files=[
        {b"length": 40000, b"path": [b"/etc", b"passwd"]}])), "absolute"),
    ("slash inside part", bencode_torrent(v1_info(length=None, files=[
        {b"length": 40000, b"path": [b"a/../../b"]}])), "absolute"),
    ("dot dot name", bencode_torrent(v1_info(name=b"..")), "'..'"),
    ("oversize file", bencode_torrent(v1_info(length=2**50, pieces=b"\x01" * 20)),
     "larger than the site's limit"),
    ("negative length", bencode_torrent(v1_info(length=-1)), "non-negative"),
    ("not private", bencode_torrent(v1_info(private=None)), "not marked private"),
    ("private 0", bencode_torrent(v1_info(private=0)), "not marked private"),
    ("no name", bencode_torrent(v1_info(name=b"")), "no name"),
    ("name not utf-8", bencode_torrent(v1_info(name=b"\xff\xfe")), "UTF-8"),
    ("no pieces, no tree", bencode_torrent(v1_info(pieces=None)), "neither v1 pieces"),
    ("duplicate path", bencode_torrent(v1_info(length=None, pieces=b"\x01" * 60, files=[
        {b"length": 20000, b"path": [b"a"]}, {b"length": 20000, b"path": [b"a"]}])),
     "same file path twice"),
    ("bad meta version", bencode_torrent(v1_info(meta_version=3)), "meta version"),
    ("v2 tree without root", bencode_torrent({
        b"name": b"x", b"piece length": 16384, b"private": 1, b"meta version": 2,
        b"file tree": {b"f": {b"": {b"length": 5}}}}), "pieces root"),
    ("v2 tree with dot dot", bencode_torrent({
        b"name": b"x", b"piece length": 16384, b"private": 1, b"meta version": 2,
        b"file tree": {b"..": {b"f": {b"": {b"length": 0}}}}}), "'..'"),
]


@pytest.mark.parametrize(("label", "data", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_each_refusal_has_its_clear_message(label, data, message):
    with pytest.raises(TorrentFileInvalid) as caught:
        torrent_parse(data)

    assert message in caught.value.message
    assert isinstance(caught.value, ValidationFailed)
    assert caught.value.field == "torrent_file"


def test_oversize_torrent_file_is_refused_before_decoding(settings):
    settings.TORRENT_UPLOAD_MAX_BYTES = 1000
    with pytest.raises(TorrentFileInvalid, match="larger than 1000 bytes"):
        torrent_parse(b"d" + b"0:" * 600 + b"e")


def test_hybrid_whose_v1_and_v2_lists_differ_is_refused():
    raw = libtorrent_make("hybrid", files={"a.bin": 20_000, "b.bin": 20_000})
    meta = bencodepy.decode(raw)
    tree = meta[b"info"][b"file tree"]
    tree[b"c.bin"] = tree.pop(b"b.bin")
    with pytest.raises(TorrentFileInvalid, match="different files"):
        torrent_parse(bencodepy.encode(meta))


def test_non_private_libtorrent_file_is_refused():
    with pytest.raises(TorrentFileInvalid, match="not marked private"):
        torrent_parse(libtorrent_make("v1", private=False))


VALID = libtorrent_make("hybrid", files={"x/a.bin": 40_000, "b.txt": 3})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes_only_raise_the_parsers_error(data):
    with contextlib.suppress(TorrentFileInvalid):
        torrent_parse(data)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)),
                min_size=1, max_size=8),
       st.integers(0, len(VALID)))
def test_fuzz_mutated_real_torrents_only_raise_the_parsers_error(flips, cut):
    data = bytearray(VALID[:cut] if cut < 40 else VALID)
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    try:
        parsed = torrent_parse(bytes(data))
    except TorrentFileInvalid:
        return
    # Whatever survives mutation must still be self-consistent.
    assert parsed.info_hash_v1 or parsed.info_hash_v2
    assert parsed.info_bytes in bytes(data)


bencode_values = st.recursive(
    st.integers(-5, 2**40) | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from([b"name", b"length", b"path", b"files", b"pieces",
                                       b"piece length", b"private", b"meta version",
                                       b"file tree", b"", b"pieces root", b"attr"]),
                      inner, max_size=6),
    max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from([b"name", b"length", b"files", b"pieces",
                                        b"piece length", b"private", b"meta version",
                                        b"file tree"]), bencode_values, max_size=8))
def test_fuzz_structured_info_dicts_only_raise_the_parsers_error(info):
    with contextlib.suppress(TorrentFileInvalid):
        torrent_parse(bencodepy.encode({b"info": info}))


@pytest.mark.django_db
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)),
                min_size=1, max_size=4))
def test_fuzzed_uploads_leave_no_partial_rows(uploader, flips):
    from domain.catalog.models import Torrent, TorrentCategory, TorrentFile
    from domain.catalog.services import torrent_upload
    from domain.search.models import SearchIndexQueueItem

    data = bytearray(VALID)
    for pos, value in flips:
        data[pos] = value
    counts = (Torrent.objects.count(), TorrentFile.objects.count(),
              SearchIndexQueueItem.objects.count())
    try:
        torrent_upload(uploader=uploader, data=bytes(data),
                       category_id=TorrentCategory.objects.get(slug="movies-hd").pk)
    except ValidationFailed:
        assert (Torrent.objects.count(), TorrentFile.objects.count(),
                SearchIndexQueueItem.objects.count()) == counts
    else:
        assert Torrent.objects.count() == counts[0] + 1
