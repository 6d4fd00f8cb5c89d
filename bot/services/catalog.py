"""Cooperative types (UU 25/1992 and practice) and business-unit tags, with search words.

Labels are English msgids marked with ``N_`` and translated where they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.text import fold


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it here."""
    return message


@dataclass(frozen=True, slots=True)
class Term:
    """A type or service: its CSV code, its label and the words that mean it."""

    code: str
    label: str
    emoji: str
    words: tuple[str, ...]


TYPES: dict[str, Term] = {
    t.code: t
    for t in (
        Term(
            "simpan_pinjam",
            N_("Savings & loan"),
            "💰",
            (
                "simpan pinjam",
                "koperasi simpan pinjam",
                "ksp",
                "usp",
                "kredit",
                "credit union",
                "savings and loan",
                "savings loan",
                "savings",
                "loan",
                "loans",
                "credit",
                "cu",
            ),
        ),
        Term(
            "konsumen",
            N_("Consumer"),
            "🛒",
            ("konsumen", "koperasi konsumen", "consumer", "consumers"),
        ),
        Term(
            "produsen",
            N_("Producer"),
            "🏭",
            ("produsen", "koperasi produsen", "producer", "producers", "produksi", "production"),
        ),
        Term(
            "pemasaran",
            N_("Marketing"),
            "📣",
            ("pemasaran", "koperasi pemasaran", "marketing"),
        ),
        Term(
            "jasa",
            # TRANSLATORS: the type "koperasi jasa" (transport, labour…), not a service filter.
            N_("Service cooperative"),
            "🛠",
            ("jasa", "koperasi jasa", "service cooperative"),
        ),
        Term(
            "serba_usaha",
            N_("Multi-purpose"),
            "🏪",
            ("serba usaha", "koperasi serba usaha", "ksu", "kud", "multipurpose", "multi purpose"),
        ),
        Term(
            "syariah",
            N_("Sharia"),
            "🌙",
            (
                "syariah",
                "koperasi syariah",
                "kspps",
                "ksps",
                "bmt",
                "sharia",
                "shariah",
                "islamic",
            ),
        ),
    )
}

SERVICES: dict[str, Term] = {
    t.code: t
    for t in (
        Term(
            "sembako",
            N_("Basic goods shop"),
            "🍚",
            (
                "sembako",
                "toko sembako",
                "toko",
                "warung",
                "groceries",
                "grocery",
                "basic goods",
                "shop",
                "beras",
                "minyak goreng",
            ),
        ),
        Term(
            "apotek",
            N_("Pharmacy"),
            "💊",
            ("apotek", "apotik", "obat", "pharmacy", "drugstore", "medicine", "medicines"),
        ),
        Term(
            "klinik",
            N_("Clinic"),
            "🏥",
            ("klinik", "klinik desa", "clinic", "dokter", "doctor", "kesehatan", "health"),
        ),
        Term("simpan_pinjam", N_("Savings & loan"), "💰", ()),
        Term(
            "pupuk",
            N_("Fertiliser"),
            "🌱",
            ("pupuk", "fertilizer", "fertiliser", "fertilizers", "saprotan"),
        ),
        Term(
            "logistik",
            N_("Logistics"),
            "🚚",
            ("logistik", "logistics", "pengiriman", "ekspedisi", "delivery", "transport"),
        ),
        Term("gudang", N_("Warehouse"), "🏬", ("gudang", "warehouse", "storage", "pergudangan")),
        Term(
            "cold_storage",
            N_("Cold storage"),
            "❄️",
            ("cold storage", "gudang pendingin", "pendingin", "cold", "freezer"),
        ),
        Term("kantor", N_("Cooperative office"), "🏢", ("kantor koperasi", "office")),
    )
}

# Business units of a Koperasi Desa/Kelurahan Merah Putih (Inpres 9/2025).
KDMP_UNITS = ("sembako", "apotek", "kantor", "simpan_pinjam", "klinik", "cold_storage", "logistik")


def type_label(code: str) -> str:
    term = TYPES.get(code)
    return term.label if term else code.replace("_", " ").capitalize()


def service_label(code: str) -> str:
    term = SERVICES.get(code)
    return term.label if term else code.replace("_", " ").capitalize()


def normalise_type(raw: str) -> str | None:
    """The type code for a CSV value ("simpan_pinjam", "Simpan Pinjam", "KSP"), or None."""
    folded = fold(raw)
    code = folded.replace(" ", "_")
    if code in TYPES:
        return code
    for term in TYPES.values():
        if folded in term.words:
            return term.code
    return None


def normalise_service(raw: str) -> str | None:
    """The tag for a CSV service value: known codes and words map to their code."""
    folded = fold(raw)
    if not folded:
        return None
    code = folded.replace(" ", "_")
    if code in SERVICES:
        return code
    for term in SERVICES.values():
        if folded in term.words:
            return term.code
    return code[:40]
