"""Charts for cooperative statistics (matplotlib, off-screen)."""

from __future__ import annotations

import io
import threading
from typing import Any

_LOCK = threading.Lock()  # pyplot keeps global state


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
    # Imported here: matplotlib costs ~40 MiB and half a second, and few processes chart.
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    import matplotlib.pyplot as plt

    with _LOCK:
        fig = _members_figure(
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
        try:
            buf = io.BytesIO()
            fig.savefig(buf, format="png", metadata={"Software": None})
            return buf.getvalue()
        finally:
            plt.close(fig)


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
