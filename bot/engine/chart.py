"""The digest's picture: the day's incidents, killed and injured by oblast, as a PNG (matplotlib)."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.engine.digest import format_day, load_strings
from bot.engine.names import Names, load_names
from bot.engine.types import IncidentView, Kind


def _low_high(low: int | None, best: int | None, high: int | None) -> tuple[int, int]:
    value = best or 0
    return (value if low is None else min(low, value)), (value if high is None else max(high, value))


@dataclass(frozen=True, slots=True)
class Bar:
    """One oblast's row of the chart: its name in the reader's language, the best killed and
    injured figures summed over its incidents, the ranges the claims give, and whether one of its
    incidents is disputed (drawn with ⚠)."""

    label: str
    killed: int
    injured: int
    incidents: int
    disputed: bool
    killed_range: tuple[int, int]
    injured_range: tuple[int, int]


def chart_bars(views: Sequence[IncidentView], *, lang: str = "en", names: Names | None = None) -> list[Bar]:
    """The chart's rows, least hit first (drawn bottom-up): the incidents of the digest's text, by
    oblast (control claims are no casualties and are left out, as in the text's totals)."""
    names = names or load_names()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0, 0, 0])
    for view in views:
        if view.summary.kind is Kind.CONTROL:
            continue
        place = view.summary.place
        oblast = names.oblast(place.oblast, lang) or names.place(place, lang)
        row = totals[oblast]
        summary = view.summary
        row[0] += summary.killed.best or 0
        row[1] += summary.injured.best or 0
        row[2] += 1
        row[3] += 1 if view.conflicts else 0
        for offset, figures in ((4, summary.killed), (6, summary.injured)):
            low, high = _low_high(figures.low, figures.best, figures.high)
            row[offset] += low
            row[offset + 1] += high
    rows = sorted(totals, key=lambda k: (totals[k][0], totals[k][1], totals[k][2]))
    return [Bar(n, totals[n][0], totals[n][1], totals[n][2], bool(totals[n][3]), (totals[n][4], totals[n][5]),
                (totals[n][6], totals[n][7])) for n in rows]


def render_chart(views: Sequence[IncidentView], *, day: date, lang: str = "en", names: Names | None = None) -> bytes:
    """A horizontal bar chart per oblast (named in ``lang``): killed and injured (best figures), with
    incident counts. Where the claims give a range, a whisker spans it; an oblast with a disputed
    incident is marked ⚠, so that a contested figure is not drawn as plain fact."""
    s = load_strings().get(lang, load_strings()["en"])
    bars = chart_bars(views, lang=lang, names=names)
    totals = {b.label: [b.killed, b.injured, b.incidents, int(b.disputed), *b.killed_range, *b.injured_range]
              for b in bars}
    rows = [b.label for b in bars]
    height = max(2.5, 0.5 * len(rows) + 1.5)
    fig = Figure(figsize=(8, height), dpi=110)  # no pyplot: a figure of its own is safe in a thread
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    y = range(len(rows))
    for key, offset, shift, colour, index in (("chart_killed", 4, 0.2, "#b2182b", 0),
                                              ("chart_injured", 6, -0.2, "#ef8a62", 1)):
        values = [totals[n][index] for n in rows]
        spread = [[v - totals[n][offset] for v, n in zip(values, rows)],
                  [totals[n][offset + 1] - v for v, n in zip(values, rows)]]
        ranged = any(a or b for a, b in zip(*spread))
        ax.barh([i + shift for i in y], values, height=0.4, color=colour, label=s[key],
                xerr=spread if ranged else None, error_kw={"ecolor": "#555555", "capsize": 3, "lw": 1})
        for i, (value, n) in enumerate(zip(values, rows)):
            if value:
                low, high = totals[n][offset], totals[n][offset + 1]
                shown = f" {value}" if low == high else f" {value} ({low}–{high})"
                ax.text(max(value, high), i + shift, shown, va="center", fontsize=8)
    ax.set_yticks(list(y))
    ax.set_yticklabels([("⚠ " if totals[n][3] else "") + f"{n} ({totals[n][2]})" for n in rows])
    ax.set_title(s["chart_title"].format(day=format_day(day, lang)))
    ax.legend(loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    if any(totals[n][3] for n in rows):
        ax.annotate("⚠ " + s["chart_disputed"], (0, 0), xycoords="figure fraction", xytext=(6, 4),
                    textcoords="offset points", fontsize=8, color="#555555")
    if not rows:
        ax.text(0.5, 0.5, s["nothing"].format(day=format_day(day, lang)), ha="center", transform=ax.transAxes)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
