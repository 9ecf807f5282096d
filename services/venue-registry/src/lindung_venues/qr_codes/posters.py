"""Printable posters of a venue's signed QR code: PNG, SVG and an A4 PDF.

The QR symbol comes from segno (error correction M, so a scuffed poster still scans); the
page is laid out here and drawn with reportlab (PDF) or Pillow (PNG). All three draw the
same symbol module by module, so every format decodes to exactly the signed payload. The fixed
texts use the Bitstream Vera fonts shipped inside reportlab. The venue's name and entrance,
which may be in any script, are set with Noto fonts (:mod:`.fonts`: shaped, right-to-left
where needed) and wrapped to the page: in the PNG directly, in the PDF and SVG as line images
at print resolution (300 dpi), so that they print the same whatever fonts a viewer has.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import reportlab
import segno
from PIL import Image, ImageDraw, ImageFont, ImageOps
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from lindung_venues.qr_codes import fonts

QUIET_ZONE = 4  # modules of white border the QR standard asks for
_FONT_DIR = Path(reportlab.__file__).parent / "fonts"
_REGULAR, _BOLD = "LindungVera", "LindungVeraBold"

HEADLINE = ("Pindai untuk check-in", "Scan to check in")
INSTRUCTIONS_ID = (
    "1. Buka aplikasi Lindung dan pilih Check-in.",
    "2. Pindai kode QR ini sebelum masuk.",
    "3. Tunjukkan hasilnya kepada petugas di pintu.",
)
INSTRUCTIONS_EN = (
    "1. Open the Lindung app and tap Check-in.",
    "2. Scan this QR code before you enter.",
    "3. Show the result to the staff at the door.",
)
FOOTER = (
    "Kode ini ditandatangani secara digital; poster yang diubah akan ditolak.",
    "This code is digitally signed; an altered poster is refused.",
)


@dataclass(frozen=True)
class PosterText:
    venue_name: str
    entrance: str
    reference: str  # short id printed small, to match a poster with its record


def _symbol(payload: str) -> segno.QRCode:
    return segno.make_qr(payload, error="m", boost_error=False)


def dark_runs(payload: str) -> tuple[int, list[tuple[int, int, int]]]:
    """The symbol's size in modules (with the quiet zone) and its dark runs (x, y, width)."""
    rows = [list(row) for row in _symbol(payload).matrix_iter(scale=1, border=QUIET_ZONE)]
    runs: list[tuple[int, int, int]] = []
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append((start, y, x - start))
            else:
                x += 1
    return len(rows), runs


def wrap(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Greedy word wrap; a word longer than the line is cut."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if measure(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while measure(word) > width and len(word) > 1:
            cut = len(word)
            while cut > 1 and measure(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines or [""]


#: Pixels per PDF point of the line images (300 dpi / 72).
_PRINT_SCALE = 300 / 72
#: An entrance wraps to at most this many lines (a longer one ends with an ellipsis).
ENTRANCE_LINES = 3


def _name_lines(text: PosterText, width: float, size: float) -> list[str]:
    """The venue's name wrapped to ``width`` (in the units of ``size``), in any script."""

    def measure(line: str) -> float:
        return fonts.measure(line, round(size * 4), True) / 4

    return wrap(text.venue_name, width, measure)


def _entrance_lines(text: PosterText, width: float, size: float) -> list[str]:
    def measure(line: str) -> float:
        return fonts.measure(line, round(size * 4)) / 4

    lines = wrap(f"Pintu masuk / Entrance: {text.entrance}", width, measure)
    if len(lines) > ENTRANCE_LINES:
        lines = lines[:ENTRANCE_LINES]
        while lines[-1] and measure(lines[-1] + " …") > width:
            lines[-1] = lines[-1][:-1]
        lines[-1] = lines[-1].rstrip() + " …"
    return lines


# --- PDF -----------------------------------------------------------------------------------

_fonts_registered = False


def _register_fonts() -> None:
    global _fonts_registered
    if not _fonts_registered:
        pdfmetrics.registerFont(TTFont(_REGULAR, str(_FONT_DIR / "Vera.ttf")))
        pdfmetrics.registerFont(TTFont(_BOLD, str(_FONT_DIR / "VeraBd.ttf")))
        _fonts_registered = True


def pdf(payload: str, text: PosterText) -> bytes:
    """An A4 portrait poster: headline, venue, entrance, the code, instructions (ID + EN)."""
    _register_fonts()
    buffer = io.BytesIO()
    page_w, page_h = A4
    margin = 48.0
    usable = page_w - 2 * margin
    pdf_canvas = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf_canvas.setTitle(f"Lindung QR - {text.venue_name} - {text.entrance}")
    pdf_canvas.setAuthor("Lindung venue registry")

    def centred(line: str, y: float, font: str, size: float) -> None:
        pdf_canvas.setFont(font, size)
        pdf_canvas.drawCentredString(page_w / 2, y, line)

    y = page_h - margin - 22
    centred(HEADLINE[0].upper(), y, _BOLD, 24)
    y -= 24
    centred(HEADLINE[1], y, _REGULAR, 16)
    y -= 34

    def centred_any_script(line: str, y: float, points: float, bold: bool) -> None:
        image = fonts.render_line(line, round(points * _PRINT_SCALE), bold)
        width, height = image.width / _PRINT_SCALE, image.height / _PRINT_SCALE
        baseline = round(points * _PRINT_SCALE * 1.12) / _PRINT_SCALE
        pdf_canvas.drawImage(
            ImageReader(fonts.ink(image)),
            (page_w - width) / 2,
            y - (height - baseline),
            width,
            height,
            mask="auto",
        )

    for line in _name_lines(text, usable, 22)[:3]:
        centred_any_script(line, y, 22, True)
        y -= 26
    for line in _entrance_lines(text, usable, 14):
        centred_any_script(line, y, 14, False)
        y -= 18

    modules, runs = dark_runs(payload)
    side = min(360.0, y - 250)
    module = side / modules
    left, top = (page_w - side) / 2, y - 6
    pdf_canvas.setFillColorRGB(0, 0, 0)
    path = pdf_canvas.beginPath()
    for x, row, width in runs:
        path.rect(left + x * module, top - (row + 1) * module, width * module, module)
    pdf_canvas.drawPath(path, stroke=0, fill=1)
    y = top - side - 26

    column = (usable - 24) / 2
    for index, (heading, lines) in enumerate(
        (("Cara check-in", INSTRUCTIONS_ID), ("How to check in", INSTRUCTIONS_EN))
    ):
        x = margin + index * (column + 24)
        line_y = y
        pdf_canvas.setFont(_BOLD, 13)
        pdf_canvas.drawString(x, line_y, heading)
        line_y -= 18
        pdf_canvas.setFont(_REGULAR, 11)
        for instruction in lines:
            measure = lambda s: pdfmetrics.stringWidth(s, _REGULAR, 11)  # noqa: E731
            for part in wrap(instruction, column, measure):
                pdf_canvas.drawString(x, line_y, part)
                line_y -= 14
    pdf_canvas.setFont(_REGULAR, 8)
    pdf_canvas.drawCentredString(page_w / 2, margin + 22, FOOTER[0])
    pdf_canvas.drawCentredString(page_w / 2, margin + 11, FOOTER[1])
    pdf_canvas.drawCentredString(page_w / 2, margin, f"Ref. {text.reference}")
    pdf_canvas.showPage()
    pdf_canvas.save()
    return buffer.getvalue()


# --- SVG -----------------------------------------------------------------------------------


def svg(payload: str, text: PosterText) -> str:
    """The same poster as scalable SVG (A4 viewBox in millimetres)."""
    modules, runs = dark_runs(payload)
    side = 120.0
    module = side / modules
    left, top = (210 - side) / 2, 62.0
    path = "".join(f"M{x} {y}h{w}v1h-{w}z" for x, y, w in runs)
    lines: list[str] = []

    def add(y: float, content: str, size: float, bold: bool = False) -> None:
        weight = ' font-weight="bold"' if bold else ""
        lines.append(
            f'<text x="105" y="{y:.1f}" font-size="{size}" text-anchor="middle"{weight}>'
            f"{escape(content)}</text>"
        )

    def add_any_script(y: float, content: str, size: float, bold: bool = False) -> None:
        # size in mm; the line as an image at 300 dpi (11.8 px per mm), baseline at y
        scale = 300 / 25.4
        image = fonts.render_line(content, round(size * scale), bold)
        buffer = io.BytesIO()
        fonts.ink(image).save(buffer, format="PNG", optimize=True)
        width, height = image.width / scale, image.height / scale
        baseline = round(size * scale * 1.12) / scale
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        lines.append(
            f'<image x="{105 - width / 2:.2f}" y="{y - baseline:.2f}" width="{width:.2f}" '
            f'height="{height:.2f}" href="data:image/png;base64,{data}">'
            f"<title>{escape(content)}</title></image>"
        )

    add(16, HEADLINE[0].upper(), 9, bold=True)
    add(23, HEADLINE[1], 6)
    y = 32.0
    for line in _name_lines(text, 180, 7)[:3]:
        add_any_script(y, line, 7, bold=True)
        y += 8
    for line in _entrance_lines(text, 180, 4.5)[:2]:
        add_any_script(y, line, 4.5)
        y += 5.5
    top = max(top, y)
    y = top + side + 14
    for heading, instructions in (
        ("Cara check-in", INSTRUCTIONS_ID),
        ("How to check in", INSTRUCTIONS_EN),
    ):
        add(y, heading, 4.8, bold=True)
        y += 6
        for instruction in instructions:
            add(y, instruction, 4)
            y += 5
        y += 3
    add(282, FOOTER[0], 3)
    add(286, FOOTER[1], 3)
    add(291, f"Ref. {text.reference}", 3)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" '
        'viewBox="0 0 210 297" font-family="DejaVu Sans, Verdana, Arial, sans-serif">'
        f"<title>{escape(f'Lindung QR - {text.venue_name} - {text.entrance}')}</title>"
        '<rect width="210" height="297" fill="#fff"/>'
        f'<g transform="translate({left:.3f} {top:.3f}) scale({module:.5f})">'
        f'<path fill="#000" d="{path}"/></g>' + "".join(lines) + "</svg>\n"
    )


# --- PNG -----------------------------------------------------------------------------------


def png(payload: str, text: PosterText, *, module_px: int = 8) -> bytes:
    """A poster image: the code at ``module_px`` pixels per module, with the texts."""
    modules, runs = dark_runs(payload)
    side = modules * module_px
    width = max(side, 900)
    regular = ImageFont.truetype(str(_FONT_DIR / "Vera.ttf"), 24)
    small = ImageFont.truetype(str(_FONT_DIR / "Vera.ttf"), 18)
    name_lines = _name_lines(text, width - 60, 34)[:3]
    entrance_lines = _entrance_lines(text, width - 60, 24)
    header = 70 + 44 * len(name_lines) + 32 * len(entrance_lines) + 16
    footer = 60 + 30 * (len(INSTRUCTIONS_ID) + len(INSTRUCTIONS_EN)) + 60
    image = Image.new("L", (width, header + side + footer), 255)
    draw = ImageDraw.Draw(image)

    def centred(y: int, line: str, font: ImageFont.FreeTypeFont) -> None:
        draw.text((width / 2, y), line, fill=0, font=font, anchor="mt")

    centred(20, f"{HEADLINE[0]} / {HEADLINE[1]}", regular)

    def centred_any_script(y: int, line: str, size: int, bold: bool) -> None:
        rendered = fonts.render_line(line, size, bold)
        image.paste(0, ((width - rendered.width) // 2, y), mask=ImageOps.invert(rendered))

    y = 62
    for line in name_lines:
        centred_any_script(y, line, 34, True)
        y += 44
    for line in entrance_lines:
        centred_any_script(y, line, 24, False)
        y += 32
    left, top = (width - side) // 2, header
    for x, row, run in runs:
        x0, y0 = left + x * module_px, top + row * module_px
        draw.rectangle((x0, y0, x0 + run * module_px - 1, y0 + module_px - 1), fill=0)
    y = top + side + 20
    for line in (*INSTRUCTIONS_ID, "", *INSTRUCTIONS_EN):
        if line:
            centred(y, line, small)
        y += 28
    centred(y + 10, f"Ref. {text.reference}", small)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
