"""Avatar images: what an upload is, read from its own bytes.

Pillow is not installed here, so the type comes from the file's magic bytes and the
dimensions from its header (PNG IHDR, GIF logical screen, JPEG start-of-frame, WebP
VP8/VP8L/VP8X), never from the name or the browser's content type. Anything else, or a
header that does not parse, is refused. The file is stored as uploaded (no re-encoding:
that would need Pillow) under MEDIA_ROOT and served with its checked type and nosniff.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from domain.errors import ValidationFailed


@dataclass(frozen=True)
class ImageInfo:
    kind: str  # the file extension: png, gif, jpg, webp
    content_type: str
    width: int
    height: int


CONTENT_TYPES = {"png": "image/png", "gif": "image/gif", "jpg": "image/jpeg",
                 "webp": "image/webp"}


def _png(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _gif(data: bytes) -> tuple[int, int] | None:
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 10:
        return None
    width, height = struct.unpack("<HH", data[6:10])
    return width, height


# Start-of-frame markers (baseline, extended, progressive, lossless...), not DHT/JPG/DAC.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(data: bytes) -> tuple[int, int] | None:
    if data[:3] != b"\xff\xd8\xff":
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if length < 2:
            return None
        if marker in _SOF:
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def _webp(data: bytes) -> tuple[int, int] | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP" or len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


_READERS = (("png", _png), ("gif", _gif), ("jpg", _jpeg), ("webp", _webp))


def image_info(data: bytes, *, max_bytes: int, max_side: int) -> ImageInfo:
    """What `data` is, or ValidationFailed (on the "avatar" field) saying why not."""
    if not data:
        raise ValidationFailed("The file is empty.", field="avatar")
    if len(data) > max_bytes:
        raise ValidationFailed(
            f"An avatar is at most {max_bytes // 1024} KiB; this one is "
            f"{-(-len(data) // 1024)} KiB.", field="avatar")
    for kind, reader in _READERS:
        try:
            size = reader(data)
        except (struct.error, IndexError):
            size = None
        if size is None:
            continue
        width, height = size
        if width < 1 or height < 1:
            break
        if width > max_side or height > max_side:
            raise ValidationFailed(
                f"An avatar is at most {max_side}x{max_side} pixels; this one is "
                f"{width}x{height}.", field="avatar")
        return ImageInfo(kind=kind, content_type=CONTENT_TYPES[kind], width=width,
                         height=height)
    raise ValidationFailed("An avatar must be a PNG, JPEG, GIF or WebP image.",
                           field="avatar")
