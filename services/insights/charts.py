"""Charts for the management-information page, drawn on the server as inline SVG. Pure.

The page is read by heads of police IOM teams on machines that reach nothing on the
internet, and it runs no JavaScript: so each chart is a self-contained ``<svg>`` string, in
the reader's own system font, with nothing to fetch. Every chart stands next to its table
(built elsewhere), which carries the figures for anyone who cannot use the picture; the
chart is there to show the shape of them.

Accessibility, the same in every chart:

* the ``<svg>`` is ``role="img"`` and ``aria-labelledby`` names its ``<title>`` (the chart's
  title) and its ``<desc>`` (a sentence or two of what the chart shows, written from the
  data), so a screen reader announces a summary rather than a pile of shapes;
* colour is never the only cue: series are told apart by dash and marker shape (lines) or
  by a fill pattern (bars), and RAG keeps the project's red #d62828 / amber #e9a100 /
  green #2a9d3f with green plain, amber striped and red cross-hatched; other series take
  the Okabe-Ito palette, which colour-blind readers can tell apart;
* every data mark has a ``<title>`` (the browser's tooltip) with its exact value.

Figures below the disclosure threshold arrive as None. A None is never drawn as a zero:
it is a gap (a break in the line, a missing bar segment, an undrawn point) and there is a
tooltip saying "suppressed" where it would have been. A chart with no data at all is a
small SVG saying "no data yet".

Two charts with the same title on one page would share element ids; pass ``chart_id`` to
tell them apart. Malformed data (lists of different lengths, negative counts, rates
outside 0..1, a survival curve that rises) raises ValueError: the figures come from our
own measures, and a chart that quietly drew them wrong would be worse than none.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

RAG_COLOURS = {"RED": "#d62828", "AMBER": "#e9a100", "GREEN": "#2a9d3f"}
RAG_PATTERNS = {"GREEN": 0, "AMBER": 1, "RED": 3}  # plain, stripes, cross-hatch
# Okabe & Ito, "Color Universal Design": distinguishable with any common colour blindness.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000")
DASHES = ("", "7 3", "2 3", "9 3 2 3", "4 4")
MARKERS = ("circle", "square", "triangle", "diamond")
_LINE = 'stroke="#fff" stroke-width="1.6" stroke-opacity="0.75"'
PATTERNS = (  # drawn over the series' colour in a 6 x 6 tile
    "",
    f'<path d="M-1 1 L1 -1 M0 6 L6 0 M5 7 L7 5" {_LINE}/>',
    '<circle cx="3" cy="3" r="1.3" fill="#fff" fill-opacity="0.8"/>',
    f'<path d="M0 0 L6 6 M6 0 L0 6" {_LINE}/>',
    f'<path d="M0 3 H6" {_LINE}/>',
    f'<path d="M3 0 V6" {_LINE}/>',
)
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"
INK, MUTED, GRID, MARK = "#222", "#666", "#e3e3e3", "#1d4e89"
NO_DATA = "no data yet"
SUPPRESSED = "suppressed"
CHAR_PX = 6.4  # rough width of one character of 11px text, for laying out labels
TITLE_PX = 30  # the visible title's band at the top


# -- shared pieces --------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """The plot area in pixels, and the value range each axis maps onto it."""

    left: float
    top: float
    right: float
    bottom: float
    x_max: float = 1.0
    y_max: float = 1.0

    def x(self, value: float) -> float:
        return self.left + (self.right - self.left) * value / self.x_max

    def y(self, value: float) -> float:
        return self.bottom - (self.bottom - self.top) * value / self.y_max


def nice_ticks(high: float, *, integer: bool = False, count: int = 5) -> list[float]:
    """0, step, 2 x step, ... up to the first tick at or above ``high``, the step being the
    smallest 1, 2, 2.5 or 5 x 10^n giving at most ``count`` steps: axes start at 0 (a bar
    or a trend read from a cut-off axis exaggerates) and end on a round number. Counts
    (``integer``) step by whole numbers, never 2.5."""
    high = high if high > 0 else 1.0
    raw = high / count
    power = 10.0 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = next(m * power for m in multiples if m * power >= raw * (1 - 1e-9))
    if integer:
        step = max(1.0, step)
    steps = math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def _number(value: float) -> str:
    """A count as 1,234; anything else to two places (trailing zeros dropped)."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _value(value: float, percent: bool) -> str:
    """A value as the tooltips and labels give it: a proportion as a percentage."""
    return f"{value * 100:.1f}%" if percent else _number(value)


def _tick(value: float, step: float, percent: bool) -> str:
    """An axis label: as few decimals as the step needs."""
    if not percent:
        return _number(value)
    places = 0 if (step * 100).is_integer() else 1
    return f"{value * 100:.{places}f}%"


def _f(value: float) -> str:
    """A coordinate, to a tenth of a pixel."""
    return f"{value:.1f}"


def _chart_id(kind: str, title: str, chart_id: str | None) -> str:
    """The prefix of the chart's element ids: ``chart_id`` if given, else one made from the
    title, so the same chart renders the same bytes (cacheable, diffable)."""
    if chart_id is not None:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", chart_id):
            raise ValueError(f"chart_id {chart_id!r}: a letter, then letters, digits, - or _")
        return chart_id
    digest = hashlib.sha1(f"{kind}\0{title}".encode()).hexdigest()[:10]
    return f"chart-{kind}-{digest}"


def _open(kind: str, cid: str, title: str, desc: str, width: float, height: float) -> list[str]:
    """The ``<svg>`` with its accessible name and description, and the title drawn at the top
    (hidden from screen readers, which have just read it from ``<title>``)."""
    return [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_f(width)} {_f(height)}" '
            f'width="{_f(width)}" height="{_f(height)}" class="chart chart-{kind}" '
            f'id="{cid}" role="img" aria-labelledby="{cid}-title {cid}-desc" '
            f'font-family="{FONT}" font-size="11">',
            f'<title id="{cid}-title">{escape(title)}</title>',
            f'<desc id="{cid}-desc">{escape(desc)}</desc>',
            f'<rect width="{_f(width)}" height="{_f(height)}" fill="#fff"/>',
            f'<text class="chart-title" x="8" y="20" font-size="14" font-weight="bold" '
            f'fill="{INK}" aria-hidden="true">{escape(title)}</text>']


def _no_data(kind: str, title: str, chart_id: str | None, width: float = 640,
             height: float = 120) -> str:
    """The chart when there is nothing to draw: its title and "no data yet"."""
    cid = _chart_id(kind, title, chart_id)
    out = _open(kind, cid, title, f"{NO_DATA}.", width, height)
    out.append(f'<text class="no-data" x="{_f(width / 2)}" y="{_f(height / 2 + 12)}" '
               f'text-anchor="middle" font-size="13" fill="{MUTED}">{NO_DATA}</text></svg>')
    return "".join(out)


def _check(values: Sequence[float | None], what: str, *, most: float = math.inf) -> None:
    """Each value is None or a finite number from 0 to ``most``."""
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                math.isfinite(value) and 0 <= value <= most):
            limit = "" if most == math.inf else f" to {most:g}"
            raise ValueError(f"{what}: {value!r} is not a number from 0{limit}")


def _check_lengths(x_labels: Sequence[str], series: Mapping[str, Sequence[Any]]) -> None:
    for name, values in series.items():
        if len(values) != len(x_labels):
            raise ValueError(f"{name!r} has {len(values)} values for {len(x_labels)} labels")


def _styles(names: Sequence[str], colours: Mapping[str, str] | None = None
            ) -> list[tuple[str, int]]:
    """Each series' (colour, style index): the caller's colour if given, RAG's own colour
    and pattern for RED / AMBER / GREEN, else the next unused palette colour and style, so
    no two series share both colour and pattern."""
    colours = colours or {}
    rag = [name.strip().upper() if name.strip().upper() in RAG_COLOURS else None
           for name in names]
    taken = {RAG_PATTERNS[r] for r in rag if r}
    free_styles = (i for i in itertools.count() if i not in taken)
    free_colours = itertools.cycle(PALETTE)
    out = []
    for name, r in zip(names, rag, strict=True):
        style = RAG_PATTERNS[r] if r else next(free_styles)
        colour = colours.get(name) or (RAG_COLOURS[r] if r else next(free_colours))
        out.append((colour, style))
    return out


def _patterns(cid: str, styles: Sequence[tuple[str, int]]) -> list[str]:
    """A fill per series: its colour with its pattern over it."""
    out = ["<defs>"]
    for i, (colour, style) in enumerate(styles):
        out.append(f'<pattern id="{cid}-fill{i}" patternUnits="userSpaceOnUse" width="6" '
                   f'height="6"><rect width="6" height="6" fill="{escape(colour)}"/>'
                   f'{PATTERNS[style % len(PATTERNS)]}</pattern>')
    out.append("</defs>")
    return out


def _gap_pattern(cid: str) -> str:
    """Light grey hatching for where a figure was suppressed."""
    return (f'<defs><pattern id="{cid}-gap" patternUnits="userSpaceOnUse" width="6" '
            'height="6"><rect width="6" height="6" fill="#f4f4f4"/>'
            '<path d="M-1 1 L1 -1 M0 6 L6 0 M5 7 L7 5" stroke="#bbb" stroke-width="1"/>'
            '</pattern></defs>')


def _y_axis(box: Box, ticks: Sequence[float], percent: bool, label: str) -> list[str]:
    """Horizontal grid lines with the value of each, and the axis' name up the left side."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    out = ['<g class="y-axis">']
    for tick in ticks:
        y = _f(box.y(tick))
        out.append(f'<line x1="{_f(box.left)}" x2="{_f(box.right)}" y1="{y}" y2="{y}" '
                   f'stroke="{GRID if tick else MUTED}" stroke-width="1"/>'
                   f'<text x="{_f(box.left - 6)}" y="{_f(box.y(tick) + 4)}" text-anchor="end" '
                   f'fill="{MUTED}">{_tick(tick, step, percent)}</text>')
    if label:
        middle = _f((box.top + box.bottom) / 2)
        out.append(f'<text x="14" y="{middle}" transform="rotate(-90 14 {middle})" '
                   f'text-anchor="middle" fill="{INK}">{escape(label)}</text>')
    out.append("</g>")
    return out


def _left_margin(ticks: Sequence[float], percent: bool, label: str) -> float:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    widest = max(len(_tick(t, step, percent)) for t in ticks)
    return widest * CHAR_PX + 12 + (18 if label else 0)


def _x_labels(box: Box, labels: Sequence[str], centre: Callable[[int], float]) -> list[str]:
    """The category labels under the plot, thinned to every k-th when they would overlap
    (each mark's tooltip still names its own)."""
    band = (box.right - box.left) / max(1, len(labels))
    widest = max(len(label) for label in labels) * CHAR_PX + 8
    every = max(1, math.ceil(widest / band))
    out = ['<g class="x-axis">']
    for i, label in enumerate(labels):
        if i % every == 0:
            out.append(f'<text x="{_f(centre(i))}" y="{_f(box.bottom + 16)}" '
                       f'text-anchor="middle" fill="{MUTED}">{escape(label)}</text>')
    out.append("</g>")
    return out


def _legend(entries: Sequence[tuple[str, str]], width: float, top: float) -> tuple[list[str],
                                                                                   float]:
    """Legend entries (sample SVG drawn in a 24 x 12 box, name) in rows under the title;
    returns the SVG and the height the rows took."""
    out, x, y = ['<g class="legend">'], 8.0, top
    for sample, name in entries:
        size = 30 + len(name) * CHAR_PX + 14
        if x > 8 and x + size > width - 8:
            x, y = 8.0, y + 18
        out.append(f'<g class="legend-entry" transform="translate({_f(x)},{_f(y)})">{sample}'
                   f'<text x="30" y="10" fill="{INK}">{escape(name)}</text></g>')
        x += size
    out.append("</g>")
    return out, (y - top) + 18


def _marker(shape: str, x: float, y: float, colour: str, tooltip: str | None,
            cls: str = "point") -> str:
    """A data point's marker in its series' shape, with its tooltip."""
    fill = escape(colour)
    common = f'class="{cls}" fill="{fill}" stroke="#fff" stroke-width="1"'
    if shape == "circle":
        head = f'<circle {common} cx="{_f(x)}" cy="{_f(y)}" r="4"'
        tag = "circle"
    elif shape == "square":
        head = f'<rect {common} x="{_f(x - 3.5)}" y="{_f(y - 3.5)}" width="7" height="7"'
        tag = "rect"
    elif shape == "triangle":
        head = (f'<path {common} d="M{_f(x)} {_f(y - 5)} L{_f(x + 4.5)} {_f(y + 3.5)} '
                f'L{_f(x - 4.5)} {_f(y + 3.5)} Z"')
        tag = "path"
    else:
        head = (f'<path {common} d="M{_f(x)} {_f(y - 5)} L{_f(x + 5)} {_f(y)} '
                f'L{_f(x)} {_f(y + 5)} L{_f(x - 5)} {_f(y)} Z"')
        tag = "path"
    if tooltip is None:
        return head + "/>"
    return f"{head}><title>{escape(tooltip)}</title></{tag}>"


def _gap_band(cid: str, x1: float, x2: float, box: Box, tooltip: str) -> str:
    """A hatched band where figures were suppressed, with a tooltip saying which."""
    return (f'<rect class="suppressed" x="{_f(x1)}" y="{_f(box.top)}" '
            f'width="{_f(max(1.0, x2 - x1))}" height="{_f(box.bottom - box.top)}" '
            f'fill="url(#{cid}-gap)" fill-opacity="0.7"><title>{escape(tooltip)}</title></rect>')


def _suppressed_count(series: Mapping[str, Sequence[Any]]) -> str:
    count = sum(v is None for values in series.values() for v in values)
    if not count:
        return ""
    return f" {count} figure{'s' if count > 1 else ''} suppressed (small numbers) and not drawn."


# -- line chart -----------------------------------------------------------------------------


def line_chart(title: str, x_labels: Sequence[str],
               series: Mapping[str, Sequence[float | None]], *, y_label: str,
               percent: bool = False, width: int = 640, height: int = 320,
               chart_id: str | None = None) -> str:
    """Trend lines over ordered categories (months, quarters), e.g. monthly cohort size or
    the reoffending rate by quarter.

    ``series`` maps each line's name to one value per ``x_labels`` entry, None where the
    figure is suppressed (the line breaks there and a hatched band's tooltip says so). With
    ``percent`` the values are proportions 0..1 shown as percentages. The y axis starts at
    0 with round ticks; each line has its own colour, dash and marker shape, named in the
    legend. Returns the SVG; with no labels or no series, an SVG saying "no data yet"."""
    if not x_labels or not series:
        return _no_data("line", title, chart_id, width)
    _check_lengths(x_labels, series)
    for name, values in series.items():
        _check(values, name, most=1.0 if percent else math.inf)
    cid = _chart_id("line", title, chart_id)
    known = [v for values in series.values() for v in values if v is not None]
    integer = not percent and all(float(v).is_integer() for v in known)
    ticks = nice_ticks(max(known, default=0.0), integer=integer)
    names = list(series)
    styles = _styles(names)
    entries = [(_line_sample(colour, i), name)
               for i, (name, (colour, _)) in enumerate(zip(names, styles, strict=True))]
    legend, legend_h = _legend(entries, width, TITLE_PX)
    box = Box(_left_margin(ticks, percent, y_label), TITLE_PX + legend_h + 8, width - 16,
              height - 28, y_max=ticks[-1])
    band = (box.right - box.left) / len(x_labels)

    def centre(i: int) -> float:
        return box.left + band * (i + 0.5)

    desc = _line_desc(x_labels, series, percent, y_label)
    out = _open("line", cid, title, desc, width, height)
    out.append(_gap_pattern(cid))
    out.extend(legend)
    out.extend(_y_axis(box, ticks, percent, y_label))
    out.extend(_x_labels(box, x_labels, centre))
    for i, label in enumerate(x_labels):
        missing = [name for name in names if series[name][i] is None]
        if missing:
            out.append(_gap_band(cid, centre(i) - band * 0.4, centre(i) + band * 0.4, box,
                                 f"{label}: {', '.join(missing)} {SUPPRESSED}"))
    for i, name in enumerate(names):
        out.extend(_line(box, centre, x_labels, name, series[name], styles[i][0], i,
                         percent))
    out.append("</svg>")
    return "".join(out)


def _line_sample(colour: str, index: int) -> str:
    """A line's legend sample: a stretch of its dash with its marker on it."""
    dash = DASHES[index % len(DASHES)]
    return (f'<line x1="0" x2="24" y1="6" y2="6" stroke="{escape(colour)}" stroke-width="2"'
            + (f' stroke-dasharray="{dash}"' if dash else "") + "/>"
            + _marker(MARKERS[index % len(MARKERS)], 12, 6, colour, None, "legend-marker"))


def _line(box: Box, centre: Callable[[int], float], x_labels: Sequence[str], name: str,
          values: Sequence[float | None], colour: str, index: int, percent: bool
          ) -> list[str]:
    """One series: a path per unbroken run of values (a None breaks it), then a marker with
    its tooltip at each value."""
    dash = DASHES[index % len(DASHES)]
    d, pen_down = [], False
    for i, value in enumerate(values):
        if value is None:
            pen_down = False
            continue
        d.append(f"{'L' if pen_down else 'M'}{_f(centre(i))} {_f(box.y(value))}")
        pen_down = True
    out = [f'<g class="series" data-series="{escape(name)}">',
           f'<path class="line" d="{" ".join(d)}" fill="none" stroke="{escape(colour)}" '
           f'stroke-width="2" stroke-linejoin="round"'
           + (f' stroke-dasharray="{dash}"' if dash else "") + "/>"]
    shape = MARKERS[index % len(MARKERS)]
    for i, value in enumerate(values):
        if value is not None:
            tooltip = f"{name}, {x_labels[i]}: {_value(value, percent)}"
            out.append(_marker(shape, centre(i), box.y(value), colour, tooltip))
    out.append("</g>")
    return out


def _line_desc(x_labels: Sequence[str], series: Mapping[str, Sequence[float | None]],
               percent: bool, y_label: str) -> str:
    """What a line chart shows, in words: each line's latest and highest value."""
    span = x_labels[0] if len(x_labels) == 1 else f"{x_labels[0]} to {x_labels[-1]}"
    parts = [f"Line chart of {y_label} for {span}."]
    for name, values in series.items():
        points = [(v, x_labels[i]) for i, v in enumerate(values) if v is not None]
        if not points:
            parts.append(f"{name}: all {SUPPRESSED}.")
            continue
        latest, high = points[-1], max(points, key=lambda p: p[0])
        parts.append(f"{name}: latest {_value(latest[0], percent)} ({latest[1]}), "
                     f"highest {_value(high[0], percent)} ({high[1]}).")
    return " ".join(parts) + _suppressed_count(series)


# -- stacked bars ---------------------------------------------------------------------------


def stacked_bars(title: str, x_labels: Sequence[str],
                 stacks: Mapping[str, Sequence[int | None]],
                 colours: Mapping[str, str] | None = None, *, y_label: str = "people",
                 width: int = 640, height: int = 320, chart_id: str | None = None) -> str:
    """Vertical bars split into stacked counts per category, e.g. the cohort by RAG grade
    each month, with each bar's total on top.

    ``stacks`` maps each segment's name to one count per ``x_labels`` entry, the first
    drawn at the bottom; None where suppressed: that segment is not drawn, the total
    shows what is known as "≥ n" and its tooltip names the suppressed segment. Stacks named
    RED / AMBER / GREEN (any case) take the RAG colours; ``colours`` overrides any name.
    Every segment has its own fill pattern as well as colour, and segments tall enough
    carry their count. Returns the SVG; with no labels or no stacks, "no data yet"."""
    if not x_labels or not stacks:
        return _no_data("stacked", title, chart_id, width)
    _check_lengths(x_labels, stacks)
    for name, values in stacks.items():
        _check(values, name)
    cid = _chart_id("stacked", title, chart_id)
    names = list(stacks)
    totals = [sum(stacks[n][i] or 0 for n in names) for i in range(len(x_labels))]
    integer = all(float(v).is_integer() for vs in stacks.values() for v in vs if v is not None)
    ticks = nice_ticks(max(totals), integer=integer)
    styles = _styles(names, colours)
    entries = [(f'<rect width="24" height="12" fill="url(#{cid}-fill{i})" stroke="{INK}" '
                'stroke-width="0.5"/>', name) for i, name in enumerate(names)]
    legend, legend_h = _legend(entries, width, TITLE_PX)
    box = Box(_left_margin(ticks, False, y_label), TITLE_PX + legend_h + 22, width - 16,
              height - 28, y_max=ticks[-1])
    band = (box.right - box.left) / len(x_labels)

    def centre(i: int) -> float:
        return box.left + band * (i + 0.5)

    desc = _stacked_desc(x_labels, stacks, totals, y_label)
    out = _open("stacked", cid, title, desc, width, height)
    out.extend(_patterns(cid, styles))
    out.extend(legend)
    out.extend(_y_axis(box, ticks, False, y_label))
    out.extend(_x_labels(box, x_labels, centre))
    for i, label in enumerate(x_labels):
        column = [(name, stacks[name][i]) for name in names]
        out.extend(_stack(cid, box, centre(i), band * 0.7, label, column))
    out.append("</svg>")
    return "".join(out)


def _stack(cid: str, box: Box, centre: float, bar_w: float, label: str,
           column: Sequence[tuple[str, int | None]]) -> list[str]:
    """One bar: its segments bottom up (none for a suppressed one) and the total above."""
    out = [f'<g class="stack" data-label="{escape(label)}">']
    base, x = 0.0, centre - bar_w / 2
    for index, (name, value) in enumerate(column):
        if value is None:
            continue
        top, bottom = box.y(base + value), box.y(base)
        out.append(f'<rect class="segment" data-series="{escape(name)}" x="{_f(x)}" '
                   f'y="{_f(top)}" width="{_f(bar_w)}" height="{_f(bottom - top)}" '
                   f'fill="url(#{cid}-fill{index})" stroke="#fff" stroke-width="0.5">'
                   f'<title>{escape(f"{name}, {label}: {_number(value)}")}</title></rect>')
        if bottom - top >= 14 and bar_w >= len(_number(value)) * CHAR_PX + 4:
            out.append(f'<text class="segment-label" x="{_f(centre)}" '
                       f'y="{_f((top + bottom) / 2 + 4)}" text-anchor="middle" fill="{INK}" '
                       'stroke="#fff" stroke-width="3" paint-order="stroke" '
                       f'aria-hidden="true">{_number(value)}</text>')
        base += value
    out.append(_total(box, centre, label, column, base))
    out.append("</g>")
    return out


def _total(box: Box, centre: float, label: str, column: Sequence[tuple[str, int | None]],
           known: float) -> str:
    """The total over a bar: exact, "≥ n" when a segment is suppressed (the rest is a lower
    bound), or "suppressed" when all of them are."""
    missing = [name for name, value in column if value is None]
    if len(missing) == len(column):
        text, tooltip = SUPPRESSED, f"{label}: all {SUPPRESSED}"
    elif missing:
        text = f"≥ {_number(known)}"
        tooltip = f"{label}: {_number(known)} shown; {', '.join(missing)} {SUPPRESSED}"
    else:
        text, tooltip = _number(known), f"{label}: total {_number(known)}"
    return (f'<text class="total" x="{_f(centre)}" y="{_f(box.y(known) - 5)}" '
            f'text-anchor="middle" font-weight="bold" fill="{INK}">{escape(text)}'
            f'<title>{escape(tooltip)}</title></text>')


def _stacked_desc(x_labels: Sequence[str], stacks: Mapping[str, Sequence[int | None]],
                  totals: Sequence[float], y_label: str) -> str:
    """What a stacked bar chart shows: what is stacked, and the latest bar's make-up."""
    span = x_labels[0] if len(x_labels) == 1 else f"{x_labels[0]} to {x_labels[-1]}"
    last = len(x_labels) - 1
    parts = ", ".join(f"{name} {SUPPRESSED if values[last] is None else _number(values[last])}"
                      for name, values in stacks.items())
    return (f"Stacked bar chart of {y_label} by {', '.join(stacks)} for {span}. "
            f"{x_labels[last]}: {parts}; {_number(totals[last])} shown in all."
            + _suppressed_count(stacks))


# -- calibration ----------------------------------------------------------------------------


def calibration_plot(title: str, points: Sequence[Mapping[str, Any]], *,
                     x_label: str = "predicted rate", y_label: str = "actual rate",
                     width: int = 440, height: int = 500, chart_id: str | None = None) -> str:
    """How well predicted rates matched what happened: one circle per band at (mean
    predicted, actual rate), both proportions 0..1 drawn as percentages, with the diagonal
    where the two are equal ("as predicted"). A point above the diagonal did worse than
    predicted. The circle's area grows with the band's ``n``, so a small band's wild rate
    does not look as weighty as a large band's.

    ``points``: {band, n, mean_predicted, actual_rate}; a point whose predicted or actual
    rate is None (suppressed) is not drawn and a note under the axis names it, with a
    tooltip; an ``n`` of None draws the smallest circle. Returns the SVG; with no points,
    "no data yet"."""
    if not points:
        return _no_data("calibration", title, chart_id, width)
    for p in points:
        _check([p.get("mean_predicted"), p.get("actual_rate")], f"band {p['band']}", most=1.0)
        _check([p.get("n")], f"band {p['band']} n")
    cid = _chart_id("calibration", title, chart_id)
    ticks = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    left = _left_margin(ticks, True, y_label)
    side = min(width - left - 24, height - TITLE_PX - 16 - 92)
    box = Box(left, TITLE_PX + 16, left + side, TITLE_PX + 16 + side)
    placed = [p.get("mean_predicted") is not None and p.get("actual_rate") is not None
              for p in points]
    drawn = [p for p, ok in zip(points, placed, strict=True) if ok]
    hidden = [p for p, ok in zip(points, placed, strict=True) if not ok]
    out = _open("calibration", cid, title, _calibration_desc(drawn, hidden), width, height)
    out.extend(_y_axis(box, ticks, True, y_label))
    out.extend(_calibration_x_axis(box, ticks, x_label))
    out.extend(_diagonal(box))
    out.extend(_calibration_points(box, drawn))
    if hidden:
        out.append(_hidden_note(box, hidden))
    out.append("</svg>")
    return "".join(out)


def _calibration_x_axis(box: Box, ticks: Sequence[float], label: str) -> list[str]:
    """Vertical grid lines with their percentage, and the axis' name beneath."""
    out = ['<g class="x-axis">']
    for tick in ticks:
        x = _f(box.x(tick))
        out.append(f'<line x1="{x}" x2="{x}" y1="{_f(box.top)}" y2="{_f(box.bottom)}" '
                   f'stroke="{GRID if tick else MUTED}" stroke-width="1"/>'
                   f'<text x="{x}" y="{_f(box.bottom + 16)}" text-anchor="middle" '
                   f'fill="{MUTED}">{_tick(tick, 0.2, True)}</text>')
    out.append(f'<text x="{_f((box.left + box.right) / 2)}" y="{_f(box.bottom + 32)}" '
               f'text-anchor="middle" fill="{INK}">{escape(label)}</text></g>')
    return out


def _diagonal(box: Box) -> list[str]:
    """The "as predicted" line, and its key under the plot (a label along the line itself
    would collide with the bands' labels, which sit near it when the model is good)."""
    y = box.bottom + 50
    return [f'<line class="diagonal" x1="{_f(box.x(0))}" y1="{_f(box.y(0))}" '
            f'x2="{_f(box.x(1))}" y2="{_f(box.y(1))}" stroke="{MUTED}" stroke-width="1.5" '
            'stroke-dasharray="6 4"><title>as predicted: actual equals predicted</title>'
            '</line>',
            f'<g class="key"><line x1="{_f(box.left)}" x2="{_f(box.left + 24)}" '
            f'y1="{_f(y - 4)}" y2="{_f(y - 4)}" stroke="{MUTED}" stroke-width="1.5" '
            f'stroke-dasharray="6 4"/><text x="{_f(box.left + 30)}" y="{_f(y)}" '
            f'fill="{INK}">as predicted (actual = predicted)</text>'
            f'<text x="{_f(box.left)}" y="{_f(y + 16)}" fill="{INK}">circle area: '
            'the number of people in the band</text></g>']


def _calibration_points(box: Box, drawn: Sequence[Mapping[str, Any]]) -> list[str]:
    """The bands' circles, largest first so a small one is never hidden under a big one,
    each labelled with its band."""
    largest = max((p.get("n") or 0 for p in drawn), default=0)
    out = ['<g class="points">']
    for p in sorted(drawn, key=lambda p: -(p.get("n") or 0)):
        n = p.get("n")
        r = max(3.0, 18 * math.sqrt(n / largest)) if n and largest else 3.0
        cx, cy = box.x(p["mean_predicted"]), box.y(p["actual_rate"])
        people = f"{_number(n)} people" if n is not None else f"number {SUPPRESSED}"
        tooltip = (f"band {p['band']} ({people}): predicted "
                   f"{_value(p['mean_predicted'], True)}, actual {_value(p['actual_rate'], True)}")
        out.append(f'<circle class="point" data-band="{escape(str(p["band"]))}" '
                   f'cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(r)}" fill="{MARK}" fill-opacity="0.5" '
                   f'stroke="{MARK}" stroke-width="1.5"><title>{escape(tooltip)}</title>'
                   '</circle>'
                   f'<text class="point-label" x="{_f(cx + r + 3)}" y="{_f(cy - 3)}" '
                   f'fill="{INK}" stroke="#fff" stroke-width="3" paint-order="stroke">'
                   f'{escape(str(p["band"]))}</text>')
    out.append("</g>")
    return out


def _hidden_note(box: Box, hidden: Sequence[Mapping[str, Any]]) -> str:
    """The bands that could not be placed, named under the plot with a tooltip saying why."""
    bands = ", ".join(str(p["band"]) for p in hidden)
    why = "; ".join(f"band {p['band']}: " + " and ".join(
        f"{what} {SUPPRESSED}" for key, what in (("mean_predicted", "predicted rate"),
                                                  ("actual_rate", "actual rate"))
        if p.get(key) is None) for p in hidden)
    return (f'<text class="suppressed" x="{_f(box.left)}" y="{_f(box.bottom + 84)}" '
            f'fill="{MUTED}">{escape(f"not drawn ({SUPPRESSED}): {bands}")}'
            f'<title>{escape(why)}</title></text>')


def _calibration_desc(drawn: Sequence[Mapping[str, Any]],
                      hidden: Sequence[Mapping[str, Any]]) -> str:
    """The plot in words: each band's predicted and actual rate."""
    parts = ["Calibration plot: actual rate against predicted rate by band."]
    parts += [f"Band {p['band']}: predicted {_value(p['mean_predicted'], True)}, actual "
              f"{_value(p['actual_rate'], True)}." for p in drawn]
    if hidden:
        parts.append(f"{SUPPRESSED.capitalize()}: "
                     f"{', '.join(str(p['band']) for p in hidden)}.")
    return " ".join(parts)


# -- survival -------------------------------------------------------------------------------


def survival_curves(title: str, curves: Mapping[str, Sequence[Mapping[str, Any]]], *,
                    y_label: str = "not reoffended", x_label: str = "days",
                    horizon: int = 365, width: int = 640, height: int = 340,
                    chart_id: str | None = None) -> str:
    """Survival (e.g. the share not yet reoffended) over days 0..``horizon`` as step
    functions, one per curve, each with its own colour and dash, named in the legend.

    Each curve is a list of steps {day, survival[, at_risk]}: ``survival`` (0..1) holds from
    ``day`` until the next step; a curve not starting at day 0 starts at 1.0 there. It ends
    at its last step (follow-up ends there; add a last step with the same survival to carry
    it on); steps after ``horizon`` only carry it to the edge. A survival of None (a
    suppressed step) breaks the curve until the next step, under a hatched band whose
    tooltip says so. A curve that rises raises ValueError. Each step has a marker whose
    tooltip gives its day, survival and (if given) how many were at risk. Returns the SVG;
    with no curves or only empty ones, "no data yet"."""
    if not any(curves.values()):
        return _no_data("survival", title, chart_id, width)
    steps = {name: _steps(name, curve) for name, curve in curves.items()}
    cid = _chart_id("survival", title, chart_id)
    ticks = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    names = list(curves)
    styles = _styles(names)
    entries = [(_dash_sample(colour, i), name + ("" if steps[name] else f" ({NO_DATA})"))
               for i, (name, (colour, _)) in enumerate(zip(names, styles, strict=True))]
    legend, legend_h = _legend(entries, width, TITLE_PX)
    box = Box(_left_margin(ticks, True, y_label), TITLE_PX + legend_h + 8, width - 20,
              height - 44, x_max=horizon)
    out = _open("survival", cid, title, _survival_desc(steps, horizon), width, height)
    out.append(_gap_pattern(cid))
    out.extend(legend)
    out.extend(_y_axis(box, ticks, True, y_label))
    out.extend(_day_axis(box, horizon, x_label))
    drawn = [_curve(cid, box, name, steps[name], styles[i][0], i)
             for i, name in enumerate(names)]
    out.extend(gap for gaps, _ in drawn for gap in gaps)
    out.extend(part for _, curve in drawn for part in curve)
    out.append("</svg>")
    return "".join(out)


def _dash_sample(colour: str, index: int) -> str:
    dash = DASHES[index % len(DASHES)]
    return (f'<line x1="0" x2="24" y1="6" y2="6" stroke="{escape(colour)}" stroke-width="2.5"'
            + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")


def _steps(name: str, curve: Sequence[Mapping[str, Any]]) -> list[tuple[float, float | None,
                                                                         Any]]:
    """A curve's steps as (day, survival, at_risk) in day order, checked: days from 0,
    survival 0..1 and never rising (across suppressed steps too)."""
    steps = sorted(((s["day"], s.get("survival"), s.get("at_risk")) for s in curve),
                   key=lambda s: s[0])
    _check([s[0] for s in steps], f"{name} day")
    _check([s[1] for s in steps], f"{name} survival", most=1.0)
    known = [s[1] for s in steps if s[1] is not None]
    for before, after in itertools.pairwise(known):
        if after > before:
            raise ValueError(f"{name}: survival rises from {before} to {after}")
    return steps


def _day_axis(box: Box, horizon: int, label: str) -> list[str]:
    """Day ticks at round numbers, and the horizon itself, under the plot."""
    ticks = [t for t in nice_ticks(horizon, integer=True) if t <= horizon]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else horizon
    if horizon - ticks[-1] > step / 2:
        ticks.append(float(horizon))
    out = ['<g class="x-axis">']
    for tick in ticks:
        x = _f(box.x(tick))
        out.append(f'<line x1="{x}" x2="{x}" y1="{_f(box.bottom)}" y2="{_f(box.bottom + 4)}" '
                   f'stroke="{MUTED}"/><text x="{x}" y="{_f(box.bottom + 16)}" '
                   f'text-anchor="middle" fill="{MUTED}">{_number(tick)}</text>')
    out.append(f'<text x="{_f((box.left + box.right) / 2)}" y="{_f(box.bottom + 34)}" '
               f'text-anchor="middle" fill="{INK}">{escape(label)}</text></g>')
    return out


def _curve(cid: str, box: Box, name: str, steps: Sequence[tuple[float, float | None, Any]],
           colour: str, index: int) -> tuple[list[str], list[str]]:
    """One curve: the hatched bands where it is suppressed (drawn beneath every curve, so
    they hide none), and its step path with a marker and tooltip at each step."""
    if not steps:
        return [], []
    d, marks, gaps = _step_path(cid, box, name, steps)
    dash = DASHES[index % len(DASHES)]
    out = [f'<g class="curve" data-series="{escape(name)}">',
           f'<path class="step" d="{" ".join(d)}" fill="none" stroke="{escape(colour)}" '
           f'stroke-width="2.5"' + (f' stroke-dasharray="{dash}"' if dash else "") + "/>"]
    for day, survival, at_risk in marks:
        tooltip = f"{name}, day {_number(day)}: {_value(survival, True)}" + (
            f", {_number(at_risk)} at risk" if at_risk is not None else "")
        out.append(f'<circle class="point" cx="{_f(box.x(day))}" cy="{_f(box.y(survival))}" '
                   f'r="2.5" fill="{escape(colour)}"><title>{escape(tooltip)}</title></circle>')
    out.append("</g>")
    return gaps, out


def _step_path(cid: str, box: Box, name: str, steps: Sequence[tuple[float, float | None, Any]]
               ) -> tuple[list[str], list[tuple[float, float, Any]], list[str]]:
    """The path's commands (flat to each step's day, then down to its survival; a new
    subpath after a suppressed step), the steps to mark, and the suppressed bands."""
    horizon = box.x_max
    implicit = steps[0][0] > 0  # the day-0 start at 1.0 is drawn but is not a data point
    if implicit:
        steps = [(0.0, 1.0, None), *steps]
    d, level, marks, gaps = [], None, [], []
    for i, (day, survival, at_risk) in enumerate(steps):
        if day > horizon:
            if level is not None:
                d.append(f"H{_f(box.x(horizon))}")
            break
        if survival is None:
            if level is not None:
                d.append(f"H{_f(box.x(day))}")
            end = steps[i + 1][0] if i + 1 < len(steps) else day + horizon / 50
            gaps.append(_gap_band(cid, box.x(day), box.x(min(end, horizon)), box,
                                  f"{name}, day {_number(day)}: {SUPPRESSED}"))
            level = None
            continue
        x, y = _f(box.x(day)), _f(box.y(survival))
        d.append(f"M{x} {y}" if level is None else f"H{x} V{y}")
        level = survival
        if i > 0 or not implicit:
            marks.append((day, survival, at_risk))
    return d, marks, gaps


def _survival_desc(steps: Mapping[str, Sequence[tuple[float, float | None, Any]]],
                   horizon: int) -> str:
    """The curves in words: where each stands at the last known day within the horizon."""
    parts = [f"Survival curves over {horizon} days."]
    for name, curve in steps.items():
        known = [(d, s) for d, s, _ in curve if s is not None and d <= horizon]
        if not known:
            parts.append(f"{name}: {NO_DATA if not curve else SUPPRESSED}.")
            continue
        day, survival = known[-1]
        parts.append(f"{name}: {_value(survival, True)} at day {_number(day)}.")
    count = sum(s is None for curve in steps.values() for _, s, _ in curve)
    if count:
        parts.append(f"{count} step{'s' if count > 1 else ''} {SUPPRESSED}.")
    return " ".join(parts)


# -- horizontal bars ------------------------------------------------------------------------


def bars(title: str, labels: Sequence[str], values: Sequence[float | None], *,
         percent: bool = False, x_label: str = "", width: int = 640,
         chart_id: str | None = None) -> str:
    """Simple horizontal bars, one per label in the given order, each with its value at
    its end, e.g. caseload per lead officer. The height grows with the number of bars.

    With ``percent`` the values are proportions 0..1 shown as percentages. A None value
    (suppressed) has no bar but the word "suppressed" with a tooltip. Long labels are cut
    short with "…" (their tooltip has them whole). Returns the SVG; with no labels, "no
    data yet"."""
    if not labels:
        return _no_data("bars", title, chart_id, width)
    if len(values) != len(labels):
        raise ValueError(f"{len(values)} values for {len(labels)} labels")
    _check(values, "bars", most=1.0 if percent else math.inf)
    cid = _chart_id("bars", title, chart_id)
    known = [v for v in values if v is not None]
    ticks = nice_ticks(max(known, default=0.0),
                       integer=not percent and all(float(v).is_integer() for v in known))
    row = 24
    most_chars = max(8, int(width * 0.35 / CHAR_PX))
    left = 12 + CHAR_PX * min(most_chars, max(len(label) for label in labels))
    height = TITLE_PX + 12 + row * len(labels) + (46 if x_label else 30)
    box = Box(left, TITLE_PX + 12, width - 16 - 7 * CHAR_PX, TITLE_PX + 12 + row * len(labels),
              x_max=ticks[-1])
    out = _open("bars", cid, title, _bars_desc(labels, values, percent), width, height)
    out.extend(_value_axis(box, ticks, percent, x_label))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        out.extend(_bar(box, box.top + row * i, row, label, value, percent, most_chars))
    out.append("</svg>")
    return "".join(out)


def _value_axis(box: Box, ticks: Sequence[float], percent: bool, label: str) -> list[str]:
    """Vertical grid lines at the ticks, with their values beneath and the axis' name."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    out = ['<g class="x-axis">']
    for tick in ticks:
        x = _f(box.x(tick))
        out.append(f'<line x1="{x}" x2="{x}" y1="{_f(box.top)}" y2="{_f(box.bottom)}" '
                   f'stroke="{GRID if tick else MUTED}" stroke-width="1"/>'
                   f'<text x="{x}" y="{_f(box.bottom + 16)}" text-anchor="middle" '
                   f'fill="{MUTED}">{_tick(tick, step, percent)}</text>')
    if label:
        out.append(f'<text x="{_f((box.left + box.right) / 2)}" y="{_f(box.bottom + 34)}" '
                   f'text-anchor="middle" fill="{INK}">{escape(label)}</text>')
    out.append("</g>")
    return out


def _bar(box: Box, top: float, row: float, label: str, value: float | None, percent: bool,
         most_chars: int) -> list[str]:
    """One row: its label, then its bar and value, or "suppressed"."""
    shown = label if len(label) <= most_chars else label[:most_chars - 1] + "…"
    middle = top + row / 2 + 4
    out = [f'<text class="bar-label" x="{_f(box.left - 6)}" y="{_f(middle)}" '
           f'text-anchor="end" fill="{INK}">{escape(shown)}'
           f'<title>{escape(label)}</title></text>']
    if value is None:
        out.append(f'<text class="suppressed" x="{_f(box.left + 4)}" y="{_f(middle)}" '
                   f'font-style="italic" fill="{MUTED}">{SUPPRESSED}'
                   f'<title>{escape(f"{label}: {SUPPRESSED}")}</title></text>')
        return out
    end = box.x(value)
    tooltip = f"{label}: {_value(value, percent)}"
    out.append(f'<rect class="bar" x="{_f(box.left)}" y="{_f(top + 4)}" '
               f'width="{_f(end - box.left)}" height="{_f(row - 8)}" fill="{MARK}">'
               f'<title>{escape(tooltip)}</title></rect>'
               f'<text class="bar-value" x="{_f(end + 4)}" y="{_f(middle)}" fill="{INK}">'
               f'{_value(value, percent)}</text>')
    return out


def _bars_desc(labels: Sequence[str], values: Sequence[float | None], percent: bool) -> str:
    """The bars in words: how many, and the highest and lowest."""
    known = [(v, labels[i]) for i, v in enumerate(values) if v is not None]
    parts = [f"Bar chart of {len(labels)} value{'s' if len(labels) > 1 else ''}."]
    if known:
        high, low = max(known, key=lambda p: p[0]), min(known, key=lambda p: p[0])
        parts.append(f"Highest {high[1]} ({_value(high[0], percent)}); "
                     f"lowest {low[1]} ({_value(low[0], percent)}).")
    return " ".join(parts) + _suppressed_count({"": values})
