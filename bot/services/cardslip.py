"""The application slip and the status card: what is not (or no longer) a membership.

A waiting, rejected or withdrawn application and a membership that ended are drawn on the
card stock of :mod:`bot.services.cardpaper` but as what they are: a slate band titled
"Membership application" (or "Ended membership"), no chip and no QR code, the number under
its own label ("Application number"), and on the right a panel in the status's colour with
the status and its full sentence (the waiting date, the rejection's reason), wrapped and
shrunk to fit rather than cut.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from bot.services.cardpaper import (
    BAND,
    CARD,
    INK,
    ON_SLATE_MUTED,
    PAD,
    SLATE,
    CardData,
    background,
    band_name,
    demo_badge,
    demo_watermark,
    draw_holder,
    draw_paragraph,
    paragraph,
    tone,
)
from bot.services.cardtext import Style, draw_run, fit, glyphs

PANEL_W = 340  # the status panel on the right (where a member card has its QR code)


def render_slip(data: CardData, scale: int) -> Image.Image:
    def s(v: float) -> int:
        return round(v * scale)

    img = background(scale, "slip").copy()
    cx0, cy0, cx1, cy1 = (s(v) for v in CARD)
    left, right = cx0 + s(PAD), cx1 - s(PAD)
    label = data.labels.get

    # Band: the kind of document, then the cooperative's name.
    band_right = right
    if data.demo:
        band_right = demo_badge(img, right, cy0 + s(30), scale) - s(22)
    title_style = Style(s(17), ON_SLATE_MUTED, 0.04)
    title = fit(glyphs(label("title", "").upper()), title_style, band_right - left)
    style, lines = band_name(data.coop_name, band_right - left, scale)
    line_h = round(style.size * 1.22)
    block = style.ascent() * 0.78 + line_h * (len(lines) - 1)
    if title:
        block += title_style.ascent() * 0.78 + s(16)
    y = cy0 + (s(BAND) - block) / 2
    if title:
        y += title_style.ascent() * 0.78
        draw_run(img, (left, y), title, title_style)
        y += s(16)
    y += style.ascent() * 0.78
    for line in lines:
        draw_run(img, (left, y), line, style)
        y += line_h

    # The status panel on the right: a coloured edge, the status, its whole sentence.
    colours = tone(data.tone)
    px0, py0 = right - s(PANEL_W), cy0 + s(BAND) + s(34)
    px1, py1 = right, cy1 - s(10) - s(30)
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((px0, py0, px1, py1), s(14), fill=colours.soft)
    d.rounded_rectangle((px0, py0, px0 + s(8), py1), s(4), fill=colours.dot)
    inner_x, inner_w = px0 + s(30), (px1 - px0) - s(30) - s(22)
    top: float = py0 + s(24)
    heading_style, heading = paragraph(
        data.status,
        [s(v) for v in (28, 25, 22, 20)],
        fill=colours.ink,
        width=inner_w,
        height=s(70),
        bold=0.06,
    )
    if data.status:
        last = draw_paragraph(img, heading, heading_style, inner_x, top)
        top = last + s(22)
    if data.note:
        note_style, note = paragraph(
            data.note,
            [s(v) for v in (22, 20, 18, 17, 16, 15, 14, 13)],
            fill=INK,
            width=inner_w,
            height=py1 - s(20) - top,
        )
        draw_paragraph(img, note, note_style, inner_x, top)

    # The left column: number, name, date.
    col_w = px0 - s(34) - left
    top = cy0 + s(BAND) + s(34)
    if data.demo:
        demo_watermark(img, (left, top, px0 - s(20), cy1 - s(12)), scale, SLATE)
    draw_holder(img, data, scale, (left, top + s(22), col_w, cy1), number_gap=46, name_gap=50)
    return img
