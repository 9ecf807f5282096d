"""Fonts that print a venue's name in any script Indonesia's venues use: Noto Sans (Latin,
Cyrillic, Greek; PyPI ``fontpkg-noto-sans``), Noto Sans Arabic (``fontpkg-noto-sans-arabic``)
and Noto Sans CJK (Debian's ``fonts-noto-cjk``, which ``make`` installs when missing; the
path is ``VENUE_REGISTRY_CJK_FONT``). All three are under the SIL Open Font License 1.1.

A line is cut into runs, each drawn with the first font that has every character of the run
(fontTools reads each font's character map), and each run is laid out by Pillow's Raqm
engine (HarfBuzz shaping, FriBiDi for right-to-left Arabic)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import fontpkg_noto_sans
import fontpkg_noto_sans_arabic
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont, ImageOps

#: Debian's fonts-noto-cjk; face 2 of the collection is Simplified Chinese (the order is JP,
#: KR, SC, TC, HK), whose glyphs cover the Han characters of the other four as well.
DEFAULT_CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
CJK_FACE_INDEX = 2


class MissingFont(RuntimeError):
    """A font the posters need is not installed (see the module's docstring)."""


@dataclass(frozen=True)
class Face:
    name: str
    path: Path
    index: int
    variable: bool

    @property
    def characters(self) -> frozenset[int]:
        return _cmap(self.path, self.index)


@cache
def _cmap(path: Path, index: int) -> frozenset[int]:
    font = TTFont(str(path), fontNumber=index, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


@cache
def faces() -> tuple[Face, ...]:
    """Noto Sans, Noto Sans Arabic, Noto Sans CJK, in that order of preference."""
    cjk = Path(os.environ.get("VENUE_REGISTRY_CJK_FONT", DEFAULT_CJK_FONT))
    if not cjk.is_file():
        raise MissingFont(
            f"{cjk} is missing: install Debian's fonts-noto-cjk (make does) or set "
            "VENUE_REGISTRY_CJK_FONT to a Noto Sans CJK collection"
        )
    return (
        Face("Noto Sans", fontpkg_noto_sans.ROOT / "files" / "NotoSans[wdth,wght].ttf", 0, True),
        Face(
            "Noto Sans Arabic",
            fontpkg_noto_sans_arabic.ROOT / "files" / "NotoSansArabic[wdth,wght].ttf",
            0,
            True,
        ),
        Face("Noto Sans CJK SC", cjk, CJK_FACE_INDEX, False),
    )


def face_of(character: str) -> Face | None:
    for face in faces():
        if ord(character) in face.characters:
            return face
    return None


def runs(text: str) -> list[tuple[Face, str]]:
    """``text`` cut where the font changes: each character goes to the first font that has
    it, except spaces and punctuation, which stay in the run they are in. A character no
    font has is drawn with the first font (its .notdef box)."""
    out: list[tuple[Face, str]] = []
    first = faces()[0]
    for character in text:
        current = out[-1][0] if out else None
        if current is not None and not character.isalnum() and ord(character) in current.characters:
            out[-1] = (current, out[-1][1] + character)
            continue
        face = face_of(character) or first
        if current is face:
            out[-1] = (face, out[-1][1] + character)
        else:
            out.append((face, character))
    return out


@cache
def font(face: Face, size: int, bold: bool) -> ImageFont.FreeTypeFont:
    path = face.path
    bold_collection = path.with_name(path.name.replace("-Regular", "-Bold"))
    if bold and not face.variable and bold_collection.is_file():
        path = bold_collection
    loaded = ImageFont.truetype(
        str(path), size, index=face.index, layout_engine=ImageFont.Layout.RAQM
    )
    if face.variable:
        values: dict[object, float] = {b"Weight": 700 if bold else 400, b"Width": 100}
        axes = loaded.get_variation_axes()
        loaded.set_variation_by_axes(
            [float(values.get(a["name"], a["default"] or 0)) for a in axes]
        )
    return loaded


def measure(text: str, size: int, bold: bool = False) -> float:
    """The width of ``text`` in pixels at ``size`` pixels per em."""
    return sum(font(face, size, bold).getlength(part) for face, part in runs(text))


def render_line(text: str, size: int, bold: bool = False) -> Image.Image:
    """One line of black text on white (mode L), ``1.5 * size`` high, as wide as its text."""
    width = max(1, round(measure(text, size, bold)) + 2)
    height = round(size * 1.5)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    x = 1.0
    baseline = round(size * 1.12)
    for face, part in runs(text):
        loaded = font(face, size, bold)
        draw.text((x, baseline), part, fill=0, font=loaded, anchor="ls")
        x += loaded.getlength(part)
    return image


def ink(line: Image.Image) -> Image.Image:
    """A rendered line as black ink on a transparent ground (RGBA), so that lines set close
    together never cover each other's descenders."""
    inked = Image.new("RGBA", line.size, (0, 0, 0, 0))
    inked.putalpha(ImageOps.invert(line))
    return inked
