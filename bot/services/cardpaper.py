"""What every card picture shares: the data it shows, geometry, colours, the blank card.

Two documents are drawn on the same card stock (``CardData.kind``): the member card (red
band, chip, QR code; ``cardimage``) and the application slip or status card for what is not
(or no longer) a membership (slate band, a coloured status panel; ``cardslip``). Each
status has its own colour (``TONES``), so a waiting application never looks like a
rejected one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter

from bot.services.cardtext import (
    ELLIPSIS,
    Glyph,
    Style,
    best_wrap,
    draw_mono,
    draw_run,
    fit,
    glyphs,
    load_font,
    wrap,
)

Colour = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class CardData:
    coop_name: str  # e.g. "Koperasi Kelurahan Merah Putih Kesawan (Demo)", up to 150 chars
    coop_type: str  # already translated, e.g. "Serba usaha"
    member_name: str  # up to 100 chars
    member_number: str  # e.g. "KKMPK-000042" (on a slip: the application number)
    since: str  # already formatted date, e.g. "17 Agustus 2026"
    link: str  # the verification deep link the QR encodes exactly ("" = no QR)
    labels: dict[str, str]  # "member", "number", "since", "scan" (and "title" on a slip)
    status: str = ""  # optional translated status, short (a pill; a slip's panel heading)
    demo: bool = False  # a clearly visible "DEMO" mark
    kind: str = "member"  # "member" (a membership) | "slip" (an application, an ended one)
    tone: str = "active"  # the status colour: a key of TONES
    note: str = ""  # the full status sentence (plain text), wrapped or shrunk, never cut


# --- geometry (at scale 1; everything is multiplied by the scale) -------------------------

WIDTH, HEIGHT = 1000, 630  # the ID-1 ratio (85.60 x 53.98 mm)
CARD = (22, 16, 978, 614)  # the card on the page
RADIUS = 36
BAND = 170  # height of the band at the top of the card
PAD = 44  # inner padding of the card
QR_BOX = 296  # the white square that holds the QR code (with its quiet zone)
QR_TOP = BAND + 30  # from the card's top

# --- colours --------------------------------------------------------------------------------

PAGE = (233, 236, 240)
SHADOW = (150, 156, 166)
CARD_BG = (255, 255, 255)
RED_DARK = (122, 9, 22)
RED = (200, 16, 46)
SLATE_DARK = (38, 48, 64)
SLATE = (78, 92, 114)
GOLD_LIGHT = (244, 221, 150)
GOLD_DARK = (190, 150, 62)
INK = (28, 31, 38)
MUTED = (108, 114, 126)
ON_BAND = (255, 255, 255)
ON_RED_MUTED = (252, 214, 219)
ON_SLATE_MUTED = (206, 214, 226)
BORDER = (226, 229, 234)
DEMO_BG = (255, 196, 0)
DEMO_INK = (40, 30, 0)


@dataclass(frozen=True, slots=True)
class Tone:
    dot: Colour  # the status colour itself
    soft: Colour  # its tint, behind the status
    ink: Colour  # text on the tint


TONES = {
    "active": Tone((22, 150, 70), (229, 245, 234), (20, 83, 45)),
    "suspended": Tone((217, 119, 6), (254, 243, 219), (120, 53, 15)),
    "pending": Tone((37, 99, 235), (230, 238, 253), (30, 58, 138)),
    "rejected": Tone(RED, (253, 236, 238), RED_DARK),
    "withdrawn": Tone((120, 113, 108), (242, 240, 238), (68, 64, 60)),
    "left": Tone((71, 85, 105), (236, 240, 245), (30, 41, 59)),
}


def tone(name: str) -> Tone:
    return TONES.get(name, TONES["withdrawn"])


# --- the blank card -------------------------------------------------------------------------


def rounded_mask(size: tuple[int, int], radius: int) -> Image.Image:
    """An anti-aliased rounded rectangle (drawn at 4x, then reduced)."""
    ss = 4
    big = Image.new("L", (size[0] * ss, size[1] * ss))
    ImageDraw.Draw(big).rounded_rectangle(
        (0, 0, big.width - 1, big.height - 1), radius * ss, fill=255
    )
    return big.reduce(ss)


def gradient(size: tuple[int, int], left: Colour, right: Colour) -> Image.Image:
    strip = Image.new("RGB", (256, 1))
    strip.putdata(
        [
            tuple(round(a + (b - a) * t / 255) for a, b in zip(left, right, strict=True))
            for t in range(256)
        ]
    )
    return strip.resize(size, Image.Resampling.BILINEAR)


@lru_cache(maxsize=8)
def background(scale: int, kind: str = "member") -> Image.Image:
    """Everything that does not depend on the data, per scale and kind of document."""

    def s(v: float) -> int:
        return round(v * scale)

    page = Image.new("RGB", (s(WIDTH), s(HEIGHT)), PAGE)
    x0, y0, x1, y1 = (s(v) for v in CARD)
    size = (x1 - x0, y1 - y0)
    shape = rounded_mask(size, s(RADIUS))

    # A soft shadow, blurred small and enlarged.
    shadow = Image.new("L", page.size)
    shadow.paste(shape, (x0, y0 + s(6)))
    small = shadow.reduce(4).filter(ImageFilter.GaussianBlur(s(9) / 4))
    shadow = small.resize(page.size, Image.Resampling.BILINEAR).point(lambda v: v * 40 // 100)
    page.paste(Image.new("RGB", page.size, SHADOW), (0, 0), shadow)

    member = kind == "member"
    card = Image.new("RGB", size, CARD_BG)
    band_h = s(BAND)
    band = gradient((size[0], band_h), *((RED_DARK, RED) if member else (SLATE_DARK, SLATE)))
    if member:  # faint rings on the band, as on bank cards; a slip stays plain paper
        rings = Image.new("L", band.size)
        rd = ImageDraw.Draw(rings)
        for cx, cy, r, width in (
            (0.86, 1.25, 0.36, 26),
            (0.98, -0.2, 0.22, 18),
            (0.70, 1.9, 0.52, 14),
        ):
            c, m, rr = s(cx * CARD[2]), s(cy * BAND), s(r * CARD[2])
            rd.ellipse((c - rr, m - rr, c + rr, m + rr), outline=28, width=s(width))
        band.paste(Image.new("RGB", band.size, (255, 255, 255)), (0, 0), rings)
    card.paste(band, (0, 0))
    cd = ImageDraw.Draw(card)
    edge = RED if member else SLATE
    # Merah putih: red band, white line, a thin red line (a slip: the same in slate).
    cd.rectangle((0, band_h + s(7), size[0], band_h + s(11)), fill=edge)
    cd.rectangle((0, size[1] - s(10), size[0], size[1]), fill=RED_DARK if member else SLATE_DARK)
    page.paste(card, (x0, y0), shape)
    return page


# --- pieces both documents draw -------------------------------------------------------------


def draw_label(
    img: Image.Image, xy: tuple[int, float], text: str, style: Style, width: int
) -> None:
    draw_run(img, xy, fit(glyphs(text.upper()), style, width), style)


def status_pill(
    img: Image.Image,
    centre_left: tuple[int, int],
    text: str,
    colours: Tone,
    scale: int,
    width: int,
) -> None:
    """The status in a pill with its coloured dot; a long status shrinks before it is cut."""
    pad, dot, gap = round(14 * scale), round(8 * scale), round(8 * scale)
    room = width - 2 * pad - dot - gap
    run = glyphs(text)
    for size in (17, 16, 15, 14, 13, 12):
        style = Style(round(size * scale), colours.ink, 0.03)
        if style.width(run) <= room:
            break
    run = fit(run, style, room)
    if not run:
        return
    x, yc = centre_left
    h = round(34 * scale)
    w = 2 * pad + dot + gap + style.width(run)
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((x, yc - h // 2, x + w, yc + h // 2), h // 2, fill=colours.soft)
    d.ellipse((x + pad, yc - dot // 2, x + pad + dot, yc + dot // 2), fill=colours.dot)
    draw_run(img, (x + pad + dot + gap, yc + style.ascent() * 0.36), run, style)


LEADING = 1.25


def band_name(name: str, width: float, scale: int) -> tuple[Style, list[list[Glyph]]]:
    """The cooperative's name for the band: two lines large, else three smaller (a full
    legal name of 150 characters still fits whole)."""
    run = glyphs(name) or glyphs("-")
    for sizes, lines in (((34, 30, 27), 2), ((24, 22, 20), 3)):
        for size in sizes:
            style = Style(round(size * scale), ON_BAND, 0.055 if lines == 2 else 0.045)
            wrapped, complete = wrap(run, style, width, lines)
            if complete:
                return style, wrapped
    return style, wrapped


def paragraph(
    text: str, sizes: list[int], *, fill: Colour, width: float, height: float, bold: float = 0.0
) -> tuple[Style, list[list[Glyph]]]:
    """``text`` wrapped at the largest size whose lines all fit ``width`` x ``height``.

    Only text longer than the box holds at the smallest size is cut (the chat message beside
    the picture carries it whole)."""
    run = glyphs(text)
    result: tuple[Style, list[list[Glyph]]] | None = None
    for size in sizes:
        style = Style(size, fill, bold)
        lines = 1 + max(0, int((height - style.ascent()) // round(size * LEADING)))
        wrapped, complete = wrap(run, style, width, lines)
        result = style, wrapped
        if complete:
            break
    assert result is not None
    return result


def paragraph_height(style: Style, lines: list[list[Glyph]]) -> float:
    """From the top of the first line's capitals to the last line's baseline."""
    return style.ascent() * 0.78 + round(style.size * LEADING) * (len(lines) - 1)


def draw_paragraph(
    img: Image.Image,
    lines: list[list[Glyph]],
    style: Style,
    x: float,
    top: float,
    centre_in: float | None = None,
) -> float:
    """Draw the lines from ``top`` (centred in ``centre_in`` pixels if given); returns the
    last baseline."""
    y = top + style.ascent() * 0.78
    for line in lines:
        dx = (centre_in - style.width(line)) / 2 if centre_in is not None else 0.0
        draw_run(img, (x + dx, y), line, style)
        y += round(style.size * LEADING)
    return y - round(style.size * LEADING)


def draw_number(
    img: Image.Image, xy: tuple[int, float], number: str, scale: int, width: int
) -> None:
    """A member or application number, large, in fixed-width cells, slightly embossed."""
    number = "".join(g[0] for g in glyphs(number) if len(g[0]) == 1)
    for size in (42, 38, 34, 30, 26, 22):
        style = Style(round(size * scale), INK, 0.03)
        digit = max(style.font.getlength(c) for c in "0123456789")
        cell = max(digit * 1.08, *(style.font.getlength(c) * 0.9 for c in number or "0"))
        if cell * len(number) <= width:
            break
    if cell * len(number) > width:
        number = number[: max(0, int(width // cell) - 1)] + ELLIPSIS
    shadow = Style(style.size, (205, 208, 214), style.bold)
    draw_mono(img, (xy[0] + max(1, scale), xy[1] + max(1, scale)), number, shadow, cell)
    draw_mono(img, xy, number, style, cell)


def demo_badge(img: Image.Image, right: int, top: int, scale: int) -> int:
    """A yellow "DEMO" badge ending at ``right``; returns its left edge."""
    style = Style(round(22 * scale), DEMO_INK, 0.05)
    run = glyphs("DEMO")
    pad, h = round(16 * scale), round(40 * scale)
    w = round(style.width(run)) + 2 * pad
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((right - w, top, right, top + h), round(8 * scale), fill=DEMO_BG)
    draw_run(img, (right - w + pad, top + h / 2 + style.ascent() * 0.37), run, style)
    return right - w


def demo_watermark(
    img: Image.Image, box: tuple[int, int, int, int], scale: int, colour: Colour = RED
) -> None:
    """A large, faint, tilted "DEMO" behind the left column (never over the QR code)."""
    x0, y0, x1, y1 = box
    font = load_font(round(150 * scale))
    text = Image.new("L", (round(font.getlength("DEMO")) + 20, round(190 * scale)))
    ImageDraw.Draw(text).text((10, text.height // 2), "DEMO", font=font, fill=255, anchor="lm")
    text = text.rotate(14, resample=Image.Resampling.BICUBIC, expand=True)
    text = text.point(lambda v: v * 10 // 100)
    area = (x1 - x0, y1 - y0)
    if text.width > area[0] or text.height > area[1]:
        ratio = min(area[0] / text.width, area[1] / text.height)
        text = text.resize(
            (max(1, int(text.width * ratio)), max(1, int(text.height * ratio))),
            Image.Resampling.LANCZOS,
        )
    pos = (x0 + (area[0] - text.width) // 2, y0 + (area[1] - text.height) // 2)
    img.paste(colour, (*pos, pos[0] + text.width, pos[1] + text.height), text)


def draw_holder(
    img: Image.Image,
    data: CardData,
    scale: int,
    box: tuple[int, int, int, int],
    *,
    number_gap: int,
    name_gap: int,
) -> None:
    """The left column's number, the holder's name and the date at the foot, the same on a
    member card and an application slip (``box``: left, top, width, bottom; the gaps in
    pixels at 1× below the number's label and below the number)."""

    def s(v: float) -> int:
        return round(v * scale)

    left, top, col_w, bottom = box
    y: float = top
    label = data.labels.get
    label_style = Style(s(15), MUTED, 0.02)
    draw_label(img, (left, y), label("number", ""), label_style, col_w)
    draw_number(img, (left, y + s(number_gap)), data.member_number, scale, col_w)

    y += s(number_gap) + s(name_gap)
    draw_label(img, (left, y), label("member", ""), label_style, col_w)
    name_style, name_lines = best_wrap(
        glyphs(data.member_name) or glyphs("-"),
        [s(32), s(28), s(25)],
        fill=INK,
        bold=0.055,
        width=col_w,
        lines=2,
    )
    y += s(6) + name_style.ascent() * 0.78
    for line in name_lines:
        draw_run(img, (left, y + s(4)), line, name_style)
        y += round(name_style.size * 1.2)

    since_y = bottom - s(10) - s(34)
    since_style = Style(s(21), INK, 0.015)
    draw_label(img, (left, since_y - s(30)), label("since", ""), label_style, col_w)
    draw_run(img, (left, since_y), fit(glyphs(data.since), since_style, col_w), since_style)
