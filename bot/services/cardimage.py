"""The membership card as a picture: a bank-card-like PNG with a verification QR code.

Pure rendering (Pillow and segno, no I/O). The only font is the scalable one Pillow ships
(``ImageFont.load_default(size=…)``: Aileron, ASCII and a little punctuation), so text is
first reduced to what that font can draw: accented letters are drawn as their base letter
with the accent composed on top (``Ç`` = ``C`` + a cedilla), a few letters are spelled out
(``ß`` → ``ss``), other letters become ``?`` and symbols the font lacks (emoji) are dropped.
Nothing the font cannot draw ever reaches it, so no input shows a missing-glyph box or
raises. The same input gives the same bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

import segno
from PIL import Image, ImageDraw, ImageFilter

from bot.services.cardtext import (
    ELLIPSIS,
    LOCK,
    Style,
    best_wrap,
    draw_mono,
    draw_run,
    fit,
    glyphs,
    load_font,
    wrap,
)

__all__ = ["CardData", "render_card"]


@dataclass(frozen=True, slots=True)
class CardData:
    coop_name: str  # e.g. "Koperasi Kelurahan Merah Putih Kesawan (Demo)", up to 150 chars
    coop_type: str  # already translated, e.g. "Serba usaha"
    member_name: str  # up to 100 chars
    member_number: str  # e.g. "KKMPK-000042"
    since: str  # already formatted date, e.g. "17 Agustus 2026"
    link: str  # the verification deep link the QR encodes exactly ("" = no QR)
    labels: dict[str, str]  # "member", "number", "since", "scan"
    status: str = ""  # optional translated status, shown small
    demo: bool = False  # a clearly visible "DEMO" mark


# --- geometry (at scale 1; everything is multiplied by the scale) -------------------------

WIDTH, HEIGHT = 1000, 630  # the ID-1 ratio (85.60 x 53.98 mm)
CARD = (22, 16, 978, 614)  # the card on the page
RADIUS = 36
BAND = 170  # height of the red band at the top of the card
PAD = 44  # inner padding of the card
QR_BOX = 296  # the white square that holds the QR code (with its quiet zone)
QR_TOP = BAND + 30  # from the card's top

# --- colours --------------------------------------------------------------------------------

PAGE = (233, 236, 240)
SHADOW = (150, 156, 166)
CARD_BG = (255, 255, 255)
RED_DARK = (122, 9, 22)
RED = (200, 16, 46)
RED_SOFT = (253, 236, 238)
GOLD_LIGHT = (244, 221, 150)
GOLD_DARK = (190, 150, 62)
INK = (28, 31, 38)
MUTED = (108, 114, 126)
ON_RED = (255, 255, 255)
ON_RED_MUTED = (252, 214, 219)
BORDER = (226, 229, 234)
DEMO_BG = (255, 196, 0)
DEMO_INK = (40, 30, 0)


def _rounded_mask(size: tuple[int, int], radius: int) -> Image.Image:
    """An anti-aliased rounded rectangle (drawn at 4x, then reduced)."""
    ss = 4
    big = Image.new("L", (size[0] * ss, size[1] * ss))
    ImageDraw.Draw(big).rounded_rectangle(
        (0, 0, big.width - 1, big.height - 1), radius * ss, fill=255
    )
    return big.reduce(ss)


def _gradient(
    size: tuple[int, int], left: tuple[int, int, int], right: tuple[int, int, int]
) -> Image.Image:
    strip = Image.new("RGB", (256, 1))
    strip.putdata(
        [
            tuple(round(a + (b - a) * t / 255) for a, b in zip(left, right, strict=True))
            for t in range(256)
        ]
    )
    return strip.resize(size, Image.Resampling.BILINEAR)


@lru_cache(maxsize=4)
def _background(scale: int) -> Image.Image:
    """Everything that does not depend on the data, per scale."""

    def s(v: float) -> int:
        return round(v * scale)

    page = Image.new("RGB", (s(WIDTH), s(HEIGHT)), PAGE)
    x0, y0, x1, y1 = (s(v) for v in CARD)
    size = (x1 - x0, y1 - y0)
    shape = _rounded_mask(size, s(RADIUS))

    # A soft shadow, blurred small and enlarged.
    shadow = Image.new("L", page.size)
    shadow.paste(shape, (x0, y0 + s(6)))
    small = shadow.reduce(4).filter(ImageFilter.GaussianBlur(s(9) / 4))
    shadow = small.resize(page.size, Image.Resampling.BILINEAR).point(lambda v: v * 40 // 100)
    page.paste(Image.new("RGB", page.size, SHADOW), (0, 0), shadow)

    card = Image.new("RGB", size, CARD_BG)
    band_h = s(BAND)
    band = _gradient((size[0], band_h), RED_DARK, RED)
    # Faint rings on the band, as on bank cards.
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
    # Merah putih: red band, white line, a thin red line.
    cd.rectangle((0, band_h + s(7), size[0], band_h + s(11)), fill=RED)
    # A thin red edge at the bottom.
    cd.rectangle((0, size[1] - s(10), size[0], size[1]), fill=RED_DARK)
    page.paste(card, (x0, y0), shape)
    return page


def _chip(img: Image.Image, box: tuple[int, int, int, int], scale: int) -> None:
    """A contact chip, drawn with flat shapes."""
    d = ImageDraw.Draw(img)
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    grad = _gradient((w, h), GOLD_LIGHT, GOLD_DARK)
    shape = _rounded_mask((w, h), round(9 * scale))
    img.paste(grad, (x0, y0), shape)
    line = max(1, round(1.5 * scale))
    colour = (160, 122, 44)
    d.line((x0 + w // 3, y0 + 2 * line, x0 + w // 3, y1 - 2 * line), fill=colour, width=line)
    d.line(
        (x0 + 2 * w // 3, y0 + 2 * line, x0 + 2 * w // 3, y1 - 2 * line), fill=colour, width=line
    )
    for fy in (1 / 3, 2 / 3):
        yy = y0 + round(h * fy)
        d.line((x0 + 2 * line, yy, x0 + w // 3, yy), fill=colour, width=line)
        d.line((x0 + 2 * w // 3, yy, x1 - 2 * line, yy), fill=colour, width=line)
    d.rounded_rectangle(
        (x0 + w // 3, y0 + h // 4, x0 + 2 * w // 3, y1 - h // 4),
        round(4 * scale),
        outline=colour,
        width=line,
    )


def _qr(link: str, box: int) -> Image.Image:
    """The QR code of ``link`` (quiet zone of 4 modules), as large as ``box`` allows."""
    code = segno.make(link, error="m", micro=False)
    rows = [bytes(row) for row in code.matrix]
    n = len(rows)
    total = n + 8
    module = max(1, box // total)
    matrix = Image.frombytes("L", (n, n), b"".join(rows)).point(lambda v: 0 if v else 255)
    qr = Image.new("L", (total, total), 255)
    qr.paste(matrix, (4, 4))
    return qr.resize((total * module, total * module), Image.Resampling.NEAREST)


# --- the card ----------------------------------------------------------------------------


def render_card(data: CardData, *, scale: int = 1) -> bytes:
    """PNG bytes of the card (1000x630 px at scale 1, the ID-1 card ratio)."""
    if not isinstance(scale, int) or not 1 <= scale <= 4:
        raise ValueError("scale must be an integer from 1 to 4")
    with LOCK:
        img = _render(data, scale)
    out = io.BytesIO()
    img.save(out, "PNG")  # zlib level 6: as small as optimize=True within 3%, 4x faster
    return out.getvalue()


def _render(data: CardData, scale: int) -> Image.Image:
    def s(v: float) -> int:
        return round(v * scale)

    img = _background(scale).copy()
    cx0, cy0, cx1, cy1 = (s(v) for v in CARD)
    left = cx0 + s(PAD)
    label = data.labels.get

    # Band: the DEMO badge, the cooperative's name and type.
    right = cx1 - s(PAD)
    if data.demo:
        right = _demo_badge(img, right, cy0 + s(30), scale) - s(22)
    name_run = glyphs(data.coop_name) or glyphs("-")
    style, lines = best_wrap(
        name_run, [s(34), s(30), s(27)], fill=ON_RED, bold=0.055, width=right - left, lines=2
    )
    type_style = Style(s(21), ON_RED_MUTED)
    type_line = fit(glyphs(data.coop_type), type_style, right - left)
    line_h = round(style.size * 1.22)
    block = style.ascent() * 0.78 + line_h * (len(lines) - 1)
    if type_line:
        block += s(12) + type_style.ascent() * 0.78
    y = cy0 + (s(BAND) - block) / 2 + style.ascent() * 0.78
    for line in lines:
        draw_run(img, (left, y), line, style)
        y += line_h
    if type_line:
        y += s(12) + type_style.ascent() * 0.78 - line_h
        draw_run(img, (left, y), type_line, type_style)

    # The QR code on the right, its caption below.
    qr_x0 = cx1 - s(PAD) - s(QR_BOX)
    qr_y0 = cy0 + s(QR_TOP)
    d = ImageDraw.Draw(img)
    d.rounded_rectangle(
        (qr_x0, qr_y0, qr_x0 + s(QR_BOX), qr_y0 + s(QR_BOX)),
        s(14),
        fill=(255, 255, 255),
        outline=BORDER,
        width=max(1, s(1.5)),
    )
    caption_style = Style(s(18), MUTED)
    if data.link:
        qr = _qr(data.link, s(QR_BOX) - s(6))
        img.paste(
            qr.convert("RGB"),
            (qr_x0 + (s(QR_BOX) - qr.width) // 2, qr_y0 + (s(QR_BOX) - qr.height) // 2),
        )
        caption, _ = wrap(glyphs(label("scan", "")), caption_style, s(QR_BOX), 2)
        y = qr_y0 + s(QR_BOX) + s(30)
        for line in caption:
            draw_run(
                img, (qr_x0 + (s(QR_BOX) - caption_style.width(line)) / 2, y), line, caption_style
            )
            y += s(23)
    else:  # nothing to verify (the card is not active): a blank square with faint finders
        d.rounded_rectangle(
            (qr_x0, qr_y0, qr_x0 + s(QR_BOX), qr_y0 + s(QR_BOX)),
            s(14),
            fill=(246, 247, 249),
            outline=BORDER,
            width=max(1, s(1.5)),
        )
        f, inset = s(56), s(40)
        for fx, fy in ((0, 0), (1, 0), (0, 1)):
            x = qr_x0 + inset + fx * (s(QR_BOX) - 2 * inset - f)
            y = qr_y0 + inset + fy * (s(QR_BOX) - 2 * inset - f)
            d.rectangle((x, y, x + f, y + f), outline=BORDER, width=s(8))
            d.rectangle((x + s(18), y + s(18), x + f - s(18), y + f - s(18)), fill=BORDER)

    # The left column: chip and status, number, name; "since" at the bottom.
    col_w = qr_x0 - s(34) - left
    chip_y = cy0 + s(BAND) + s(38)
    if data.demo:
        _demo_watermark(img, (left, chip_y, qr_x0 - s(20), cy1 - s(12)), scale)
    _chip(img, (left, chip_y, left + s(76), chip_y + s(56)), scale)
    if data.status:
        _status_pill(
            img, (left + s(76) + s(22), chip_y + s(28)), data.status, scale, col_w - s(76) - s(22)
        )

    label_style = Style(s(15), MUTED, 0.02)
    y = chip_y + s(56) + s(42)
    _draw_label(img, (left, y), label("number", ""), label_style, col_w)
    number = "".join(g[0] for g in glyphs(data.member_number) if len(g[0]) == 1)
    _draw_number(img, (left, y + s(44)), number, scale, col_w)

    y += s(44) + s(46)
    _draw_label(img, (left, y), label("member", ""), label_style, col_w)
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

    since_y = cy1 - s(10) - s(34)
    since_style = Style(s(21), INK, 0.015)
    _draw_label(img, (left, since_y - s(30)), label("since", ""), label_style, col_w)
    draw_run(img, (left, since_y), fit(glyphs(data.since), since_style, col_w), since_style)
    return img


def _draw_label(
    img: Image.Image, xy: tuple[int, float], text: str, style: Style, width: int
) -> None:
    draw_run(img, xy, fit(glyphs(text.upper()), style, width), style)


def _draw_number(
    img: Image.Image, xy: tuple[int, float], number: str, scale: int, width: int
) -> None:
    """The member number, large, in fixed-width cells, slightly embossed."""
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


def _status_pill(
    img: Image.Image, centre_left: tuple[int, int], text: str, scale: int, width: int
) -> None:
    style = Style(round(17 * scale), RED_DARK, 0.03)
    pad, dot = round(14 * scale), round(8 * scale)
    run = fit(glyphs(text), style, width - 2 * pad - dot - round(8 * scale))
    if not run:
        return
    x, yc = centre_left
    h = round(34 * scale)
    w = 2 * pad + dot + round(8 * scale) + style.width(run)
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((x, yc - h // 2, x + w, yc + h // 2), h // 2, fill=RED_SOFT)
    d.ellipse((x + pad, yc - dot // 2, x + pad + dot, yc + dot // 2), fill=RED)
    draw_run(img, (x + pad + dot + round(8 * scale), yc + style.ascent() * 0.36), run, style)


def _demo_badge(img: Image.Image, right: int, top: int, scale: int) -> int:
    """A yellow "DEMO" badge ending at ``right``; returns its left edge."""
    style = Style(round(22 * scale), DEMO_INK, 0.05)
    run = glyphs("DEMO")
    pad, h = round(16 * scale), round(40 * scale)
    w = round(style.width(run)) + 2 * pad
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((right - w, top, right, top + h), round(8 * scale), fill=DEMO_BG)
    draw_run(img, (right - w + pad, top + h / 2 + style.ascent() * 0.37), run, style)
    return right - w


def _demo_watermark(img: Image.Image, box: tuple[int, int, int, int], scale: int) -> None:
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
    img.paste(RED, (*pos, pos[0] + text.width, pos[1] + text.height), text)
