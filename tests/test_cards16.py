"""Issue 16, cards: applications drawn as slips (not member cards), a colour per status, the
whole status text; a reason escaped once per medium; "apply again"; verification with the
member number for those who may see it and the time in WIB/WITA/WIT."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import zxingcpp
from PIL import Image

from bot.app import Backend, Services
from bot.services import cardslip
from bot.services.cardimage import CardData, render_card
from bot.services.cardpaper import RED, SLATE, TONES
from bot.services.cards import CardService
from bot.services.cardtext import Glyph, Style
from bot.services.timezones import WIB, WIT, WITA, coop_zone, format_moment, province_zone
from storage.models import Cooperative, Point
from tests.conftest import Chat, texts
from tests.factories import import_rows, present
from tests.test_cards import apply
from tests.test_membership import ROWS

FAR = [
    {  # Makassar, South Sulawesi: WITA
        "name": "Koperasi Konsumen Losari",
        "type": "konsumen",
        "latitude": "-5.147",
        "longitude": "119.432",
        "registration_number": "MKS-1",
    },
    {  # Jayapura, Papua: WIT
        "name": "Koperasi Jasa Cenderawasih",
        "type": "jasa",
        "latitude": "-2.533",
        "longitude": "140.717",
        "registration_number": "JPR-1",
    },
]
HTML_REASON = "Kuota <b>penuh</b> & _*["


@pytest.fixture
async def coops(services: Services) -> dict[str, str]:
    return await import_rows(services, ROWS + FAR, on_platform=True)


def drawn(services: Services) -> list[CardData]:
    """Record what every card image is drawn from."""
    seen: list[CardData] = []
    original = services.cards.image

    def image(key: str, build: Callable[[], CardData]) -> bytes:
        def recorded() -> CardData:
            data = build()
            seen.append(data)
            return data

        return original(key, recorded)

    services.cards.image = image  # type: ignore[method-assign]
    return seen


def image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


SLIP = CardData(
    coop_name="Koperasi Produsen Simpan Pinjam Serba Usaha Desa Sukamaju Makmur Sejahtera "
    "Bersama Kecamatan Cibinong Kabupaten Bogor Provinsi Jawa Barat",
    coop_type="Serba usaha",
    member_name="Siti Aminah",
    member_number="GK-2026-000123",
    since="30 November 2026",
    link="",
    labels={"title": "Permohonan keanggotaan", "number": "No. permohonan"},
    status="Menunggu persetujuan",
    kind="slip",
    tone="pending",
    note="Menunggu keputusan pengurus sejak 30 November 2026.",
)


class TestSlipImage:
    def test_each_status_has_its_own_colour(self) -> None:
        assert len({t.dot for t in TONES.values()}) == len(TONES)

    def test_a_slip_is_not_a_member_card(self) -> None:
        png = render_card(SLIP)
        img = image(png)
        assert img.size == (1000, 630)
        assert zxingcpp.read_barcodes(img) == []
        # The band is slate, not the member card's red (sampled at its left edge).
        r, g, b = img.getpixel((40, 100))  # type: ignore[misc]
        assert abs(r - g) < 40 and b > r, (r, g, b)
        member = image(render_card(replace(SLIP, kind="member", tone="active")))
        mr, mg, _mb = member.getpixel((40, 100))  # type: ignore[misc]
        assert mr > 100 and mg < 40
        assert SLATE != RED

    @pytest.mark.parametrize("scale", [1, 2])
    @pytest.mark.parametrize(
        "note",
        [
            "Menunggu keputusan pengurus sejak 30 November 2026.",
            "Alasan: " + HTML_REASON + " " + "kuota anggota baru dibuka lagi setelah RAT " * 6,
            "Alasan: " + "x" * 60 + " " + "y" * 60,  # words wider than the panel
        ],
    )
    def test_the_whole_status_is_drawn(
        self, monkeypatch: pytest.MonkeyPatch, note: str, scale: int
    ) -> None:
        """Wrapped or shrunk, never cut: every letter of a 300-character reason is drawn."""
        note = note[:308]
        lines: list[str] = []
        original = cardslip.draw_paragraph

        def record(
            img: Image.Image,
            runs: list[list[Glyph]],
            style: Style,
            x: float,
            top: float,
            centre_in: float | None = None,
        ) -> float:
            lines.extend("".join(g[0] for g in run) for run in runs)
            return original(img, runs, style, x, top, centre_in)

        monkeypatch.setattr(cardslip, "draw_paragraph", record)
        render_card(replace(SLIP, note=note), scale=scale)
        text = "".join(lines)
        assert "…" not in text
        assert re.sub(r"\s", "", text).endswith(re.sub(r"\s", "", note))


class TestWalletEntries:
    async def test_pending_and_rejected_are_slips_with_the_reason_plain(
        self, chat: Chat, services: Services, coops
    ) -> None:
        seen = drawn(services)
        await apply(services, 1001, coops["KK-2"], "1271055708900001")
        rejected = await apply(services, 1001, coops["KSP-3"], "1271055708900001")
        await services.membership.reject(rejected, HTML_REASON)
        calls = await chat.send("/kartu")
        pending = seen[-1]
        assert pending.kind == "slip" and pending.tone == "pending" and pending.link == ""
        assert pending.labels["number"] == "No. permohonan"
        assert pending.member_number.startswith("GK-")
        assert "Anggota sejak" not in pending.labels.values()
        assert pending.note.startswith("Diajukan pada ")
        calls = await chat.tap("▶")
        slip = seen[-1]
        assert (slip.kind, slip.tone, slip.status) == ("slip", "rejected", "Permohonan ditolak")
        # The picture is drawn from plain text; the HTML caption escapes it exactly once.
        assert slip.note == "Alasan: " + HTML_REASON
        caption = next(c for c in calls if c.method == "editMessageMedia").params["media"][
            "caption"
        ]
        assert "Kuota &lt;b&gt;penuh&lt;/b&gt; &amp; _*[" in caption
        assert "&amp;lt;" not in caption
        listing = texts(await chat.tap("daftar"))[0]
        assert "Kuota &lt;b&gt;penuh&lt;/b&gt; &amp; _*[" in listing
        assert "Permohonan: GK-" in listing and "Nomor anggota" not in listing

    async def test_member_cards_and_tones(self, chat: Chat, services: Services, coops) -> None:
        seen = drawn(services)
        a = await apply(services, 1001, coops["KK-2"], "1271055708900001")
        await services.membership.approve(a)
        await chat.send("/kartu", language="en")
        active = seen[-1]
        assert (active.kind, active.tone, active.status) == ("member", "active", "Active")
        assert active.link and active.labels["number"] == "Member number"
        await services.membership.apps.transition(a, ("active",), "suspended")
        await chat.send("/kartu", language="en")
        suspended = seen[-1]
        assert (suspended.kind, suspended.tone, suspended.link) == ("member", "suspended", "")
        assert "not valid" in suspended.note
        await services.membership.leave(1001, a)
        await chat.send("/kartu", language="en")
        left = seen[-1]
        assert (left.kind, left.tone) == ("slip", "left")
        assert left.member_number.startswith("KKS-") and left.labels["number"] == "Member number"
        assert left.status == "Membership ended"

    async def test_apply_again_opens_the_join_entry(
        self, chat: Chat, services: Services, coops
    ) -> None:
        rejected = await apply(services, 1001, coops["KSP-3"], "1271055708900001")
        await services.membership.reject(rejected, "preset:area")
        withdrawn = await apply(services, 1001, coops["KJ-4"], "1271055708900001")
        await services.membership.withdraw(1001, withdrawn)
        calls = await chat.send("/kartu", language="en")
        rows = calls[0].params["reply_markup"]["inline_keyboard"]
        again = [b for row in rows for b in row if "Apply again" in b["text"]]
        assert len(again) == 1
        assert again[0]["callback_data"] in (f"jn:{coops['KSP-3']}", f"jn:{coops['KJ-4']}")
        calls = await chat.tap("Apply again", language="en")
        assert any("Join " in t or "Joining" in t for t in texts(calls)), texts(calls)
        await chat.send("/batal")

    async def test_no_apply_again_beside_an_open_application(
        self, chat: Chat, services: Services, coops
    ) -> None:
        rejected = await apply(services, 1001, coops["KSP-3"], "1271055708900001")
        await services.membership.reject(rejected, "preset:area")
        await apply(services, 1001, coops["KSP-3"], "1271055708900001")  # applied again
        await chat.send("/kartu", language="en")
        await chat.tap("▶", language="en")
        assert not [b for b in chat.buttons() if "Apply again" in b["text"]]

    async def test_a_stale_telegram_file_is_uploaded_again(
        self, chat: Chat, services: Services, coops
    ) -> None:
        """A file id Telegram no longer knows (another bot token, a dropped file) is
        replaced by an upload instead of breaking the wallet."""
        ids = [await apply(services, 1001, coops[r], "1271055708900001") for r in ("KK-2", "KJ-4")]
        await chat.send("/kartu")
        await chat.tap("▶")
        for application_id in ids:
            application = present(await services.membership.apps.get(application_id))
            key = CardService.image_key(application, "id")
            assert await services.cards.telegram_file(key)
            await services.cards.remember_telegram_file(key, "F-unknown")
        calls = await chat.tap("▶")
        edits = [c for c in calls if c.method == "editMessageMedia"]
        assert edits and edits[-1].files and edits[-1].result
        assert not [t for t in texts(calls) if "Galat" in t]
        # The one refusal is the stale id itself (expected here, so not a fixture failure).
        assert [c.error for c in chat.api.errors] == ["Bad Request: wrong file identifier"]
        chat.api.errors.clear()


class TestVerification:
    async def test_who_sees_the_number_and_the_zone(
        self, chat: Chat, services: Services, backend: Backend, coops
    ) -> None:
        ids = {}
        for ref in ("KK-2", "MKS-1", "JPR-1"):
            ids[ref] = await apply(services, 1001, coops[ref], "1271055708900001")
            await services.membership.approve(ids[ref])
        await backend.admins.add(coops["KK-2"], 7001)
        link = f"/start v_{services.cards.token(ids['KK-2'])}"
        stranger = texts(await chat.send(link, user_id=5005, language="en"))[0]
        assert "Valid member card" in stranger and "KKS-" not in stranger
        assert "shown only to the member and the cooperative's board" in stranger
        assert re.search(r"Checked: .*\d\sAM WIB$|Checked: .*\d\sPM WIB$", stranger)
        for viewer in (1001, 7001):
            seen = texts(await chat.send(link, user_id=viewer, language="id"))[0]
            assert "Nomor anggota: <code>KKS-000001</code>" in seen
            assert re.search(r"Diperiksa: \d+ \w+ \d{4} \d\d\.\d\d WIB$", seen)
        for ref, zone in (("MKS-1", "WITA"), ("JPR-1", "WIT")):
            link = f"/start v_{services.cards.token(ids[ref])}"
            seen = texts(await chat.send(link, user_id=5005, language="en"))[0]
            assert seen.endswith(" " + zone), seen

    async def test_a_genuine_card_no_longer_valid_says_why_and_nothing_personal(
        self, chat: Chat, services: Services, coops
    ) -> None:
        a = await apply(services, 1001, coops["KK-2"], "1271055708900001")
        await services.membership.approve(a)
        await services.membership.leave(1001, a)
        seen = texts(await chat.send(f"/start v_{services.cards.token(a)}", user_id=5005))[0]
        assert "Tidak sah" in seen and "Koperasi Konsumen Sejahtera" in seen
        assert "Keanggotaan berakhir" in seen
        assert "Siti" not in seen and "S***" not in seen and "KKS-" not in seen
        # An application that never was a membership reveals nothing, even with its token.
        b = await apply(services, 1001, coops["KSP-3"], "1271055708900001")
        seen = texts(await chat.send(f"/start v_{services.cards.token(b)}", user_id=5005))[0]
        assert "Tidak sah" in seen and "KSP Maju Bersama" not in seen


class TestTimeZones:
    @pytest.mark.parametrize(
        ("code", "zone"),
        [
            *((c, WIB) for c in ("11", "12", "13", "14", "15", "16", "17", "18", "19", "21")),
            *((c, WIB) for c in ("31", "32", "33", "34", "35", "36", "61", "62")),
            *((c, WITA) for c in ("51", "52", "53", "63", "64", "65")),
            *((c, WITA) for c in ("71", "72", "73", "74", "75", "76")),
            *((c, WIT) for c in ("81", "82", "91", "92", "93", "94", "95", "96")),
            ("73.71.01.1001", WITA),
            ("", None),
            ("xx", None),
            ("99", WIT),
            ("41", None),
        ],
    )
    def test_province_zone(self, code: str, zone: object) -> None:
        assert province_zone(code) is zone

    def test_every_province_of_the_gazetteer_has_a_zone(self, services: Services) -> None:
        provinces = [r for r in services.gazetteer if r.level == "province"]
        assert len(provinces) == 38
        assert all(province_zone(r.code) is not None for r in provinces)

    def test_a_cooperative_without_areas_is_placed_by_its_location(
        self, services: Services
    ) -> None:
        ambon = Cooperative(id="x", name="x", type="jasa", location=Point(-3.695, 128.181))
        assert coop_zone(ambon, services.gazetteer) is WIT
        assert coop_zone(ambon) is WIB  # no gazetteer: the capital's zone
        assert coop_zone(None) is WIB

    @pytest.mark.parametrize(
        ("locale", "expected"),
        [("id", "30 Nov 2026 04.06 WITA"), ("en", "Nov 30, 2026, 4:06\u202fAM WITA")],
    )
    def test_format_moment(self, locale: str, expected: str) -> None:
        moment = datetime(2026, 11, 29, 20, 6, tzinfo=UTC)
        assert format_moment(moment, WITA, locale) == expected
