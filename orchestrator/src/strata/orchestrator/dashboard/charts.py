"""Charts drawn on the server as inline SVG: stacked bars over time and a line, each bar and point with a tooltip
(``<title>``). No script runs in the page, so nothing is built or downloaded at install time."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from html import escape

__all__ = ["PALETTE", "line_chart", "stacked_bars"]

# Okabe-Ito: told apart by people with the common kinds of colour blindness
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28


def _label(start_s: int, width_s: int) -> str:
    stamp = time.localtime(start_s)
    return time.strftime("%m-%d" if width_s >= 86_400 else "%H:%M" if width_s < 6 * 3_600 else "%m-%d %H:%M", stamp)


def _fmt(value: float, unit: str) -> str:
    if unit == "$":
        return f"${value:.4f}" if abs(value) < 1 else f"${value:,.2f}"
    if unit == "%":
        return f"{value:.0f}%"
    return f"{value:,.0f}"


def _axes(top: float, unit: str, starts: Sequence[int], width_s: int) -> list[str]:
    """Frame, three horizontal grid lines with values, and up to eight time labels."""
    inner_h = HEIGHT - TOP - BOTTOM
    parts = []
    for i in range(3):
        value = top * i / 2
        y = TOP + inner_h - inner_h * i / 2
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(_fmt(value, unit))}</text>')
    step = max(1, -(-len(starts) // 8))
    slot = (WIDTH - LEFT - RIGHT) / max(len(starts), 1)
    for i in range(0, len(starts), step):
        x = LEFT + slot * (i + 0.5)
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{_label(starts[i], width_s)}</text>')
    return parts


def _svg(name: str, title: str, parts: list[str], legend: Sequence[tuple[str, str]]) -> str:
    keys = "".join(
        f'<span class="key"><i style="background:{color}"></i>{escape(label)}</span>' for label, color in legend
    )
    return (
        f'<figure class="chart" data-chart="{escape(name)}"><figcaption>{escape(title)}</figcaption>'
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">{"".join(parts)}</svg>'
        f'<div class="legend">{keys}</div></figure>'
    )


def stacked_bars(
    name: str, title: str, starts: Sequence[int], width_s: int, series: Mapping[str, Sequence[float]], unit: str = ""
) -> str:
    """One bar per time bucket, stacked by series (in the given order, coloured from the palette)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(starts))]
    top = max(totals, default=0.0) or 1.0
    inner_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(starts), 1)
    parts = _axes(top, unit, starts, width_s)
    colors = {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(series)}
    for i, start in enumerate(starts):
        base = float(TOP + inner_h)
        for label, values in series.items():
            value = values[i]
            if value <= 0:
                continue
            h = inner_h * value / top
            base -= h
            tip = f"{_label(start, width_s)} {label}: {_fmt(value, unit) if unit else value}"
            parts.append(
                f'<rect class="bar" x="{LEFT + slot * i + slot * 0.1:.1f}" y="{base:.1f}" width="{slot * 0.8:.1f}" '
                f'height="{max(h, 0.5):.1f}" fill="{colors[label]}"><title>{escape(tip)}</title></rect>'
            )
    return _svg(name, title, parts, list(colors.items()))


def line_chart(
    name: str, title: str, starts: Sequence[int], width_s: int, values: Sequence[float | None], unit: str = "",
    label: str = "", top: float | None = None,
) -> str:  # fmt: skip
    """One line through the buckets that have a value (a gap where one has none), a dot per value."""
    known = [v for v in values if v is not None]
    top = top or max((abs(v) for v in known), default=0.0) or 1.0
    inner_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(starts), 1)
    parts = _axes(top, unit, starts, width_s)
    path: list[str] = []
    color = PALETTE[0]
    for i, value in enumerate(values):
        if value is None:
            if path:
                parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(path)}"/>')
            path = []
            continue
        x = LEFT + slot * (i + 0.5)
        y = TOP + inner_h - inner_h * max(min(value, top), 0.0) / top
        path.append(f"{x:.1f},{y:.1f}")
        tip = f"{_label(starts[i], width_s)} {label}: {_fmt(value, unit)}"
        parts.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(tip)}</title></circle>'
        )
    if path:
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(path)}"/>')
    return _svg(name, title, parts, [(label, color)] if label else [])
