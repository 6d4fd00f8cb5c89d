"""The membership card as a picture: a bank-card-like PNG with a verification QR code.

What is not a membership (an application waiting, rejected or withdrawn; a membership that
ended) is drawn by :mod:`bot.services.cardslip` as what it is, on the same card stock
(:mod:`bot.services.cardpaper`); ``render_card`` picks the document by ``CardData.kind``.

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

import segno
from PIL import Image, ImageDraw

from bot.services.cardpaper import (
    BAND,
    BORDER,
    CARD,
    GOLD_DARK,
    GOLD_LIGHT,
    MUTED,
    ON_RED_MUTED,
    PAD,
    QR_BOX,
    QR_TOP,
    CardData,
    background,
    band_name,
    demo_badge,
    demo_watermark,
    draw_holder,
    draw_paragraph,
    gradient,
    paragraph,
    paragraph_height,
    rounded_mask,
    status_pill,
    tone,
)
from bot.services.cardslip import render_slip
from bot.services.cardtext import LOCK, Style, draw_run, fit, glyphs, wrap

__all__ = ["BAND", "CARD", "PAD", "QR_BOX", "QR_TOP", "CardData", "glyphs", "render_card"]

# The blank member card (tests compare drawn cards against it).
_background = background


def _chip(img: Image.Image, box: tuple[int, int, int, int], scale: int) -> None:
    """A contact chip, drawn with flat shapes."""
    d = ImageDraw.Draw(img)
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    grad = gradient((w, h), GOLD_LIGHT, GOLD_DARK)
    shape = rounded_mask((w, h), round(9 * scale))
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
        img = _render(data, scale) if data.kind == "member" else render_slip(data, scale)
    out = io.BytesIO()
    img.save(out, "PNG")  # zlib level 6: as small as optimize=True within 3%, 4x faster
    return out.getvalue()


def _render(data: CardData, scale: int) -> Image.Image:
    def s(v: float) -> int:
        return round(v * scale)

    img = background(scale).copy()
    cx0, cy0, cx1, cy1 = (s(v) for v in CARD)
    left = cx0 + s(PAD)
    label = data.labels.get

    # Band: the DEMO badge, the cooperative's name and type.
    right = cx1 - s(PAD)
    if data.demo:
        right = demo_badge(img, right, cy0 + s(30), scale) - s(22)
    style, lines = band_name(data.coop_name, right - left, scale)
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
    elif data.note:  # not valid now (suspended): say why where the QR code would be
        colours = tone(data.tone)
        d.rounded_rectangle(
            (qr_x0, qr_y0, qr_x0 + s(QR_BOX), qr_y0 + s(QR_BOX)),
            s(14),
            fill=colours.soft,
            outline=colours.dot,
            width=max(1, s(2)),
        )
        inner = s(QR_BOX) - s(52)
        style, lines = paragraph(
            data.note,
            [s(v) for v in (26, 23, 20, 18, 16)],
            fill=colours.ink,
            width=inner,
            height=inner,
            bold=0.03,
        )
        top = qr_y0 + (s(QR_BOX) - paragraph_height(style, lines)) / 2
        draw_paragraph(img, lines, style, qr_x0 + s(26), top, centre_in=inner)
    else:  # nothing to verify: a blank square with faint finders
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
        demo_watermark(img, (left, chip_y, qr_x0 - s(20), cy1 - s(12)), scale)
    _chip(img, (left, chip_y, left + s(76), chip_y + s(56)), scale)
    if data.status:
        status_pill(
            img,
            (left + s(76) + s(22), chip_y + s(28)),
            data.status,
            tone(data.tone),
            scale,
            col_w - s(76) - s(22),
        )

    top = chip_y + s(56) + s(42)
    draw_holder(img, data, scale, (left, top, col_w, cy1), number_gap=44, name_gap=46)
    return img
