"""Bencoding (BEP 3) of replies: dictionary keys sorted as raw bytes, as the BEP requires
and libtorrent checks."""

from __future__ import annotations

from typing import Any


def _encode(value: Any, out: list[bytes]) -> None:
    if isinstance(value, bytes):
        out.append(b"%d:%s" % (len(value), value))
    elif isinstance(value, str):
        raw = value.encode()
        out.append(b"%d:%s" % (len(raw), raw))
    elif isinstance(value, bool):
        out.append(b"i1e" if value else b"i0e")
    elif isinstance(value, int):
        out.append(b"i%de" % value)
    elif isinstance(value, list | tuple):
        out.append(b"l")
        for item in value:
            _encode(item, out)
        out.append(b"e")
    elif isinstance(value, dict):
        out.append(b"d")
        items = [(k.encode() if isinstance(k, str) else k, v) for k, v in value.items()]
        for key, item in sorted(items):
            out.append(b"%d:%s" % (len(key), key))
            _encode(item, out)
        out.append(b"e")
    else:
        raise TypeError(f"cannot bencode {type(value).__name__}")


def bencode(value: Any) -> bytes:
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def failure(reason: str) -> bytes:
    return bencode({"failure reason": reason})
