"""Text on the member card: what the one font can draw, wrapped and drawn with marks.

The card's only font is the scalable one Pillow ships (``ImageFont.load_default(size=…)``:
Aileron, ASCII and a little punctuation). Text is first reduced to what it can draw:
accented letters are drawn as their base letter with the accent composed on top
(``Ç`` = ``C`` + a cedilla), a few letters are spelled out (``ß`` → ``ss``), other letters
become ``?`` and symbols the font lacks (emoji) are dropped. ``cardimage`` lays out the
card with these pieces.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

ELLIPSIS = "\u2026"

LOCK = threading.Lock()  # FreeType faces are shared between renders


# --- text: what the font can draw -----------------------------------------------------------

# (base letters, marks): marks are the combining characters composed on the base letter.
Glyph = tuple[str, tuple[str, ...]]

# Letters without a decomposition, spelled with ones the font has.
_SPELL = {
    "ß": "ss",
    "ẞ": "SS",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "Th",
    "ł": "l",
    "Ł": "L",
    "ı": "i",
    "ħ": "h",
    "Ħ": "H",
    "ŧ": "t",
    "Ŧ": "T",
    "ŋ": "ng",
    "Ŋ": "NG",
    "ĸ": "k",
    "ʻ": "'",
    "ʼ": "'",
    "ʹ": "'",
    "´": "'",
    "‚": ",",
    "„": '"',
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "–": "-",
    "—": "-",
    "―": "-",
    "−": "-",
    "×": "x",
    "•": "·",
    "′": "'",
    "″": '"',
}
# Combining marks the card composes, drawn with glyphs the font has.
_ABOVE = {
    "\u0300",
    "\u0301",
    "\u0302",
    "\u0303",
    "\u0304",
    "\u0305",
    "\u0306",
    "\u0307",
    "\u0308",
    "\u030a",
    "\u030b",
    "\u030c",
}
_BELOW = {"\u0323", "\u0326", "\u0327", "\u0328"}
_MARKS = _ABOVE | _BELOW


@lru_cache(maxsize=64)
def load_font(size: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.load_default(size=size)
    assert isinstance(font, ImageFont.FreeTypeFont)
    return font


@lru_cache(maxsize=4096)
def _drawable(ch: str) -> bool:
    """The font has a glyph for ``ch`` (it is not drawn as the missing-glyph box)."""
    if ch == " ":
        return True
    if unicodedata.category(ch)[0] in "CZM":
        return False
    font = load_font(32)
    return _ink_bytes(font, ch) != _ink_bytes(font, "\ue000")


def _ink_bytes(font: ImageFont.FreeTypeFont, ch: str) -> tuple[float, bytes]:
    im = Image.new("L", (64, 64))
    ImageDraw.Draw(im).text((8, 8), ch, font=font, fill=255)
    return font.getlength(ch), im.tobytes()


def _spell(ch: str) -> str | None:
    """``ch`` with drawable characters, or None."""
    if _drawable(ch):
        return ch
    spelled = _SPELL.get(ch)
    if spelled is not None:
        return spelled
    decomposed = unicodedata.normalize("NFKD", ch)
    if decomposed != ch and all(_drawable(c) or c in _SPELL for c in decomposed):
        return "".join(_SPELL.get(c, c) for c in decomposed)
    return None


def glyphs(text: str) -> list[Glyph]:
    """``text`` as clusters the font can draw; whitespace collapsed, ends stripped."""
    out: list[Glyph] = []
    unknown = False  # the last glyph is a "?" standing for letters the font lacks
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        if ch.isspace() or category == "Zs":
            if out and out[-1][0] != " ":
                out.append((" ", ()))
            unknown = False
            continue
        spelled = _spell(ch)
        if spelled is not None:
            out.extend((c, ()) for c in spelled)
            unknown = False
            continue
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], decomposed[1:]
        spelled = _spell(base)
        if spelled and all(unicodedata.combining(m) for m in marks):
            kept = tuple(m for m in marks if m in _MARKS)
            out.extend((c, ()) for c in spelled[:-1])
            out.append((spelled[-1], kept))
            unknown = False
        elif category in ("Mn", "Mc") and out and out[-1][0] != " ":
            if ch in _MARKS:  # a combining mark left alone by NFC: put it on the last letter
                out[-1] = (out[-1][0], (*out[-1][1], ch))
        elif category[0] in "LN":
            if not unknown:
                out.append(("?", ()))
            unknown = True
        # Symbols, emoji, controls, format characters: dropped.
    while out and out[-1][0] == " ":
        out.pop()
    return out


def _base(run: Sequence[Glyph]) -> str:
    return "".join(g[0] for g in run)


# --- text: measuring, wrapping, drawing -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Style:
    size: int
    fill: tuple[int, int, int]
    bold: float = 0.0  # a faux bold (the font has one weight), in ems

    @property
    def shift(self) -> float:
        """How far right the text is struck again to embolden it, in pixels."""
        return round(self.size * self.bold, 2)

    @property
    def font(self) -> ImageFont.FreeTypeFont:
        return load_font(self.size)

    def width(self, run: Sequence[Glyph]) -> float:
        if not run:
            return 0.0
        return self.font.getlength(_base(run)) + self.shift

    def ascent(self) -> int:
        return self.font.getmetrics()[0]


def fit(run: list[Glyph], style: Style, width: float) -> list[Glyph]:
    """``run`` cut with an ellipsis so that it fits ``width``."""
    if style.width(run) <= width:
        return run
    ellipsis: list[Glyph] = [(ELLIPSIS, ())]
    lo, hi = 0, len(run)
    while lo < hi:  # the longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if style.width(run[:mid] + ellipsis) <= width:
            lo = mid
        else:
            hi = mid - 1
    head = run[:lo]
    while head and head[-1][0] in " ,.-":
        head = head[:-1]
    return [*head, *ellipsis] if style.width([*head, *ellipsis]) <= width else []


def wrap(
    run: list[Glyph], style: Style, width: float, lines: int
) -> tuple[list[list[Glyph]], bool]:
    """``run`` in at most ``lines`` lines of ``width``; True when it all fitted.

    Lines break at spaces; a word wider than a line is broken where it must. Text that does
    not fit ends the last line with an ellipsis."""
    space: list[Glyph] = [(" ", ())]
    # (the glue before the word: a space, or nothing for the rest of a broken word; word)
    words: list[tuple[list[Glyph], list[Glyph]]] = []
    current: list[Glyph] = []
    for g in [*run, (" ", ())]:
        if g[0] != " ":
            current.append(g)
        elif current:
            words.append((space, current))
            current = []
    out: list[list[Glyph]] = []
    i = 0
    while i < len(words) and len(out) < lines:
        line = words[i][1]
        i += 1
        if style.width(line) > width:  # one word wider than the line: break it
            cut = 1
            while cut < len(line) and style.width(line[: cut + 1]) <= width:
                cut += 1
            words.insert(i, ([], line[cut:]))
            line = line[:cut]
        while i < len(words) and style.width([*line, *words[i][0], *words[i][1]]) <= width:
            line = [*line, *words[i][0], *words[i][1]]
            i += 1
        out.append(line)
    if i >= len(words):
        return out, True
    rest = [g for glue, word in words[i:] for g in (*glue, *word)]
    out[-1] = fit([*out[-1], *rest], style, width)
    return out, False


def best_wrap(
    run: list[Glyph],
    sizes: Sequence[int],
    *,
    fill: tuple[int, int, int],
    bold: float,
    width: float,
    lines: int,
) -> tuple[Style, list[list[Glyph]]]:
    """The largest size whose wrap fits; else the smallest, ellipsized."""
    result: tuple[Style, list[list[Glyph]]] | None = None
    for size in sizes:
        style = Style(size, fill, bold)
        wrapped, complete = wrap(run, style, width, lines)
        result = style, wrapped
        if complete:
            break
    assert result is not None
    return result


def _text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    font: ImageFont.FreeTypeFont,
    fill: int | tuple[int, int, int],
    bold: float,
) -> None:
    """``text`` with its pen at ``xy`` (left, baseline); bold strikes it again to the right
    (widening stems only, so the dot of an i stays apart, unlike a stroke)."""
    draw.text(xy, text, font=font, fill=fill, anchor="ls")
    steps = int(bold // 0.75) + 1 if bold > 0 else 0
    for k in range(1, steps + 1):
        draw.text((xy[0] + bold * k / steps, xy[1]), text, font=font, fill=fill, anchor="ls")


def _mask(font: ImageFont.FreeTypeFont, text: str, bold: float) -> tuple[Image.Image, int, int]:
    """The ink of ``text`` and its offset from the pen position (left, baseline)."""
    return _mask_cached(font.size, text, bold)


@lru_cache(maxsize=2048)
def _mask_cached(size: int, text: str, bold: float) -> tuple[Image.Image, int, int]:
    font = load_font(size)
    ascent, descent = font.getmetrics()
    pad = int(bold) + 2 + size // 2
    w = int(font.getlength(text)) + 2 * pad
    im = Image.new("L", (w, ascent + descent + 2 * pad))
    _text(ImageDraw.Draw(im), (pad, pad + ascent), text, font, 255, bold)
    box = im.getbbox() or (0, 0, 1, 1)
    return im.crop(box), box[0] - pad, box[1] - pad - ascent


def draw_run(
    img: Image.Image, xy: tuple[float, float], run: Sequence[Glyph], style: Style
) -> None:
    """Draw ``run`` with its pen at ``xy`` (left, baseline), composing the marks."""
    draw = ImageDraw.Draw(img)
    font, text = style.font, _base(run)
    x, y = xy
    dotless = {i for i, g in enumerate(run) if g[0] in "ij" and set(g[1]) & _ABOVE}
    if not dotless:
        _text(draw, (x, y), text, font, style.fill, style.shift)
    else:  # i and j lose their dot under an accent: draw them as masks cut at x-height
        start = 0
        for i in [*sorted(dotless), len(run)]:
            if i > start:
                _text(
                    draw,
                    (x + font.getlength(text[:start]), y),
                    text[start:i],
                    font,
                    style.fill,
                    style.shift,
                )
            if i < len(run):
                mask, dx, dy = _mask(font, text[i], style.shift)
                x_height = -_mask(font, "x", style.shift)[2]
                cut = max(0, -dy - x_height)
                stem = mask.crop((0, cut, mask.width, mask.height))
                draw.bitmap(
                    (round(x + font.getlength(text[:i]) + dx), round(y + dy + cut)),
                    stem,
                    fill=style.fill,
                )
            start = i + 1
    for i, (letter, marks) in enumerate(run):
        if marks:
            _draw_marks(
                draw, font, style, x + font.getlength(text[:i]), y, letter, i in dotless, marks
            )


def _draw_marks(
    draw: ImageDraw.ImageDraw,
    font: ImageFont.FreeTypeFont,
    style: Style,
    x: float,
    y: float,
    letter: str,
    dotless: bool,
    marks: tuple[str, ...],
) -> None:
    bold = style.shift
    base, bx, by = _mask(font, letter, bold)
    centre = x + bx + base.width / 2
    top = y + (_mask(font, "x", bold)[2] if dotless else by)  # ink top of the letter
    bottom = y + by + base.height
    gap = max(1.0, font.size * 0.05)
    above, below = top - gap, max(y, bottom) + gap * 0.5
    for mark in marks:
        pieces = _mark_pieces(font, mark, bold)
        if not pieces:
            continue
        width = max(px + m.width for m, px in pieces)
        height = max(m.height for m, _px in pieces)
        left = centre - width / 2
        if mark in _BELOW:
            for m, px in pieces:
                draw.bitmap((round(left + px), round(below)), m, fill=style.fill)
            below += height + gap
        else:
            for m, px in pieces:
                draw.bitmap((round(left + px), round(above - height)), m, fill=style.fill)
            above -= height + gap


@lru_cache(maxsize=256)
def _mark_pieces(
    font: ImageFont.FreeTypeFont, mark: str, bold: float
) -> tuple[tuple[Image.Image, int], ...]:
    """A combining mark as glyph masks (with their x offsets) of characters the font has."""

    def ink(ch: str, scale: float = 0.8) -> Image.Image:
        m = _mask(font, ch, bold)[0]
        return m.resize(
            (max(1, round(m.width * scale)), max(1, round(m.height * scale))),
            Image.Resampling.LANCZOS,
        )

    dot = ink(".", 0.9)
    match mark:
        case "\u0300":
            return ((ink("`"), 0),)
        case "\u0301":
            return ((ink("`").transpose(Image.Transpose.FLIP_LEFT_RIGHT), 0),)
        case "\u0302":
            return ((ink("^", 0.7), 0),)
        case "\u0303":
            return ((ink("~", 0.7), 0),)
        case "\u0304" | "\u0305":
            return ((ink("-", 1.0), 0),)
        case "\u0306" | "\u030c":
            return ((ink("^", 0.7).transpose(Image.Transpose.FLIP_TOP_BOTTOM), 0),)
        case "\u0307" | "\u0323":
            return ((dot, 0),)
        case "\u0308":
            return ((dot, 0), (dot, dot.width * 2))
        case "\u030a":
            return ((ink("°", 0.8), 0),)
        case "\u030b":
            acute = ink("`").transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            return ((acute, 0), (acute, round(acute.width * 1.2)))
        case "\u0326" | "\u0327":
            return ((ink(",", 0.85), 0),)
        case "\u0328":
            return ((ink(",", 0.85).transpose(Image.Transpose.FLIP_LEFT_RIGHT), 0),)
    return ()


def draw_mono(
    img: Image.Image, xy: tuple[float, float], text: str, style: Style, cell: float
) -> None:
    """``text`` in fixed-width cells (a monospace look from a proportional font)."""
    draw = ImageDraw.Draw(img)
    x, y = xy
    for i, ch in enumerate(text):
        w = style.font.getlength(ch)
        _text(
            draw,
            (x + i * cell + (cell - w - style.shift) / 2, y),
            ch,
            style.font,
            style.fill,
            style.shift,
        )


# --- the static part: page, shadow, card, band ----------------------------------------------
