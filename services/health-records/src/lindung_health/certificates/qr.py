"""QR codes of certificates: read one from a photo or scan (zxing-cpp), draw one (segno)."""

from __future__ import annotations

import io

import segno
import zxingcpp
from PIL import Image, UnidentifiedImageError

_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


class UnreadableImage(ValueError):
    """The upload is not an image, or holds no QR code."""


def read_qr(image: bytes) -> str:
    """The text of the (first) QR code in a PNG or JPEG image."""
    try:
        picture = Image.open(io.BytesIO(image))
        picture.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise UnreadableImage("the upload is not a PNG or JPEG image") from exc
    found = zxingcpp.read_barcodes(picture, formats=_QR_ONLY)
    if not found:
        raise UnreadableImage("no QR code was found in the image")
    return str(found[0].text)


def _qr(text: str) -> segno.QRCode:
    # HC1 payloads are upper-case Base45, which QR alphanumeric mode stores compactly.
    return segno.make_qr(text, error="q")


def qr_png(text: str, *, scale: int = 4) -> bytes:
    buffer = io.BytesIO()
    _qr(text).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def qr_svg(text: str, *, scale: int = 4) -> bytes:
    buffer = io.BytesIO()
    _qr(text).save(buffer, kind="svg", scale=scale, border=4, xmldecl=False)
    return buffer.getvalue()
