"""Charts for cooperative and platform statistics (matplotlib, off-screen)."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.Lock()  # pyplot keeps global state


def _png(make: Callable[[Any], Any]) -> bytes:
    """The figure ``make(pyplot)`` builds, as PNG bytes (one chart at a time: pyplot keeps
    global state)."""
    # Imported here: matplotlib costs ~40 MiB and half a second, and few processes chart.
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    import matplotlib.pyplot as plt

    with _LOCK:
        fig = make(plt)
        try:
            buf = io.BytesIO()
            fig.savefig(buf, format="png", metadata={"Software": None})
            return buf.getvalue()
        finally:
            plt.close(fig)


def members_chart(
    months: list[str],
    total: list[int],
    joined: list[int],
    *,
    title: str,
    total_label: str,
    joined_label: str,
    status_counts: dict[str, int],
    month_labels: list[str] | None = None,
    status_title: str = "",
) -> bytes:
    """A PNG: members over the last months (line) with new members (bars), and the
    applications by status (horizontal bars). ``month_labels`` name the months in the
    reader's language ("Des 26"); counts are whole numbers on both axes."""
    return _png(
        lambda plt: _members_figure(
            plt,
            months,
            total,
            joined,
            title=title,
            total_label=total_label,
            joined_label=joined_label,
            status_counts=status_counts,
            month_labels=month_labels,
            status_title=status_title,
        )
    )


def onboarding_chart(
    provinces: list[tuple[str, int]],
    demand: list[tuple[str, int, int]],
    *,
    title: str,
    provinces_title: str,
    demand_title: str,
    subscribers_label: str,
    attempts_label: str,
) -> bytes:
    """A PNG: cooperatives on the platform by province (bars), and the most wanted
    cooperatives not on the platform yet (subscribers and join attempts, stacked)."""
    return _png(
        lambda plt: onboarding_figure(
            provinces,
            demand,
            title=title,
            provinces_title=provinces_title,
            demand_title=demand_title,
            subscribers_label=subscribers_label,
            attempts_label=attempts_label,
        )
    )


def onboarding_figure(
    provinces: list[tuple[str, int]],
    demand: list[tuple[str, int, int]],
    *,
    title: str,
    provinces_title: str,
    demand_title: str,
    subscribers_label: str,
    attempts_label: str,
) -> Any:
    """The figure of :func:`onboarding_chart` (the caller closes it): counts are whole
    numbers, so the axes tick only at integers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8), dpi=100)
    fig.suptitle(title, fontsize=12)
    names = [_short(n) for n, _ in provinces] or ["-"]
    values = [v for _, v in provinces] or [0]
    left.barh(names, values, color="#b3121f")
    left.set_title(provinces_title, fontsize=10)
    for y, value in enumerate(values):
        left.text(value, y, f" {value}", va="center", fontsize=8)
    labels = [_short(n) for n, _, _ in demand] or ["-"]
    subscribers = [s for _, s, _ in demand] or [0]
    attempts = [a for _, _, a in demand] or [0]
    right.barh(labels, subscribers, color="#b3121f", label=subscribers_label)
    right.barh(labels, attempts, left=subscribers, color="#f4a6a6", label=attempts_label)
    right.set_title(demand_title, fontsize=10)
    right.legend(fontsize=8, loc="lower right")
    totals = [s + a for s, a in zip(subscribers, attempts, strict=True)]
    for axis, top in ((left, max(values)), (right, max(totals))):
        axis.invert_yaxis()  # the largest on top
        axis.tick_params(labelsize=8)
        axis.grid(axis="x", alpha=0.3)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        # At least 0–1: an empty panel would otherwise tick at 0.01, 0.02 …
        axis.set_xlim(0, max(1.0, top * 1.15))
    fig.tight_layout()
    return fig


def _short(name: str, width: int = 28) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _members_figure(
    plt: Any,
    months: list[str],
    total: list[int],
    joined: list[int],
    *,
    title: str,
    total_label: str,
    joined_label: str,
    status_counts: dict[str, int],
    month_labels: list[str] | None,
    status_title: str,
) -> Any:
    """The figure of :func:`members_chart` (tests read its axes)."""
    from matplotlib.ticker import MaxNLocator

    fig, (left, right) = plt.subplots(
        1, 2, figsize=(10, 4.2), dpi=100, gridspec_kw={"width_ratios": [2.2, 1]}
    )
    x = range(len(months))
    left.bar(x, joined, color="#f4a6a6", label=joined_label)
    left.plot(x, total, color="#b3121f", marker="o", linewidth=2, label=total_label)
    left.set_xticks(list(x), month_labels or [m[2:] for m in months], rotation=45, fontsize=8)
    left.set_title(title, fontsize=11)
    left.grid(axis="y", alpha=0.3)
    left.legend(fontsize=8, loc="upper left")
    # People are counted in whole numbers: no 0.2, 0.4 … ticks, and at least 0–5 shown.
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_ylim(bottom=0, top=max([5, *total, *joined]) * 1.1)
    names = list(status_counts) or ["-"]
    values = [status_counts.get(n, 0) for n in names]
    right.barh(names, values, color="#b3121f")
    right.invert_yaxis()
    right.tick_params(labelsize=8)
    right.grid(axis="x", alpha=0.3)
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_xlim(left=0, right=max([5, *values]) * 1.15)
    right.set_title(status_title, fontsize=11)
    for y, value in enumerate(values):
        right.text(value, y, f" {value}", va="center", fontsize=8)
    fig.tight_layout()
    return fig
