"""The search feature's texts (HTML parse mode): result lists, no-results answers, a
cooperative's page. Every value from users or the directory is escaped."""

from __future__ import annotations

from html import escape

from bot.i18n import Translator
from bot.services.catalog import TYPES
from bot.services.directory import DirectoryService
from bot.services.gazetteer import display_name
from bot.services.search import PAGE_SIZE, NoResults, ResultPage
from handlers.platform.texts import platform_badge, result_badge
from handlers.render import members_text, services_text, type_text
from storage.models import Cooperative


def verified_badge(coop: Cooperative, t: Translator) -> str:
    return " ✅" if coop.verified else ""


def unit_text(code: str, t: Translator) -> str:
    """What a cooperative of another type runs as a unit: "offers savings & loan"."""
    label = t.gettext(TYPES[code].label) if code in TYPES else code.replace("_", " ")
    # TRANSLATORS: after a cooperative's type in a result list filtered by another type,
    # e.g. "🏪 Multi-purpose, offers savings & loan"; {unit} is that type's name.
    return escape(t.gettext("offers {unit}").format(unit=label[:1].lower() + label[1:]))


def result_line(
    n: int,
    coop: Cooperative,
    t: Translator,
    directory: DirectoryService,
    *,
    show_distance: bool,
    filter_type: str | None = None,
) -> str:
    lines = [f"<b>{n}. {escape(coop.name)}</b>{verified_badge(coop, t)}"]
    meta = [type_text(coop.type, t)]
    if filter_type and coop.type != filter_type:
        # The type filter also lists cooperatives that run that business as a unit (a
        # village cooperative's savings & loan unit): say why this one is listed.
        meta[0] += ", " + unit_text(filter_type, t)
    meta += result_badge(coop, t)
    if show_distance and coop.distance_m is not None:
        meta.append("📏 " + t.distance(coop.distance_m))
    else:
        place = directory.place(coop, depth=1)
        if place:
            meta.append("📍 " + escape(place))
    lines.append(" · ".join(meta))
    if coop.services:
        lines.append(services_text(coop.services, t, limit=3))
    return "\n".join(lines)


def filters_text(page_type: str | None, service: str | None, t: Translator) -> str:
    parts = []
    if page_type:
        parts.append(type_text(page_type, t))
    if service:
        parts.append(services_text([service], t))
    if not parts:
        return ""
    return t.gettext("Filter: {filters}").format(filters=", ".join(parts))


def results_text(
    page: ResultPage, t: Translator, directory: DirectoryService, where: str | None = None
) -> str:
    _ = t.gettext
    search = page.search
    count = t.number(page.total)
    if search.kind == "near" and search.point is not None:
        radius = t.distance((search.radius_km or 0) * 1000)
        header = t.ngettext(
            "📍 {count} cooperative within {radius} of you, nearest first",
            "📍 {count} cooperatives within {radius} of you, nearest first",
            page.total,
        ).format(count=count, radius=radius)
        if where:
            header += "\n" + _("You are near {place}.").format(place=escape(where))
        if page.widened:
            header += "\n" + _("Fewer than {n} were closer, so I searched up to {radius}.").format(
                n=PAGE_SIZE, radius=radius
            )
    elif search.kind == "area" and page.area is not None:
        header = t.ngettext(
            "📍 {count} cooperative in {area}",
            "📍 {count} cooperatives in {area}",
            page.total,
        ).format(count=count, area=escape(directory.gazetteer.label(page.area.code, depth=1)))
    else:
        query = escape(search.query or " ".join(search.terms))
        header = t.ngettext(
            "🔎 {count} cooperative matching “{query}”",
            "🔎 {count} cooperatives matching “{query}”",
            page.total,
        ).format(count=count, query=query)
        if page.area is not None:
            header += "\n" + _("In {area}.").format(
                area=escape(directory.gazetteer.label(page.area.code, depth=1))
            )
        if page.partial:
            header += "\n" + _("No name has all the words; these come closest.")
    filters = filters_text(search.type, search.service, t)
    if filters:
        header += "\n" + filters
    show_distance = search.point is not None
    start = page.page * PAGE_SIZE
    body = "\n\n".join(
        result_line(n, coop, t, directory, show_distance=show_distance, filter_type=search.type)
        for n, coop in enumerate(page.items, start=start + 1)
    )
    footer = _("Tap a cooperative for details.")
    return f"{header}\n\n{body}\n\n<i>{footer}</i>"


def no_results_text(outcome: NoResults, t: Translator, directory: DirectoryService) -> str:
    _ = t.gettext
    # TRANSLATORS: examples that work in the demo directory, in your language.
    tips = _(
        "Try a town, district or village (“Sleman”, “Medan Baru”), a service (“pharmacy”, "
        "“groceries”), a cooperative's name, or share your location."
    )
    reason = outcome.reason
    if reason == "outside":
        return _(
            "🌏 That location is outside Indonesia. Gerbang Koperasi lists cooperatives in "
            "Indonesia: share a location there, or type a place name."
        )
    if reason == "too_long":
        return _(
            "That is too long for a search. Type a place or a cooperative name in a few "
            "words (at most {n} characters)."
        ).format(n=100)
    if reason == "empty":
        return _("Type a place or a cooperative name, or share your location.") + "\n\n" + tips
    if reason == "personal":
        return _(
            "🔒 That looks like a NIK or a phone number. Never type personal numbers in "
            "a search: to join a cooperative, open it and tap “Join”. Nothing was "
            "stored."
        )
    if reason == "expired":
        return _("This list has expired. Please search again.")
    if reason == "need_location":
        filters = filters_text(
            outcome.parsed.type if outcome.parsed else None,
            outcome.parsed.service if outcome.parsed else None,
            t,
        )
        if outcome.count:
            # Name words in so many names that they narrow nothing ("Koperasi Sejahtera").
            # TRANSLATORS: {query} is what the user typed; {example} is the same followed by
            # a place, e.g. "Koperasi Sejahtera in Sleman".
            text = t.ngettext(
                "🔎 More than {count} cooperative has a name like “{query}”. Where should "
                "I look? Share your location with the button below, or add a place, for "
                "example “{example}”.",
                "🔎 More than {count} cooperatives have a name like “{query}”. Where should "
                "I look? Share your location with the button below, or add a place, for "
                "example “{example}”.",
                outcome.count,
            ).format(
                count=t.number(outcome.count),
                query=escape(outcome.query),
                # TRANSLATORS: {query} is what the user typed; keep the place as it is.
                example=escape(_("{query} in Sleman").format(query=outcome.query)),
            )
        else:
            # TRANSLATORS: an example that works in the demo directory, in your language.
            text = _(
                "Where should I look? Share your location with the button below, or add a "
                "place, for example “pharmacy in Sleman”."
            )
        return f"{filters}\n{text}" if filters else text
    if reason == "none_near":
        radius = t.distance((outcome.radius_km or 100) * 1000)
        text = _("No cooperatives found within {radius} of this location.").format(radius=radius)
        if outcome.search and (outcome.search.type or outcome.search.service):
            text += " " + _("Try without the filter.")
        return text + "\n\n" + tips
    if outcome.place_name:
        text = _("No cooperatives found in any place called “{name}” for this search.").format(
            name=escape(outcome.place_name.title())
        )
    elif outcome.area is not None:
        text = _("No cooperatives found in {area} for this search.").format(
            area=escape(directory.gazetteer.label(outcome.area.code, depth=1))
        )
    else:
        query = outcome.query or (outcome.search.query if outcome.search else "")
        text = _("Nothing found for “{query}”.").format(query=escape(query))
    return text + "\n\n" + tips


def detail_text(coop: Cooperative, t: Translator, directory: DirectoryService) -> str:
    _ = t.gettext
    lines = [f"<b>{escape(coop.name)}</b>"]
    if coop.verified:
        lines.append(_("✅ Verified by Gerbang Koperasi"))
    if coop.demo:
        lines.append(_("🧪 Demo data — not a real cooperative"))
    lines.append(platform_badge(coop, t))
    lines.append("")
    lines.append(_("Type: {type}").format(type=type_text(coop.type, t)))
    if coop.services:
        lines.append(
            _("Services: {services}").format(services=services_text(coop.services, t, limit=None))
        )
    place = directory.place(coop, depth=3)
    address = ", ".join(p for p in (coop.address, place) if p)
    if address:
        lines.append("📍 " + escape(address))
    if coop.distance_m is not None:
        lines.append("📏 " + _("{distance} from you").format(distance=t.distance(coop.distance_m)))
    if coop.phone:
        lines.append("📞 " + escape(coop.phone))
    if coop.opening_hours:
        lines.append("🕘 " + escape(coop.opening_hours))
    if coop.registration_number:
        lines.append(
            _("🪪 Registration number (Nomor Induk Koperasi): {number}").format(
                number=f"<code>{escape(coop.registration_number)}</code>"
            )
        )
    if coop.simpanan_pokok is not None:
        lines.append(
            _("💵 Simpanan pokok (one-time): {amount}").format(amount=t.money(coop.simpanan_pokok))
        )
    if coop.simpanan_wajib is not None:
        lines.append(
            _("💵 Simpanan wajib (monthly): {amount}").format(amount=t.money(coop.simpanan_wajib))
        )
    lines.append("👥 " + members_text(t, coop))
    if coop.rat_year:
        lines.append(_("📅 Last annual members' meeting (RAT): {year}").format(year=coop.rat_year))
    if coop.closed_loop is True:
        lines.append(_("🔒 Closed-loop savings and loan: savings products for members only"))
    elif coop.closed_loop is False:
        lines.append(_("🔓 Open-loop savings and loan, licensed by OJK"))
    if coop.village_restricted:
        village = directory.gazetteer.get(coop.village_code)
        name = display_name(village) if village else _("this village")
        lines.append(
            _("🏘 Membership requires living in {village} (e-KTP domicile)").format(
                village=escape(name)
            )
        )
    if coop.description:
        lines.append("")
        lines.append(escape(coop.description))
    return "\n".join(lines)
