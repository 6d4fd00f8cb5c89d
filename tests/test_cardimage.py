"""The card image: a valid PNG of the right size, a QR that scans to the exact link, any
text drawn without error or overflow, the same bytes for the same card."""

from __future__ import annotations

import io
import time
from dataclasses import replace

import pytest
import zxingcpp
from PIL import Image, ImageChops

from bot.services import cardimage
from bot.services.cardimage import CardData, glyphs, render_card

LABELS = {
    "member": "Nama anggota",
    "number": "No. anggota",
    "since": "Anggota sejak",
    "scan": "Pindai untuk verifikasi",
}
LINK = "https://t.me/GerbangKoperasiBot?start=v_AbCdEfGhIjKlMnOpQrStUvWxYz012345"
LONG_LINK = "https://t.me/GerbangKoperasiBot?start=v_" + "Ab-_9z" * 10  # 100 characters
CARD = CardData(
    coop_name="Koperasi Kelurahan Merah Putih Kesawan (Demo)",
    coop_type="Serba usaha",
    member_name="Ni Made Ayu Çandra Dewi",
    member_number="KKMPK-000042",
    since="17 Agustus 2026",
    link=LINK,
    labels=LABELS,
    status="Aktif",
)
LONG_COOP = (
    "Koperasi Produsen Simpan Pinjam Serba Usaha Desa Sukamaju Makmur Sejahtera "
    "Bersama Kecamatan Cibinong Kabupaten Bogor Provinsi Jawa Barat Indonesia Raya"
)[:150]
LONG_NAME = (
    "Raden Mas Muhammad Abdurrahman Wiryawan Cakraningrat Hadiningrat "
    "Kusumawardhana Putra Sejati Bin"
)[:100]
ODD_NAMES = [
    "Ni Made Ayu Çandra Dewi",
    "Şükrü Çağrı Ñúñez Kněžević Øyvind Ægir Łukasz Hậu ǅ ß",
    "Budi 😀🇮🇩👨‍👩‍👧 Santoso",
    "محمد علي",  # Arabic, right to left
    "שלום עליכם",  # Hebrew, right to left
    "李小龙 Siti",
    "e\u0301e\u0300\u0338 i\u0301j\u030c",  # decomposed accents, a mark the card lacks
    "\u200f\u202eTab\tNew\nline\u00a0nbsp\u200b\x00\ud800",  # controls, a lone surrogate
    "😀",  # nothing drawable at all
    "   ",
    "",
    "W" * 100,  # one word wider than two lines
]


def image(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    img.load()
    return img


def decoded(png: bytes) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(image(png))]


def test_png_of_card_size() -> None:
    png = render_card(CARD)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    img = image(png)
    assert (img.format, img.size, img.mode) == ("PNG", (1000, 630), "RGB")
    assert image(render_card(CARD, scale=2)).size == (2000, 1260)


@pytest.mark.parametrize("scale", [0, -1, 5])
def test_bad_scale(scale: int) -> None:
    with pytest.raises(ValueError, match="scale"):
        render_card(CARD, scale=scale)


@pytest.mark.parametrize(
    "link",
    [
        LINK,
        LONG_LINK,
        "https://t.me/GerbangKoperasiBot?start=v_" + "x" * 32,
        "https://t.me/b?start=v_-",
        "https://t.me/GerbangKoperasiBot?start=v_" + "-_" * 16,
    ],
)
@pytest.mark.parametrize("scale", [1, 2])
def test_qr_scans_to_the_link(link: str, scale: int) -> None:
    assert len(LONG_LINK) == 100
    png = render_card(replace(CARD, link=link), scale=scale)
    assert decoded(png) == [link]


def test_qr_is_large_enough_to_scan() -> None:
    """At least ~220 px for the symbol itself (without its quiet zone), even at 100 chars."""
    for link in (LINK, LONG_LINK):
        [barcode] = zxingcpp.read_barcodes(image(render_card(replace(CARD, link=link))))
        pos = barcode.position
        assert pos.top_right.x - pos.top_left.x >= 200
        assert pos.bottom_left.y - pos.top_left.y >= 200


@pytest.mark.parametrize("name", ODD_NAMES)
def test_any_member_name(name: str) -> None:
    for scale in (1, 2):
        png = render_card(replace(CARD, member_name=name), scale=scale)
        assert decoded(png) == [LINK]


@pytest.mark.parametrize(
    "card",
    [
        replace(CARD, coop_name=LONG_COOP, member_name=LONG_NAME, demo=True),
        replace(CARD, coop_name="X" * 150, member_name="M" * 100, member_number="Q" * 60),
        replace(
            CARD,
            coop_name="",
            coop_type="",
            member_name="",
            member_number="",
            since="",
            status="",
            labels={},
        ),
        replace(CARD, status=""),
        replace(CARD, status="Menunggu persetujuan pengurus koperasi " * 4),
        replace(CARD, coop_type="Simpan pinjam dan pembiayaan syariah " * 5, since="x" * 80),
        replace(CARD, labels={k: v * 8 for k, v in LABELS.items()}),
        replace(CARD, coop_name="😀 محمد علي 🇮🇩", coop_type="李小龙", since="١٧ أغسطس ٢٠٢٦"),
    ],
)
def test_long_and_odd_text(card: CardData) -> None:
    for scale in (1, 2):
        assert decoded(render_card(card, scale=scale)) == [card.link]


def test_text_stays_inside_the_card_and_off_the_qr() -> None:
    """Against the blank card: the margins are untouched; long text does not reach the QR."""
    blank = cardimage._background(1)
    x0, y0, x1, y1 = cardimage.CARD
    pad = cardimage.PAD - 12
    outside = [
        (0, 0, 1000, y0 + 12),
        (0, y1 - 12, 1000, 630),
        (0, 0, x0 + pad, 630),
        (x1 - pad, 0, 1000, 630),
    ]
    qr_box = (x1 - cardimage.PAD - cardimage.QR_BOX - 12, y0 + cardimage.QR_TOP - 12, x1, y1)
    normal = image(render_card(CARD)).crop(qr_box)
    for card in (
        replace(CARD, coop_name=LONG_COOP, member_name=LONG_NAME, demo=True),
        replace(
            CARD,
            coop_name="W" * 150,
            member_name="W" * 100,
            demo=True,
            member_number="W" * 60,
            status="W" * 80,
            since="W" * 80,
            labels={**{k: "W" * 80 for k in LABELS}, "scan": LABELS["scan"]},
        ),
    ):
        img = image(render_card(card))
        for box in outside:
            assert ImageChops.difference(img.crop(box), blank.crop(box)).getbbox() is None, box
        assert ImageChops.difference(img.crop(qr_box), normal).getbbox() is None


def test_deterministic() -> None:
    assert render_card(CARD) == render_card(replace(CARD, labels=dict(LABELS)))
    assert render_card(CARD, scale=2) == render_card(CARD, scale=2)
    assert render_card(CARD) != render_card(replace(CARD, member_number="KKMPK-000043"))
    assert render_card(CARD) != render_card(replace(CARD, link=LINK[:-1] + "6"))


def test_no_metadata() -> None:
    img = image(render_card(CARD))
    assert not img.info.keys() - {"dpi", "gamma"}
    assert not img.text  # type: ignore[attr-defined]


def test_demo_mark() -> None:
    plain, demo = image(render_card(CARD)), image(render_card(replace(CARD, demo=True)))
    changed = ImageChops.difference(plain, demo).getbbox()
    assert changed is not None
    # The badge sits at the top right of the red band.
    assert changed[2] > 900 and changed[1] < cardimage.CARD[1] + cardimage.BAND
    assert decoded(image_bytes(demo)) == [LINK]


def image_bytes(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def test_no_link_no_qr() -> None:
    """A card that is not active carries no link: an empty square, nothing to scan."""
    png = render_card(replace(CARD, link="", status="Menunggu persetujuan"))
    assert image(png).size == (1000, 630)
    assert decoded(png) == []


def test_fast_enough() -> None:
    render_card(CARD)  # warm the caches
    start = time.perf_counter()
    for i in range(5):
        render_card(replace(CARD, member_number=f"KKMPK-{i:06d}"))
    assert (time.perf_counter() - start) / 5 < 0.5  # ~40 ms here; generous for slow CI


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Budi  Santoso ", "Budi Santoso"),
        ("Çandra", "Candra"),
        ("Straße Ærø", "Strasse AEro"),
        ("Budi 😀 Santoso", "Budi Santoso"),
        ("محمد علي", "? ?"),
        ("李小龙 Siti", "? Siti"),
        ("a\u200bb\x00c", "abc"),
        ("\u2013 \u2014", "- -"),
        ("", ""),
    ],
)
def test_glyphs(text: str, expected: str) -> None:
    assert "".join(g[0] for g in glyphs(text)) == expected


def test_glyphs_keep_accents() -> None:
    assert glyphs("Çé") == [("C", ("\u0327",)), ("e", ("\u0301",))]
    assert glyphs("e\u0301") == [("e", ("\u0301",))]
