"""Line charts of a guest's metrics as inline SVG geometry: the template draws the polylines
this computes, so the graphs need no JavaScript. A gap in the data (the guest was stopped)
breaks the line instead of drawing it at zero."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.utils.translation import gettext as _

from apps.guests.services.metrics import GuestMetrics

WIDTH = 600
HEIGHT = 120
BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


@dataclass(frozen=True)
class Line:
    label: str
    css_class: str  # the stroke colour (static/css/portal.css)
    segments: list[str]  # `points` of one <polyline> each
    latest: str  # the last known value, formatted


@dataclass(frozen=True)
class LineChart:
    slug: str
    title: str
    lines: list[Line]
    top: str  # the value at the top of the chart, formatted
    start: datetime | None
    end: datetime | None

    @property
    def empty(self) -> bool:
        return not any(line.segments for line in self.lines)

    @property
    def description(self) -> str:
        """What a screen reader says instead of the picture."""
        latest = "; ".join(f"{line.label}: {line.latest}" for line in self.lines)
        return _("%(title)s, latest values: %(latest)s") % {"title": self.title, "latest": latest}


def format_bytes(value: float | None, *, per_second: bool = False) -> str:
    if value is None:
        return "—"
    unit = 0
    while abs(value) >= 1024 and unit < len(BINARY_UNITS) - 1:
        value /= 1024
        unit += 1
    text = f"{value:.0f}" if unit == 0 or value >= 100 else f"{value:.1f}"
    return f"{text} {BINARY_UNITS[unit]}{'/s' if per_second else ''}"


def format_percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def nice_ceiling(value: float, *, binary: bool = False) -> float:
    """A round top for a chart: the smallest 1, 2 or 5 times a power of ten that is at least
    `value`; with `binary`, of ten times a power of 1024 (100 KiB/s, not 97.7 KiB/s)."""
    if value <= 0:
        return 1.0
    unit = 1.0
    while binary and value / unit >= 1024:
        unit *= 1024
    scaled = value / unit
    magnitude = 1.0
    while magnitude * 10 < scaled:
        magnitude *= 10
    while magnitude > scaled:
        magnitude /= 10
    return unit * next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= scaled)


def _segments(values: list[float | None], top: float) -> list[str]:
    if not values:
        return []
    step = WIDTH / max(len(values) - 1, 1)
    segments: list[list[str]] = []
    current: list[str] = []
    for index, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        y = HEIGHT - min(max(value / top, 0.0), 1.0) * HEIGHT
        current.append(f"{index * step:.1f},{y:.1f}")
    if current:
        segments.append(current)
    # A lone sample still shows: as a dot-long line.
    return [" ".join(points * 2 if len(points) == 1 else points) for points in segments]


def _latest(values: list[float | None]) -> float | None:
    return next((value for value in reversed(values) if value is not None), None)


def _chart(
    metrics: GuestMetrics,
    *,
    slug: str,
    title: str,
    series: list[tuple[str, str, list[float | None]]],
    top: float,
    format_value: Callable[[float | None], str],
) -> LineChart:
    moments = metrics.moments
    return LineChart(
        slug=slug,
        title=title,
        lines=[
            Line(label, css, _segments(values, top), format_value(_latest(values)))
            for label, css, values in series
        ],
        top=format_value(top),
        start=moments[0] if moments else None,
        end=moments[-1] if moments else None,
    )


def _peak(*series: list[float | None]) -> float:
    return max((v for values in series for v in values if v is not None), default=0.0)


def guest_charts(metrics: GuestMetrics) -> list[LineChart]:
    """CPU, memory, network and disk I/O, in that order."""
    rate = partial(format_bytes, per_second=True)
    vcpus = f"{metrics.vcpus:g}" if metrics.vcpus else "?"
    return [
        _chart(
            metrics,
            slug="cpu",
            title=_("CPU (share of %(vcpus)s vCPUs)") % {"vcpus": vcpus},
            series=[(_("CPU"), "chart-line-1", metrics.cpu)],
            top=min(nice_ceiling(_peak(metrics.cpu)), 1.0),
            format_value=format_percent,
        ),
        _chart(
            metrics,
            slug="memory",
            title=_("Memory"),
            series=[(_("Used"), "chart-line-1", metrics.memory)],
            top=metrics.memory_max or nice_ceiling(_peak(metrics.memory), binary=True),
            format_value=format_bytes,
        ),
        _chart(
            metrics,
            slug="network",
            title=_("Network"),
            series=[
                (_("In"), "chart-line-1", metrics.net_in),
                (_("Out"), "chart-line-2", metrics.net_out),
            ],
            top=nice_ceiling(_peak(metrics.net_in, metrics.net_out), binary=True),
            format_value=rate,
        ),
        _chart(
            metrics,
            slug="disk",
            title=_("Disk I/O"),
            series=[
                (_("Read"), "chart-line-1", metrics.disk_read),
                (_("Write"), "chart-line-2", metrics.disk_write),
            ],
            top=nice_ceiling(_peak(metrics.disk_read, metrics.disk_write), binary=True),
            format_value=rate,
        ),
    ]
