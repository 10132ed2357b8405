"""Uploaded product images: checked, stored through the storage API, resized with Pillow.

`image_upload_check` refuses what should never be stored: a file over
PRODUCT_IMAGE_MAX_BYTES, anything Pillow does not read as JPEG, PNG, WebP or GIF (an SVG
can carry script, so it is refused by name, type and content), and an image with more than
PRODUCT_IMAGE_MAX_PIXELS pixels (a decompression bomb: a small file that would take
gigabytes to decode). Its messages say what to do; they are shown to the person uploading.

`product_image_store_upload` writes the original and one WebP copy per
PRODUCT_IMAGE_WIDTHS width through `default_storage` (the file system under MEDIA_ROOT, or
an object store in production) and composes inside the caller's transaction. A transaction
that rolls back afterwards leaves the written files behind, unreferenced.
"""

from __future__ import annotations

import io
import posixpath
import uuid
import warnings
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from common.errors import ValidationFailed
from shop.models import ProductImage

# Pillow's format name -> the extension the stored original gets.
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
ACCEPTED = "a JPEG, PNG, WebP or GIF image"


@dataclass(frozen=True)
class CheckedImage:
    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return FORMATS[self.format]


def _refuse(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, fields={"upload": [{"code": code, "message": message}]})


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _looks_like_svg(upload: Any) -> bool:
    name = str(getattr(upload, "name", "") or "").lower()
    content_type = str(getattr(upload, "content_type", "") or "").lower()
    upload.seek(0)
    head = upload.read(512).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    upload.seek(0)
    return (
        name.endswith((".svg", ".svgz"))
        or "svg" in content_type
        or head.startswith((b"<?xml", b"<svg", b"<!doctype svg"))
    )


def image_upload_check(upload: Any) -> CheckedImage:
    """Check an uploaded file before anything is stored; raise ValidationFailed in words."""
    limit = settings.PRODUCT_IMAGE_MAX_BYTES
    if upload.size > limit:
        raise _refuse(
            f"The file is {_megabytes(upload.size)}; an image can be at most "
            f"{_megabytes(limit)}. Save it smaller (for example as a JPEG) and upload it again.",
            "file_too_large",
        )
    if _looks_like_svg(upload):
        raise _refuse(
            f"SVG files are not accepted, as they can carry scripts; upload {ACCEPTED}.",
            "svg_refused",
        )
    max_pixels = settings.PRODUCT_IMAGE_MAX_PIXELS
    too_many = _refuse(
        f"The image has too many pixels to process safely (at most {max_pixels:,}); "
        "resize it and upload it again.",
        "too_many_pixels",
    )
    try:
        with warnings.catch_warnings():
            # Pillow warns past its own pixel limit and raises past twice that.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise too_many
                if image.format not in FORMATS:
                    raise _refuse(
                        f"This image format is not accepted; upload {ACCEPTED}.", "format"
                    )
                image_format = image.format
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse(
            f"The file is not an image that can be read; upload {ACCEPTED}.", "not_an_image"
        ) from None
    finally:
        upload.seek(0)
    if width < 1 or height < 1:
        raise _refuse(f"The image is empty; upload {ACCEPTED}.", "not_an_image")
    return CheckedImage(format=image_format, width=width, height=height)


def _absolute(url: str) -> str:
    """Storage URLs may be relative (/media/...); images are read by apps, so make it full."""
    return url if "://" in url else f"{settings.SITE_URL}{url}"


def _rendition(source: IO[bytes], width: int) -> bytes:
    with Image.open(source) as image:
        frame = ImageOps.exif_transpose(image) or image
        frame = frame.convert("RGBA" if "A" in frame.getbands() else "RGB")
        frame.thumbnail((width, width * 10), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        frame.save(out, format="WEBP", quality=85, method=4)
    return out.getvalue()


def product_image_store_upload(
    *, image: ProductImage, upload: Any, checked: CheckedImage
) -> ProductImage:
    """Store a checked upload and its resized copies, and save `image` describing them."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("This service composes inside the caller's transaction.")
    folder = f"products/{image.product.brand_id}/{image.product_id}"
    stem = uuid.uuid4().hex
    upload.seek(0)
    original = default_storage.save(
        posixpath.join(folder, f"{stem}.{checked.extension}"), ContentFile(upload.read())
    )
    renditions: dict[str, str] = {}
    for width in settings.PRODUCT_IMAGE_WIDTHS:
        if width >= checked.width:
            continue
        upload.seek(0)
        name = default_storage.save(
            posixpath.join(folder, f"{stem}-{width}.webp"), ContentFile(_rendition(upload, width))
        )
        renditions[str(width)] = name
    image.file.name = original
    image.renditions = renditions
    image.url = _absolute(default_storage.url(original))
    image.width, image.height = checked.width, checked.height
    image.save()
    return image


def product_image_files_delete(*, image: ProductImage) -> None:
    """Delete an upload's stored files once the transaction removing its row commits."""
    names = [name for name in (image.file.name, *image.renditions.values()) if name]

    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    if names:
        transaction.on_commit(delete)


def rendition_url(image: ProductImage, width: int) -> str:
    """The URL of the smallest stored copy at least `width` wide, else of the original."""
    for stored_width, name in sorted((int(w), n) for w, n in image.renditions.items()):
        if stored_width >= width:
            return _absolute(default_storage.url(name))
    return image.url
