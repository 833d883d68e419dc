"""A small SVG writer for the report's sparklines: elements in, one string out.

The page must load nothing from anywhere, so its pictures are inline SVG that
syncd draws itself. Numbers are written with at most two decimals, so the
same data always gives the same bytes (the report is golden-file tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

__all__ = ["Svg", "sparkline", "num"]


def num(x: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros, never ``-0``."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _attrs(attrs: dict[str, object]) -> str:
    out = []
    for key, value in attrs.items():
        if value is None:
            continue
        shown = num(value) if isinstance(value, float) else str(value)
        out.append(f' {key.rstrip("_").replace("_", "-")}="{escape(shown, quote=True)}"')
    return "".join(out)


class Svg:
    """One ``<svg>`` element built from child elements, in the order they are added."""

    def __init__(self, width: float, height: float, *, label: str, **attrs: object):
        self.width, self.height = width, height
        self.label = label
        self.attrs = attrs
        self.children: list[str] = []

    def add(self, tag: str, **attrs: object) -> Svg:
        self.children.append(f"<{tag}{_attrs(attrs)}/>")
        return self

    def line(self, x1: float, y1: float, x2: float, y2: float, **attrs: object) -> Svg:
        return self.add("line", x1=float(x1), y1=float(y1), x2=float(x2), y2=float(y2), **attrs)

    def path(self, points: Sequence[tuple[float, float]], **attrs: object) -> Svg:
        d = " ".join(f"{'M' if i == 0 else 'L'}{num(x)} {num(y)}" for i, (x, y) in enumerate(points))
        return self.add("path", d=d, **attrs)

    def circle(self, x: float, y: float, r: float, **attrs: object) -> Svg:
        return self.add("circle", cx=float(x), cy=float(y), r=float(r), **attrs)

    def render(self) -> str:
        head = _attrs(
            {
                "xmlns": "http://www.w3.org/2000/svg",
                "viewBox": f"0 0 {num(self.width)} {num(self.height)}",
                "role": "img",
                "aria-label": self.label,
                **self.attrs,
            }
        )
        return f"<svg{head}><title>{escape(self.label)}</title>{''.join(self.children)}</svg>"


#: Threshold lines: a colour for the screen and a dash pattern for black-and-white print.
_LINES = {"green": ("#1a7f37", "6 3"), "red": ("#c62828", "2 2")}


def sparkline(
    points: Sequence[tuple[datetime, float]],
    *,
    start: datetime,
    end: datetime,
    thresholds: Sequence[tuple[str, float]] = (),
    label: str,
    width: float = 240,
    height: float = 56,
) -> str | None:
    """A line through recorded values over ``start..end``, a dot at the last one,
    and the threshold lines (``thresholds``: (``green`` | ``red``, value)).

    None with fewer than two points: one value draws no line.
    """
    if len(points) < 2:
        return None
    values = [v for _, v in points] + [v for _, v in thresholds]
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    span = max((end - start).total_seconds(), 1.0)

    def x(t: datetime) -> float:
        return 4 + min(1.0, max(0.0, (t - start).total_seconds() / span)) * (width - 8)

    def y(v: float) -> float:
        return 4 + (high - v) / (high - low) * (height - 8)

    svg = Svg(width, height, label=label, class_="spark")
    for kind, value in thresholds:
        colour, dash = _LINES[kind]
        svg.line(0, y(value), width, y(value), stroke=colour, stroke_width=1.5, stroke_dasharray=dash)
    line = [(x(t), y(v)) for t, v in points]
    svg.path(line, fill="none", stroke="#1f2937", stroke_width=2, stroke_linejoin="round")
    svg.circle(*line[-1], 3, fill="#1f2937")
    return svg.render()
