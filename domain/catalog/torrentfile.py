"""Reading and re-issuing .torrent files (BitTorrent v1, v2 and hybrid; BEP 3, 27, 47, 52).

`torrent_parse` takes the uploaded bytes, decodes them with bencode.py and validates them.
The info hashes are computed over the info dictionary's bytes exactly as they appear in the
file (a slice of the original, never a re-encoding): a client hashes what it was given, so
re-encoding a dict whose keys were not sorted would give a hash no client agrees with.
Every rejection raises `TorrentFileInvalid` with a message the uploader can act on; nothing
else escapes (a hypothesis fuzz test holds us to that).

`torrent_file_build` wraps the stored info bytes (and v2 piece layers) with a member's
announce URL, so the downloaded file has the same info hashes as the uploaded one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import bencodepy
from django.conf import settings

from domain.errors import ValidationFailed

MIN_PIECE_LENGTH = 16 * 1024
MAX_PIECE_LENGTH = 256 * 1024 * 1024


class TorrentFileInvalid(ValidationFailed):
    """The uploaded file is not a torrent this site accepts."""

    code = "torrent_invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="torrent_file")


@dataclass(frozen=True)
class TorrentFileEntry:
    path: str
    size: int
    pieces_root: bytes | None = None


@dataclass(frozen=True)
class ParsedTorrent:
    info_bytes: bytes
    info_hash_v1: bytes | None
    info_hash_v2: bytes | None
    version: str
    name: str
    piece_length: int
    files: list[TorrentFileEntry]
    size: int
    source: str
    piece_layers: bytes | None = None
    announce: str = ""
    comment: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _value_end(data: bytes, pos: int) -> int:
    """Offset just past the bencoded value starting at `pos`. Only called on data that
    bencode.py has already accepted, so it need not re-validate."""
    c = data[pos:pos + 1]
    if c == b"i":
        return data.index(b"e", pos) + 1
    if c in (b"l", b"d"):
        pos += 1
        while data[pos:pos + 1] != b"e":
            if c == b"d":
                pos = _value_end(data, pos)  # the key
            pos = _value_end(data, pos)
        return pos + 1
    colon = data.index(b":", pos)
    return colon + 1 + int(data[pos:colon])


def _top_level_spans(data: bytes) -> dict[bytes, tuple[int, int]]:
    """Byte ranges of each top-level value of a bencoded dict."""
    spans: dict[bytes, tuple[int, int]] = {}
    pos = 1
    while data[pos:pos + 1] != b"e":
        key_end = _value_end(data, pos)
        colon = data.index(b":", pos)
        key = data[colon + 1:key_end]
        value_end = _value_end(data, key_end)
        spans[key] = (key_end, value_end)
        pos = value_end
    return spans


def _text(value: Any, what: str) -> str:
    if not isinstance(value, bytes):
        raise TorrentFileInvalid(f"The torrent's {what} is not a string.")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise TorrentFileInvalid(f"The torrent's {what} is not valid UTF-8.") from None


def _path_component(value: Any) -> str:
    part = _text(value, "file path")
    if part in ("", ".", ".."):
        raise TorrentFileInvalid(
            "A file path in the torrent contains '..', '.' or an empty part; "
            "paths must stay inside the torrent's folder.")
    if part.startswith("/") or "/" in part or "\\" in part or "\x00" in part:
        raise TorrentFileInvalid(
            "A file path in the torrent is absolute or contains a slash, backslash or "
            "NUL inside a path part.")
    return part


def _check_size(size: Any) -> int:
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise TorrentFileInvalid("A file length in the torrent is not a non-negative integer.")
    limit = settings.TORRENT_MAX_CONTENT_BYTES
    if size > limit:
        raise TorrentFileInvalid(
            f"A file in the torrent is larger than the site's limit of {limit} bytes.")
    return size


def _v1_files(info: dict[bytes, Any], name: str) -> list[TorrentFileEntry]:
    if b"files" in info:
        entries = info[b"files"]
        if not isinstance(entries, list) or not entries:
            raise TorrentFileInvalid("The torrent's file list is empty or not a list.")
        files = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise TorrentFileInvalid("An entry of the torrent's file list is not a dict.")
            parts = entry.get(b"path")
            if not isinstance(parts, list) or not parts:
                raise TorrentFileInvalid("A file in the torrent has no path.")
            size = _check_size(entry.get(b"length"))
            attr = entry.get(b"attr", b"")
            # BEP 47 pad files align pieces for hybrid torrents; they are not content.
            is_pad = isinstance(attr, bytes) and b"p" in attr
            path = "/".join(_path_component(p) for p in parts)
            files.append(TorrentFileEntry(path=path, size=size,
                                          pieces_root=b"pad" if is_pad else None))
        return files
    if b"length" not in info:
        raise TorrentFileInvalid("The torrent has neither a length nor a file list.")
    return [TorrentFileEntry(path=name, size=_check_size(info[b"length"]))]


def _v2_files(tree: Any) -> list[TorrentFileEntry]:
    if not isinstance(tree, dict) or not tree:
        raise TorrentFileInvalid("The torrent's v2 file tree is empty or not a dict.")
    files: list[TorrentFileEntry] = []
    stack: list[tuple[list[str], dict[bytes, Any]]] = [([], tree)]
    while stack:
        prefix, node = stack.pop()
        for key, child in sorted(node.items()):
            if not isinstance(child, dict):
                raise TorrentFileInvalid("The torrent's v2 file tree has a malformed node.")
            if key == b"":
                if not prefix:
                    raise TorrentFileInvalid("The torrent's v2 file tree has a nameless file.")
                size = _check_size(child.get(b"length"))
                root = child.get(b"pieces root")
                if size > 0 and (not isinstance(root, bytes) or len(root) != 32):
                    raise TorrentFileInvalid("A file in the v2 file tree has no 32-byte "
                                             "pieces root.")
                files.append(TorrentFileEntry(path="/".join(prefix), size=size,
                                              pieces_root=root if size > 0 else None))
                continue
            stack.append(([*prefix, _path_component(key)], child))
    if len(files) > settings.TORRENT_MAX_FILES:
        raise TorrentFileInvalid(
            f"The torrent lists more than {settings.TORRENT_MAX_FILES} files.")
    files.sort(key=lambda f: f.path)
    return files


def torrent_parse(data: bytes) -> ParsedTorrent:
    """Decode and validate an uploaded .torrent; raise TorrentFileInvalid if it is not one."""
    limit = settings.TORRENT_UPLOAD_MAX_BYTES
    if len(data) > limit:
        raise TorrentFileInvalid(f"The .torrent file is larger than {limit} bytes.")
    try:
        meta = bencodepy.decode(data)
    except Exception:
        # bencode.py raises its own error, but also IndexError/ValueError/RecursionError
        # on some truncated or deeply nested input: all mean the same to the uploader.
        raise TorrentFileInvalid("The file is not bencoded data (is it really a .torrent?)."
                                 ) from None
    if not isinstance(meta, dict):
        raise TorrentFileInvalid("The file is bencoded, but not a dictionary: not a torrent.")
    info = meta.get(b"info")
    if not isinstance(info, dict):
        raise TorrentFileInvalid("The torrent has no info dictionary.")
    spans = _top_level_spans(data)
    start, end = spans[b"info"]
    info_bytes = data[start:end]

    name = _text(info.get(b"name"), "name").strip()
    if not name:
        raise TorrentFileInvalid("The torrent has no name.")
    _path_component(info[b"name"])

    piece_length = info.get(b"piece length")
    if (not isinstance(piece_length, int) or isinstance(piece_length, bool)
            or piece_length < MIN_PIECE_LENGTH or piece_length > MAX_PIECE_LENGTH
            or piece_length & (piece_length - 1)):
        raise TorrentFileInvalid(
            f"The torrent's piece length must be a power of two between {MIN_PIECE_LENGTH} "
            f"and {MAX_PIECE_LENGTH} bytes.")

    if info.get(b"private") != 1:
        raise TorrentFileInvalid(
            "The torrent is not marked private. Create it with the private flag set "
            "(mktorrent -p, transmission-create -p, or your client's 'private' option).")

    is_v2 = info.get(b"meta version") == 2
    is_v1 = b"pieces" in info
    if b"meta version" in info and not is_v2:
        raise TorrentFileInvalid("The torrent's meta version is not 2.")
    if not is_v1 and not is_v2:
        raise TorrentFileInvalid("The torrent has neither v1 pieces nor a v2 file tree.")

    v1_files: list[TorrentFileEntry] = []
    if is_v1:
        pieces = info[b"pieces"]
        if not isinstance(pieces, bytes) or len(pieces) % 20:
            raise TorrentFileInvalid(
                "The torrent's pieces are not a multiple of 20 bytes (SHA-1 hashes).")
        v1_files = _v1_files(info, name)
        if len(v1_files) > settings.TORRENT_MAX_FILES:
            raise TorrentFileInvalid(
                f"The torrent lists more than {settings.TORRENT_MAX_FILES} files.")
        total = sum(f.size for f in v1_files)
        if len(pieces) // 20 != -(-total // piece_length):
            raise TorrentFileInvalid(
                "The torrent's piece count does not match its total size and piece length.")

    v2_files: list[TorrentFileEntry] = []
    piece_layers: bytes | None = None
    if is_v2:
        v2_files = _v2_files(info.get(b"file tree"))
        if b"piece layers" in spans:
            if not isinstance(meta[b"piece layers"], dict):
                raise TorrentFileInvalid("The torrent's piece layers are not a dictionary.")
            layers_start, layers_end = spans[b"piece layers"]
            piece_layers = data[layers_start:layers_end]

    content = [f for f in v1_files if f.pieces_root != b"pad"]
    if is_v1 and b"files" in info:
        # Multi-file v1 paths sit inside the torrent's folder; v2 trees are the same.
        content = [TorrentFileEntry(path=f.path, size=f.size) for f in content]
    if is_v1 and is_v2:
        v1_view = sorted((f.path if b"files" in info else name, f.size) for f in content)
        v2_view = sorted((f.path, f.size) for f in v2_files)
        if v1_view != v2_view:
            raise TorrentFileInvalid(
                "The hybrid torrent's v1 file list and v2 file tree describe different files.")
    files = v2_files if is_v2 else content
    paths = [f.path for f in files]
    if len(set(paths)) != len(paths):
        raise TorrentFileInvalid("The torrent lists the same file path twice.")
    size = sum(f.size for f in files)
    if size > settings.TORRENT_MAX_CONTENT_BYTES:
        raise TorrentFileInvalid(
            f"The torrent's content is larger than the site's limit of "
            f"{settings.TORRENT_MAX_CONTENT_BYTES} bytes.")

    source = info.get(b"source", b"")
    return ParsedTorrent(
        info_bytes=info_bytes,
        info_hash_v1=hashlib.sha1(info_bytes).digest() if is_v1 else None,  # noqa: S324
        info_hash_v2=hashlib.sha256(info_bytes).digest() if is_v2 else None,
        version="hybrid" if is_v1 and is_v2 else ("v2" if is_v2 else "v1"),
        name=name,
        piece_length=piece_length,
        files=files,
        size=size,
        source=source.decode("utf-8", "replace")[:64] if isinstance(source, bytes) else "",
        piece_layers=piece_layers,
        announce=(meta[b"announce"].decode("utf-8", "replace")
                  if isinstance(meta.get(b"announce"), bytes) else ""),
        comment=(meta[b"comment"].decode("utf-8", "replace")
                 if isinstance(meta.get(b"comment"), bytes) else ""),
    )


def announce_url(passkey: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/announce/{passkey}"


def torrent_file_build(*, info_bytes: bytes, piece_layers: bytes | None,
                       announce: str) -> bytes:
    """A .torrent around the stored info bytes: keys in bencode's sorted order, the info
    dict and piece layers copied verbatim so the info hashes cannot change."""
    out = [b"d", bencodepy.encode(b"announce"), bencodepy.encode(announce.encode()),
           bencodepy.encode(b"info"), bytes(info_bytes)]
    if piece_layers:
        out += [bencodepy.encode(b"piece layers"), bytes(piece_layers)]
    out.append(b"e")
    return b"".join(out)
