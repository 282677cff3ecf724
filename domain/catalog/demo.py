"""Real .torrent info dictionaries for demo data (BEP 3 v1, BEP 52 v2, and hybrid v1 + v2).

The payload is imaginary, so piece hashes (v1) and merkle roots (v2) are random bytes of
the right length and count; everything else is what a client would write: a bencoded info
dict with sorted keys, power-of-two piece lengths, `private` and `source` set, hybrid
torrents padded so every file starts on a piece boundary. The info hashes are computed
from the exact bytes stored (sha1 for v1, sha256 for v2), as the tracker will see them.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import bencodepy

MIN_PIECE_LENGTH = 16 * 1024
MAX_PIECE_LENGTH = 16 * 1024 * 1024
TARGET_MAX_PIECES = 2000
V1_PIECE_HASH_BYTES = 20
V2_ROOT_BYTES = 32


@dataclass(frozen=True)
class BuiltFile:
    path: str  # relative to the torrent's root, "/"-separated (the file name when single-file)
    size: int
    pieces_root: bytes | None = None  # v2 / hybrid, for non-empty files


@dataclass(frozen=True)
class BuiltTorrent:
    version: str  # "v1", "v2" or "hybrid" (catalog.TorrentVersion values)
    name: str
    piece_length: int
    info: bytes  # the bencoded info dictionary, byte for byte
    info_hash_v1: bytes | None
    info_hash_v2: bytes | None
    files: tuple[BuiltFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def file_count(self) -> int:
        return len(self.files)


def choose_piece_length(total_size: int) -> int:
    """The smallest power of two (16 KiB .. 16 MiB) giving at most ~2000 pieces."""
    piece = MIN_PIECE_LENGTH
    while piece < MAX_PIECE_LENGTH and math.ceil(total_size / piece) > TARGET_MAX_PIECES:
        piece *= 2
    return piece


def _tree_insert(tree: dict[str, Any], parts: Sequence[str], leaf: dict[str, Any]) -> None:
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = {"": leaf}


def build_torrent(name: str, files: Sequence[tuple[str, int]], *, version: str = "v1",
                  rng: random.Random, source: str = "", private: bool = True,
                  piece_length: int | None = None) -> BuiltTorrent:
    """Build the info dict for `files` ([(relative path, size)]).

    One file whose path equals `name` makes a single-file torrent; anything else is a
    multi-file torrent whose root directory is `name`. v2 and hybrid torrents list their
    files in file-tree order (sorted by path), as BEP 52 requires.
    """
    if version not in {"v1", "v2", "hybrid"}:
        raise ValueError(f"unknown torrent version {version!r}")
    if not files:
        raise ValueError("a torrent needs at least one file")
    for path, size in files:
        if not path or path.startswith("/") or size < 0:
            raise ValueError(f"bad file entry {path!r} ({size})")
    if version != "v1":
        # A v2 file tree is a bencoded dict, so its files come in byte order of their path
        # components; a hybrid's v1 file list must list them in that same order.
        files = sorted(files, key=lambda f: [part.encode() for part in f[0].split("/")])
    single = len(files) == 1 and files[0][0] == name
    total = sum(size for _, size in files)
    piece_length = piece_length or choose_piece_length(total)
    if piece_length < MIN_PIECE_LENGTH or piece_length & (piece_length - 1):
        raise ValueError("piece length must be a power of two of at least 16 KiB")

    info: dict[str, Any] = {"name": name, "piece length": piece_length}
    if private:
        info["private"] = 1
    if source:
        info["source"] = source

    roots = [rng.randbytes(V2_ROOT_BYTES) if size > 0 else None for _, size in files]

    if version in {"v1", "hybrid"}:
        v1_total = 0
        if single:
            info["length"] = files[0][1]
            v1_total = files[0][1]
        else:
            entries: list[dict[str, Any]] = []
            for index, (path, size) in enumerate(files):
                entries.append({"length": size, "path": path.split("/")})
                v1_total += size
                # Hybrid: pad so the next file starts on a piece boundary (BEP 47 "p").
                pad = (-size) % piece_length
                if version == "hybrid" and pad and index < len(files) - 1:
                    entries.append({"attr": "p", "length": pad, "path": [".pad", str(pad)]})
                    v1_total += pad
            info["files"] = entries
        info["pieces"] = rng.randbytes(V1_PIECE_HASH_BYTES
                                       * max(1, math.ceil(v1_total / piece_length)))

    if version in {"v2", "hybrid"}:
        tree: dict[str, Any] = {}
        for (path, size), root in zip(files, roots, strict=True):
            leaf: dict[str, Any] = {"length": size}
            if root is not None:
                leaf["pieces root"] = root
            _tree_insert(tree, path.split("/"), leaf)
        info["file tree"] = tree
        info["meta version"] = 2

    encoded = bencodepy.encode(info)
    has_v1 = version in {"v1", "hybrid"}
    has_v2 = version in {"v2", "hybrid"}
    return BuiltTorrent(
        version=version,
        name=name,
        piece_length=piece_length,
        info=encoded,
        info_hash_v1=hashlib.sha1(encoded).digest() if has_v1 else None,  # noqa: S324
        info_hash_v2=hashlib.sha256(encoded).digest() if has_v2 else None,
        files=tuple(BuiltFile(path=path, size=size, pieces_root=root if has_v2 else None)
                    for (path, size), root in zip(files, roots, strict=True)),
    )
