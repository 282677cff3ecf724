"""Avatar images: what an upload is, read from its own bytes, and a clean copy to store.

The type and dimensions come from the image's own header as Pillow reads it, never from
the name or the browser's content type; only PNG, JPEG, GIF and WebP are taken, and the
dimensions are checked before any pixel is decoded (a small file can claim 60,000 x
60,000 pixels). The image is then decoded whole (a truncated or corrupt file is refused)
and encoded again from its pixels alone: what is stored carries no EXIF (a phone's photo
says where it was taken), no comments or text chunks, and nothing appended after the
image (a file that is also HTML or a ZIP). Animated GIF and WebP keep their frames, up to
MAX_FRAMES (and MAX_ANIMATION_PIXELS in all). The file is served with its checked type
and nosniff (frontend.views).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageSequence, UnidentifiedImageError

from domain.errors import ValidationFailed


@dataclass(frozen=True)
class ImageInfo:
    kind: str  # the file extension: png, gif, jpg, webp
    content_type: str
    width: int
    height: int


CONTENT_TYPES = {"png": "image/png", "gif": "image/gif", "jpg": "image/jpeg",
                 "webp": "image/webp"}
_KINDS = {"PNG": "png", "GIF": "gif", "JPEG": "jpg", "WEBP": "webp"}
MAX_FRAMES = 120
# What an animation may decode to in all (frames x width x height), about 32 MiB as RGBA.
MAX_ANIMATION_PIXELS = 8_000_000

_NOT_AN_IMAGE = "An avatar must be a PNG, JPEG, GIF or WebP image."


def _refuse(message: str = _NOT_AN_IMAGE) -> ValidationFailed:
    return ValidationFailed(message, field="avatar")


@dataclass(frozen=True)
class CleanImage:
    info: ImageInfo
    data: bytes  # encoded again from the pixels: what is stored


def _frames(image: Image.Image) -> list[tuple[Image.Image, int]]:
    frames: list[tuple[Image.Image, int]] = []
    width, height = image.size
    for frame in ImageSequence.Iterator(image):
        if len(frames) == MAX_FRAMES or (len(frames) + 1) * width * height > (
                MAX_ANIMATION_PIXELS):
            raise _refuse(f"An animated avatar has at most "
                          f"{min(MAX_FRAMES, MAX_ANIMATION_PIXELS // (width * height))} "
                          "frames at this size.")
        copy = frame.convert("RGBA")
        frames.append((copy, int(frame.info.get("duration", 100) or 100)))
    return frames


def _encode(image: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    frames = _frames(image) if kind in ("gif", "webp") else []
    if len(frames) > 1:
        first, *rest = (f for f, _ in frames)
        params = {"save_all": True, "append_images": rest,
                  "duration": [d for _, d in frames], "loop": 0}
        if kind == "gif":
            first.save(out, "GIF", disposal=2, **params)
        else:
            first.save(out, "WEBP", lossless=True, **params)
        return out.getvalue()
    if kind == "jpg":
        image.convert("RGB").save(out, "JPEG", quality=90)
    elif kind == "png":
        pixels = image.convert("RGBA" if "transparency" in image.info
                               or image.mode in ("RGBA", "LA", "PA") else "RGB")
        pixels.save(out, "PNG", optimize=True)
    elif kind == "gif":
        image.convert("RGBA").save(out, "GIF")
    else:
        image.convert("RGBA").save(out, "WEBP", lossless=True)
    return out.getvalue()


def avatar_clean(data: bytes, *, max_bytes: int, max_side: int) -> CleanImage:
    """What `data` is and a clean copy of it, or ValidationFailed (on the "avatar" field)
    saying why not."""
    if not data:
        raise _refuse("The file is empty.")
    if len(data) > max_bytes:
        raise _refuse(f"An avatar is at most {max_bytes // 1024} KiB; this one is "
                      f"{-(-len(data) // 1024)} KiB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(_KINDS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _refuse(f"An avatar is at most {max_side}x{max_side} pixels.") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise _refuse() from exc
    kind = _KINDS.get(image.format or "")
    width, height = image.size
    if kind is None or width < 1 or height < 1:
        raise _refuse()
    if width > max_side or height > max_side:
        raise _refuse(f"An avatar is at most {max_side}x{max_side} pixels; this one is "
                      f"{width}x{height}.")
    try:
        image.load()
        clean = _encode(image, kind)
    except ValidationFailed:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise _refuse("The image could not be read whole: it is truncated or damaged."
                      ) from exc
    return CleanImage(
        info=ImageInfo(kind=kind, content_type=CONTENT_TYPES[kind], width=width,
                       height=height),
        data=clean)
