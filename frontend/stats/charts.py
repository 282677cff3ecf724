"""Server-rendered SVG line charts (no script, no CDN: the page works offline)."""

from __future__ import annotations

from datetime import date
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 480, 160, 28


def _short(value: float) -> str:
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:g}"


def line_chart(title: str, points: list[tuple[date, float]]) -> SafeString:
    """One figure over time as an inline <svg>; every text in it is escaped."""
    label = escape(title)
    if not points:
        return mark_safe(  # noqa: S308 - built from escaped text only
            f'<svg class="chart" role="img" aria-label="{label}: no data yet" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}"><text x="{PAD}" y="{HEIGHT // 2}">'
            "No data yet</text></svg>")
    values = [v for _, v in points]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / max(1, len(points) - 1)
    coords = " ".join(
        f"{PAD + i * step:.1f},{HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD):.1f}"
        for i, (_, v) in enumerate(points))
    first, last = points[0][0].isoformat(), points[-1][0].isoformat()
    return mark_safe(  # noqa: S308 - built from escaped text and numbers only
        f'<svg class="chart" role="img" aria-label="{label}, {first} to {last}, latest '
        f'{_short(values[-1])}" viewBox="0 0 {WIDTH} {HEIGHT}">'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#999"/>'
        f'<polyline fill="none" stroke="#2e86c1" stroke-width="2" points="{coords}"/>'
        f'<text x="2" y="{PAD - 10}" font-size="11">{_short(high)}</text>'
        f'<text x="2" y="{HEIGHT - PAD + 4}" font-size="11">{_short(low)}</text>'
        f'<text x="{PAD}" y="{HEIGHT - 6}" font-size="11">{escape(first)}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 6}" font-size="11" text-anchor="end">'
        f"{escape(last)}</text></svg>")
