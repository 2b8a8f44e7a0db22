"""The evidence map of a hit, drawn from the data itself as SVG. Pure.

The console's fallback when Leaflet is not vendored, and the map of the evidence pack (the
printable page and the PDF). Without a tile server the map is the evidence alone: an
equirectangular projection around the crime (metres east and north; over a few hundred
metres the error is far below any fix's accuracy), each fix with its accuracy circle, the
trail between fixes coloured by the time gap (a long gap is where the person could have
been anywhere), the crime with its own accuracy, a scale bar and north (up). A deployment
with a tile server sets a tile URL and the tiles are drawn underneath. Fix times are on the
UK clock with their zone (GMT or BST, ``present``).

Officers read and write positions as National Grid references, so beneath the map the
evidence pack lists the crime's and every fix's grid reference, converted from WGS84 with
OSTN15 (``iomkit.grid``; a crime sent in grid references shows the reference it was sent
as), and each fix's tooltip carries its own. A position outside what OSTN15 covers says so
instead of showing a shifted reference.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from iomkit import grid
from services.notifications import present

R = 6_371_008.8  # mean Earth radius (m), as the hit rule's haversine
GAP_COLOURS = ((120.0, "#2a9d3f", "≤ 2 min"), (600.0, "#e9a100", "≤ 10 min"),
               (math.inf, "#d62828", "> 10 min"))
LINE_PX = 16  # one line of the grid-reference list beneath the map


def gap_colour(gap_s: float) -> str:
    return next(colour for limit, colour, _ in GAP_COLOURS if gap_s <= limit)


def nice_length(metres: float) -> float:
    """The largest 1, 2 or 5 x 10^n not above ``metres`` (a scale bar's length)."""
    if metres <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(metres))
    return next(step * power for step in (5, 2, 1) if step * power <= metres)


class Projection:
    def __init__(self, lat0: float, lon0: float, metres_per_px: float, width: int,
                 height: int) -> None:
        self.lat0, self.lon0 = lat0, lon0
        self.k = math.cos(math.radians(lat0))
        self.mpp = metres_per_px
        self.width, self.height = width, height

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        east = R * math.radians(lon - self.lon0) * self.k
        north = R * math.radians(lat - self.lat0)
        return self.width / 2 + east / self.mpp, self.height / 2 - north / self.mpp

    def latlon(self, x: float, y: float) -> tuple[float, float]:
        east = (x - self.width / 2) * self.mpp
        north = (self.height / 2 - y) * self.mpp
        return (self.lat0 + math.degrees(north / R),
                self.lon0 + math.degrees(east / (R * self.k)))


def _time(value: Any) -> str:
    """A fix's time on the UK clock with its zone (GMT or BST): how officers read it."""
    return present.clock(value) if isinstance(value, (datetime, int)) else str(value)


def gap_seconds(a: Any, b: Any) -> float:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return (b - a).total_seconds()
    return float(b - a) / 1000.0  # epoch milliseconds


def grid_references(points: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each {lat, lon} point's National Grid reference with its easting and northing
    ("SU 42000 12000 (442000.0 E, 112000.0 N)"), or why it has none."""
    if not points:
        return []
    found = grid.national_grid([p["lat"] for p in points], [p["lon"] for p in points])
    return [f"no grid reference: {g['no_grid_reference']}" if "no_grid_reference" in g else
            f"{g['reference']} ({g['easting']:.1f} E, {g['northing']:.1f} N)" for g in found]


def render(fixes: Sequence[Mapping[str, Any]], crime: Mapping[str, Any] | None,
           width: int = 640, height: int = 420, tile_url: str = "") -> str:
    """``fixes``: {recorded_at, lat, lon, accuracy_m[, distance_m]}; ``crime``: {lat, lon,
    location_accuracy_m, crime_ref} or None when its position is not known here.
    ``height`` is the map's; the grid-reference list beneath it adds ``LINE_PX`` a line."""
    ordered = sorted(fixes, key=lambda f: f["recorded_at"])
    references = grid_references([*([crime] if crime is not None else []), *ordered])
    crime_reference = references.pop(0) if crime is not None else None
    listed = height + LINE_PX * (len(ordered) + 2) + 8
    if crime is not None:
        lat0, lon0 = crime["lat"], crime["lon"]
    elif ordered:
        lat0 = sum(f["lat"] for f in ordered) / len(ordered)
        lon0 = sum(f["lon"] for f in ordered) / len(ordered)
    else:
        lat0, lon0 = 0.0, 0.0
    probe = Projection(lat0, lon0, 1.0, 0, 0)
    extent = 50.0  # metres from the centre the map must show, at least
    for f in ordered:
        x, y = probe.xy(f["lat"], f["lon"])
        extent = max(extent, abs(x) + f["accuracy_m"], abs(y) + f["accuracy_m"])
    if crime is not None:
        extent = max(extent, float(crime.get("location_accuracy_m") or 0.0))
    margin = 24
    mpp = extent * 1.1 / (min(width, height) / 2 - margin)
    proj = Projection(lat0, lon0, mpp, width, height)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {listed}" '
           f'width="{width}" height="{listed}" class="evidence-map" '
           f'data-fixes="{len(ordered)}" role="img" aria-label="evidence map">',
           f'<rect width="{width}" height="{height}" fill="#f4f1ea"/>']
    if tile_url:
        out.extend(_tiles(proj, tile_url))
    out.append('<g class="accuracy">')
    for f in ordered:
        x, y = proj.xy(f["lat"], f["lon"])
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{f["accuracy_m"] / mpp:.1f}" '
                   'fill="#1d4e89" fill-opacity="0.08" stroke="#1d4e89" '
                   'stroke-opacity="0.35" stroke-width="1"/>')
    out.append('</g><g class="trail">')
    for a, b in itertools.pairwise(ordered):
        gap = gap_seconds(a["recorded_at"], b["recorded_at"])
        (x1, y1), (x2, y2) = proj.xy(a["lat"], a["lon"]), proj.xy(b["lat"], b["lon"])
        out.append(f'<line class="gap" data-gap-s="{gap:.0f}" x1="{x1:.1f}" y1="{y1:.1f}" '
                   f'x2="{x2:.1f}" y2="{y2:.1f}" stroke="{gap_colour(gap)}" stroke-width="3" '
                   f'stroke-linecap="round"><title>gap {gap:.0f} s</title></line>')
    out.append('</g><g class="fixes">')
    labels = []
    for f, reference in zip(ordered, references, strict=True):
        x, y = proj.xy(f["lat"], f["lon"])
        distance = f.get("distance_m")
        label = f"{_time(f['recorded_at'])} ±{present.distance(f['accuracy_m'])}" + (
            f", {present.distance(distance)} from the crime" if distance is not None else "")
        labels.append(f"{label}: {reference}")
        out.append(f'<circle class="fix" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#1d4e89" '
                   f'stroke="#fff" stroke-width="1.5"><title>{escape(labels[-1])}</title>'
                   '</circle>')
    out.append("</g>")
    if crime is not None:
        x, y = proj.xy(crime["lat"], crime["lon"])
        accuracy = float(crime.get("location_accuracy_m") or 0.0)
        if accuracy > 0:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{accuracy / mpp:.1f}" '
                       'fill="#d62828" fill-opacity="0.08" stroke="#d62828" '
                       'stroke-dasharray="4 3"/>')
        out.append(f'<g class="crime"><path d="M{x - 7:.1f} {y - 7:.1f} L{x + 7:.1f} '
                   f'{y + 7:.1f} M{x + 7:.1f} {y - 7:.1f} L{x - 7:.1f} {y + 7:.1f}" '
                   'stroke="#d62828" stroke-width="3"/><text x="{:.1f}" y="{:.1f}" '
                   'font-size="12" fill="#d62828">{}</text></g>'.format(
                       x + 9, y - 9, escape(str(crime.get("crime_ref", "crime")))))
    out.extend(_scale_bar(mpp, height))
    out.extend(_north(width, height))
    out.extend(_legend(width))
    crime_line = ("crime: position not known here" if crime is None or crime_reference is None
                  else f"crime {crime.get('crime_ref', '')}: {crime_reference}")
    out.extend(_reference_list(crime_line, labels, height, listed))
    out.append("</svg>")
    return "".join(out)


def render_zone(polygon: Sequence[Sequence[float]], colour: str, label: str,
                width: int = 640, height: int = 420) -> str:
    """A zone breach without a basemap: the zone's polygon ([lat, lon] ring) around its
    centre, its label, a scale bar and north."""
    lat0 = sum(p[0] for p in polygon) / len(polygon)
    lon0 = sum(p[1] for p in polygon) / len(polygon)
    probe = Projection(lat0, lon0, 1.0, 0, 0)
    extent = max([50.0, *(max(abs(c) for c in probe.xy(p[0], p[1])) for p in polygon)])
    mpp = extent * 1.25 / (min(width, height) / 2 - 24)
    proj = Projection(lat0, lon0, mpp, width, height)
    points = " ".join("{:.1f},{:.1f}".format(*proj.xy(p[0], p[1])) for p in polygon)
    return "".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="evidence-map zone-map" role="img" '
        'aria-label="zone map">',
        f'<rect width="{width}" height="{height}" fill="#f4f1ea"/>',
        f'<polygon class="zone" points="{points}" fill="{colour}" fill-opacity="0.15" '
        f'stroke="{colour}" stroke-width="2"><title>{escape(label)}</title></polygon>',
        f'<text x="8" y="18" font-size="12">{escape(label)}</text>',
        *_scale_bar(mpp, height), *_north(width, height), "</svg>"])


def _reference_list(crime_line: str, fix_lines: Sequence[str], top: int,
                    bottom: int) -> list[str]:
    """The evidence pack's grid references, one line each, beneath the map."""
    out = [f'<g class="grid-references" font-size="12" font-family="monospace">'
           f'<rect y="{top}" width="100%" height="{bottom - top}" fill="#fff"/>',
           f'<text x="8" y="{top + LINE_PX}" font-weight="bold">National Grid references '
           '(OSGB36, OSTN15)</text>']
    for i, text in enumerate([crime_line, *fix_lines]):
        kind = "crime" if i == 0 else "fix"
        out.append(f'<text class="grid-ref" data-of="{kind}" x="8" '
                   f'y="{top + LINE_PX * (i + 2)}">{escape(text)}</text>')
    out.append("</g>")
    return out


def _scale_bar(mpp: float, height: int) -> list[str]:
    metres = nice_length(mpp * 120)  # at most 120 px long
    px = metres / mpp
    label = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
    y = height - 16
    return [f'<g class="scale-bar" data-metres="{metres:g}">'
            f'<rect x="12" y="{y - 14}" width="{px + 16:.1f}" height="24" fill="#fff" '
            'fill-opacity="0.8"/>'
            f'<path d="M20 {y - 4} V{y + 2} H{20 + px:.1f} V{y - 4}" fill="none" '
            'stroke="#222" stroke-width="2"/>'
            f'<text x="{20 + px / 2:.1f}" y="{y - 6}" font-size="11" text-anchor="middle">'
            f'{label}</text></g>']


def _north(width: int, height: int) -> list[str]:
    """North is up (the projection is around the crime, north along the y axis)."""
    x, y = width - 28, height - 52
    return [f'<g class="north" aria-label="north"><rect x="{x - 14}" y="{y - 6}" width="28" '
            'height="44" fill="#fff" fill-opacity="0.8"/>'
            f'<path d="M{x} {y} L{x + 8} {y + 22} L{x} {y + 17} L{x - 8} {y + 22} Z" '
            'fill="#222"/>'
            f'<text x="{x}" y="{y + 34}" font-size="11" text-anchor="middle" '
            'font-weight="bold">N</text></g>']


def _legend(width: int) -> list[str]:
    out = [f'<g class="legend" transform="translate({width - 118},10)">'
           '<rect width="108" height="62" fill="#fff" fill-opacity="0.85"/>'
           '<text x="6" y="13" font-size="11">gap between fixes</text>']
    for i, (_, colour, label) in enumerate(GAP_COLOURS):
        y = 26 + i * 14
        out.append(f'<line x1="8" y1="{y}" x2="28" y2="{y}" stroke="{colour}" '
                   f'stroke-width="3"/><text x="34" y="{y + 4}" font-size="11">{label}</text>')
    out.append("</g>")
    return out


def _tiles(proj: Projection, url: str, limit: int = 36) -> list[str]:
    """Web Mercator tiles under the map, placed by their corners (close enough over the
    few hundred metres a map shows)."""
    mpp_zoom0 = 156_543.03392 * proj.k
    zoom = max(0, min(19, round(math.log2(mpp_zoom0 / proj.mpp))))
    north, west = proj.latlon(0, 0)
    south, east = proj.latlon(proj.width, proj.height)
    x0, y0 = _tile_of(north, west, zoom)
    x1, y1 = _tile_of(south, east, zoom)
    out = []
    for tx in range(x0, x1 + 1):
        for ty in range(y0, y1 + 1):
            if len(out) >= limit:
                return out
            top, left = _corner(tx, ty, zoom)
            bottom, right = _corner(tx + 1, ty + 1, zoom)
            ax, ay = proj.xy(top, left)
            bx, by = proj.xy(bottom, right)
            href = escape(url.format(z=zoom, x=tx, y=ty))
            out.append(f'<image class="tile" href="{href}" x="{ax:.1f}" y="{ay:.1f}" '
                       f'width="{bx - ax:.1f}" height="{by - ay:.1f}" '
                       'preserveAspectRatio="none"/>')
    return out


def _tile_of(lat: float, lon: float, zoom: int) -> tuple[int, int]:
    n = 2 ** zoom
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _corner(x: int, y: int, zoom: int) -> tuple[float, float]:
    n = 2 ** zoom
    lon = x / n * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    return lat, lon
