"""Real .torrent files for tests, made by libtorrent (the PyPI wheel), the way a member's
client would make them: v1, v2 and hybrid, from real files on disk."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import bencodepy
import libtorrent as lt

if TYPE_CHECKING:
    from libtorrent import TorrentFileDict

FLAGS = {"v1": lt.create_torrent.v1_only, "v2": lt.create_torrent.v2_only, "hybrid": 0}


def libtorrent_make(version: str = "v1", *, name: str = "Some.Release.2024.1080p-GRP",
                    files: dict[str, int] | None = None, private: bool = True,
                    piece_length: int = 16384, source: str = "") -> bytes:
    """Bytes of a .torrent that libtorrent creates over random content."""
    files = files or {"video.mkv": 70_000, "sub/info.nfo": 1_200}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / name
        for rel, size in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(size))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            fs = lt.file_storage()
            lt.add_files(fs, str(root))
            ct = lt.create_torrent(fs, piece_length, flags=FLAGS[version])
        ct.set_priv(private)
        ct.add_tracker("http://tracker.example.test/announce")
        ct.set_creator("libtorrent")
        lt.set_piece_hashes(ct, tmp)
        entry = ct.generate()
        if source:
            entry[b"info"][b"source"] = source.encode()
        return lt.bencode(entry)


def libtorrent_hashes(data: bytes) -> tuple[bytes | None, bytes | None]:
    """The info hashes libtorrent itself reads from a .torrent (v1, v2)."""
    # bdecode is typed as any bencoded value; a .torrent decodes to the torrent dict.
    decoded = cast("TorrentFileDict", lt.bdecode(data))
    ih = lt.torrent_info(decoded).info_hashes()
    return (ih.v1.to_bytes() if ih.has_v1() else None,
            ih.v2.to_bytes() if ih.has_v2() else None)


def bencode_torrent(info: dict[bytes, Any], **top: Any) -> bytes:
    """A hand-built torrent, for the refusals a real tool would never produce."""
    torrent: dict[bytes | str, Any] = {b"announce": b"http://x/announce", b"info": info}
    torrent.update(top)
    return bencodepy.encode(torrent)


def v1_info(**over: Any) -> dict[bytes, Any]:
    info: dict[bytes, Any] = {b"name": b"hand.made", b"piece length": 16384,
                              b"length": 40000, b"pieces": b"\x01" * 60, b"private": 1}
    info.update({k.replace("_", " ").encode(): v for k, v in over.items()})
    return {k: v for k, v in info.items() if v is not None}
