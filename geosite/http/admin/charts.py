"""A line chart of a usage report's series, drawn as SVG on the server (no script, no external
assets: the pages' Content-Security-Policy allows neither)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 60, 12, 12, 40
COLOURS = ("#1f5fa8", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#7f8c8d")


@dataclass(frozen=True)
class Series:
    """One line: its label, colour, and the points of its runs of known values."""

    label: str
    colour: str
    runs: list[str]  # SVG "x,y x,y" point lists; a null value breaks the line
    dots: list[tuple[float, float]]


@dataclass(frozen=True)
class Chart:
    """Everything the template draws."""

    title: str
    series: list[Series]
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: float = HEIGHT - BOTTOM
    right: float = WIDTH - RIGHT


def _label(ms: int, span_ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%H:%M" if span_ms <= 2 * 86_400_000 else "%m-%d")


def chart(title: str, slices: list[int], series: list[tuple[str, list[Any]]]) -> Chart:
    """A chart of ``series`` (label, values per slice; None where unknown) over ``slices``."""
    numbers = [float(v) for _, values in series for v in values if v is not None]
    top = max(numbers, default=0.0) or 1.0
    count = max(len(slices), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    lines = []
    for index, (label, values) in enumerate(series):
        runs: list[str] = []
        current: list[str] = []
        dots = []
        for i, value in enumerate(values):
            if value is None:
                if current:
                    runs.append(" ".join(current))
                current = []
                continue
            point = (round(x(i), 1), round(y(float(value)), 1))
            current.append(f"{point[0]},{point[1]}")
            dots.append(point)
        if current:
            runs.append(" ".join(current))
        lines.append(Series(label, COLOURS[index % len(COLOURS)], runs, dots))
    y_ticks = [(round(y(top * k / 4), 1), f"{top * k / 4:g}") for k in range(5)]
    span = slices[-1] - slices[0] if len(slices) > 1 else 0
    step = max(1, count // 6)
    x_ticks = [(round(x(i), 1), _label(slices[i], span)) for i in range(0, len(slices), step)]
    return Chart(title, lines, y_ticks, x_ticks)
