"""Posters read back with an independent decoder (zxing-cpp), not with segno.

PNG: decoded as served. PDF: rasterised with PDFium, then decoded. SVG: the symbol's path is
drawn with Pillow from the SVG text, then decoded.
"""

from __future__ import annotations

import base64
import io
import re

import pypdfium2
import pytest
import zxingcpp
from lindung_shared.qr import QrInvalid, public_key_from_jwk, verify_qr
from lindung_venues.qr_codes import fonts
from PIL import Image, ImageDraw, ImageOps


@pytest.fixture
async def issued(client, manager, create_venue):
    venue = await create_venue(manager, name="Gereja Katedral Jakarta", category="worship")
    url = f"/v1/venues/{venue['id']}/qr-codes"
    code = (await client.post(url, json={"entrance": "Main lobby"}, headers=manager)).json()
    jwks = (await client.get("/.well-known/jwks.json")).json()
    keys = {k["kid"]: public_key_from_jwk(k) for k in jwks["keys"]}
    return venue, code, f"{url}/{code['id']}", keys


def decoded_text(image: Image.Image) -> str:
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(results) == 1, f"expected one QR code, found {len(results)}"
    return str(results[0].text)


def assert_exact_and_valid(text: str, code: dict, keys) -> None:
    assert text == code["payload"]
    assert str(verify_qr(text, keys).qr_id) == code["id"]
    with pytest.raises(QrInvalid):
        verify_qr(text[:-5] + ("A" if text[-5] != "A" else "B") + text[-4:], keys)


async def test_png_poster_decodes_to_the_payload(client, manager, issued):
    _, code, url, keys = issued
    response = await client.get(f"{url}/poster.png", headers=manager)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert_exact_and_valid(decoded_text(Image.open(io.BytesIO(response.content))), code, keys)


async def test_pdf_poster_is_a4_with_texts_and_decodes(client, officer, issued):
    venue, code, url, keys = issued
    response = await client.get(f"{url}/poster.pdf", headers=officer)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    document = pypdfium2.PdfDocument(response.content)
    assert len(document) == 1
    page = document[0]
    width, height = page.get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = page.get_textpage().get_text_range()
    for expected in ("Pindai kode QR", "Scan this QR code"):
        assert expected in text, expected
    # the name and entrance are set as line images (any script); the title names them
    title = document.get_metadata_dict()["Title"]
    assert venue["name"] in title and "Main lobby" in title
    image = page.render(scale=1.5).to_pil()
    assert_exact_and_valid(decoded_text(image), code, keys)


async def test_svg_poster_draws_the_same_symbol(client, manager, issued):
    venue, code, url, keys = issued
    response = await client.get(f"{url}/poster.svg", headers=manager)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    svg = response.text
    assert f"<title>{venue['name']}</title>" in svg and "Pindai untuk check-in".upper() in svg
    path = re.search(r'<path fill="#000" d="([^"]+)"', svg)
    assert path is not None
    runs = [tuple(map(int, m)) for m in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path.group(1))]
    size = max(x + w for x, _, w in runs) + 4
    scale = 8
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y, w in runs:
        draw.rectangle((x * scale, y * scale, (x + w) * scale - 1, (y + 1) * scale - 1), fill=0)
    assert_exact_and_valid(decoded_text(image), code, keys)


async def test_other_manager_gets_no_poster(client, token, issued):
    _, _, url, _ = issued
    response = await client.get(f"{url}/poster.png", headers=token("venue_manager", "nosy"))
    assert response.status_code == 403
    assert (await client.get(f"{url}/poster.png", headers=token("citizen"))).status_code == 403


#: Venue names in the scripts the issue names, and an entrance of the longest allowed length
#: without a space to break at.
NAMES = {
    "chinese": "北京烤鸭店 金龙海鲜酒家",
    "cyrillic": "Кафе «Восточный базар» у моря",  # noqa: RUF001
    "arabic": "مطعم الشرق الأوسط للمأكولات البحرية",
}
LONG_ENTRANCE = "PintuTimurLantaiDasarDekatParkirMotorSebelahBaratGedungUtamaXYZ"[:64]


def _ink_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    return ImageOps.invert(image.convert("L")).getbbox()


@pytest.mark.parametrize("script", sorted(NAMES))
async def test_names_in_any_script_print_and_long_entrances_wrap(
    client, manager, create_venue, script
):
    name = NAMES[script]
    venue = await create_venue(manager, name=name, entrances=[LONG_ENTRANCE])
    url = f"/v1/venues/{venue['id']}/qr-codes"
    code = (await client.post(url, json={"entrance": LONG_ENTRANCE}, headers=manager)).json()
    jwks = (await client.get("/.well-known/jwks.json")).json()
    keys = {k["kid"]: public_key_from_jwk(k) for k in jwks["keys"]}
    poster_url = f"{url}/{code['id']}"

    # every letter of the name has a glyph in a bundled font (no empty boxes)
    assert all(fonts.face_of(c) is not None for c in name if not c.isspace())

    png = Image.open(
        io.BytesIO((await client.get(f"{poster_url}/poster.png", headers=manager)).content)
    )
    assert_exact_and_valid(decoded_text(png), code, keys)
    box = _ink_box(png)
    assert box is not None and box[0] >= 20 and box[2] <= png.width - 20, "text runs off the page"

    document = pypdfium2.PdfDocument(
        (await client.get(f"{poster_url}/poster.pdf", headers=manager)).content
    )
    page = document[0].render(scale=1.5).to_pil()
    assert_exact_and_valid(decoded_text(page), code, keys)
    box = _ink_box(page)
    margin = round(40 * 1.5)
    assert box is not None and box[0] >= margin and box[2] <= page.width - margin

    svg = (await client.get(f"{poster_url}/poster.svg", headers=manager)).text
    lines = re.findall(
        r'<image x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="[\d.]+" '
        r'href="data:image/png;base64,([^"]+)"><title>([^<]*)</title>',
        svg,
    )
    titles = [t for _, _, _, t in lines]
    assert "".join(titles).replace(" ", "").count(LONG_ENTRANCE[:20]) == 1
    assert len(titles) >= 3, "a long entrance wraps to a second line"
    for x, width, data, _ in lines:
        assert float(x) >= 10 and float(x) + float(width) <= 200, "a line runs off the page"
        line = Image.open(io.BytesIO(base64.b64decode(data)))
        assert line.getchannel("A").getbbox() is not None, "a line without ink"


def test_glyphs_are_drawn_not_boxes():
    """Each distinct letter of a Chinese, Cyrillic or Arabic name renders differently (the
    empty box a font without the glyph draws is the same for every letter)."""
    for name in NAMES.values():
        letters = sorted({c for c in name if c.isalpha()})
        bitmaps = {fonts.render_line(c, 32).tobytes() for c in letters}
        assert len(bitmaps) == len(letters), name
