"""Checks on chart bytes that come from outside (uploads, the seed's save_chart)."""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from charts_app.conf import conf
from core.errors import InputError, PayloadTooLarge

CHART_TYPE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_PILLOW_FORMATS = {"PNG": "png", "WEBP": "webp"}


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int


def check_chart_type(chart_type, *, field: str = "chart_type") -> str:
    if not isinstance(chart_type, str) or not CHART_TYPE_RE.fullmatch(chart_type):
        raise InputError(
            "chart type must be 1-32 characters: letters, digits, '_' or '-'", field=field
        )
    return chart_type


def image_inspect(content, *, field: str = "chart_bytes") -> ImageInfo:
    """Check that bytes are one real PNG or WebP image within the size and pixel limits."""
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise InputError(f"chart bytes must be bytes, not {type(content).__name__}", field=field)
    content = bytes(content)
    if not content:
        raise InputError("chart bytes are empty", field=field)
    limit = conf.MAX_UPLOAD_BYTES
    if len(content) > limit:
        raise PayloadTooLarge(
            f"image is {len(content)} bytes; the limit is {limit} bytes", field=field
        )
    max_pixels = conf.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=list(_PILLOW_FORMATS)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise InputError(
                        f"image is {width}x{height} = {width * height} pixels; "
                        f"the limit is {max_pixels} pixels",
                        field=field,
                    )
                fmt = _PILLOW_FORMATS[image.format]
                image.load()  # decodes every pixel: truncated or corrupt data fails here
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(
            f"image has too many pixels; the limit is {max_pixels} pixels", field=field
        ) from None
    except UnidentifiedImageError:
        raise InputError("chart bytes are not a PNG or WebP image", field=field) from None
    except (OSError, SyntaxError, ValueError, EOFError, KeyError) as exc:
        raise InputError(f"image data is corrupt or truncated ({exc})", field=field) from None
    if width < 1 or height < 1:
        raise InputError("image has no pixels", field=field)
    return ImageInfo(format=fmt, width=width, height=height)
