"""The digest's picture: the day's incidents, killed and injured by oblast, as a PNG (matplotlib)."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bot.engine.digest import format_day, load_strings  # noqa: E402
from bot.engine.names import Names, load_names  # noqa: E402
from bot.engine.types import IncidentView, Kind  # noqa: E402


def render_chart(views: Sequence[IncidentView], *, day: date, lang: str = "en", names: Names | None = None) -> bytes:
    """A horizontal bar chart per oblast (named in ``lang``): killed and injured (best figures), with incident counts."""
    s = load_strings().get(lang, load_strings()["en"])
    names = names or load_names()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for view in views:
        if view.summary.kind is Kind.CONTROL:
            continue
        place = view.summary.place
        oblast = names.oblast(place.oblast, lang) or names.place(place, lang)
        row = totals[oblast]
        row[0] += view.summary.killed.best or 0
        row[1] += view.summary.injured.best or 0
        row[2] += 1
    names = sorted(totals, key=lambda k: (totals[k][0], totals[k][1], totals[k][2]))
    height = max(2.5, 0.5 * len(names) + 1.5)
    fig, ax = plt.subplots(figsize=(8, height), dpi=110)
    try:
        y = range(len(names))
        killed = [totals[n][0] for n in names]
        injured = [totals[n][1] for n in names]
        ax.barh([i + 0.2 for i in y], killed, height=0.4, color="#b2182b", label=s["chart_killed"])
        ax.barh([i - 0.2 for i in y], injured, height=0.4, color="#ef8a62", label=s["chart_injured"])
        ax.set_yticks(list(y))
        ax.set_yticklabels([f"{n} ({totals[n][2]})" for n in names])
        for i, (k, j) in enumerate(zip(killed, injured)):
            if k:
                ax.text(k, i + 0.2, f" {k}", va="center", fontsize=8)
            if j:
                ax.text(j, i - 0.2, f" {j}", va="center", fontsize=8)
        ax.set_title(s["chart_title"].format(day=format_day(day, lang)))
        ax.legend(loc="lower right")
        ax.spines[["top", "right"]].set_visible(False)
        if not names:
            ax.text(0.5, 0.5, s["nothing"].format(day=format_day(day, lang)), ha="center", transform=ax.transAxes)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)
