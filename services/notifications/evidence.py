"""The evidence pack of a hit, one per hit, for an officer to attach to a case file: the
crime, the trail (every fix with its UK time, accuracy, distance from the crime and National
Grid reference), the map, and who qualified the hit and why. As one printable HTML page and
as a PDF (fpdf2, the map embedded as the same SVG). Pure: the view (web.py) checks who asks,
with which purpose, and audits.

The PDF uses the PDF core fonts (Helvetica), which hold Latin-1 only: text is written in
it, with the few other characters the map uses spelled out (``_latin1``).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from fpdf import FPDF

from services.notifications import mapsvg, present

Pack = dict[str, Any]


def pack(hit: Mapping[str, Any], crime: Mapping[str, Any] | None,
         qualification: Mapping[str, Any] | None, *, force: str | None,
         lead_officer: str | None, rosh_level: str | None, made_for: str, purpose: str,
         now: datetime) -> Pack:
    """What the pack says, in words: headed sections of (label, text) rows and the trail."""
    fixes = sorted(hit["fixes"], key=lambda f: f["recorded_at"])
    references = mapsvg.grid_references([*([crime] if crime else []), *fixes])
    crime_grid = references.pop(0) if crime else None
    trail = []
    for previous, fix, reference in zip([None, *fixes], fixes, references, strict=False):
        gap = None if previous is None else mapsvg.gap_seconds(previous["recorded_at"],
                                                            fix["recorded_at"])
        trail.append({
            "at": present.when(fix["recorded_at"], seconds=True),
            "accuracy": "±" + present.distance(fix["accuracy_m"]),
            "distance": present.distance(fix.get("distance_m")),
            "gap": "" if gap is None else _gap(gap),
            "grid": reference,
        })
    crime_rows: list[tuple[str, str]] = [
        ("crime reference", hit["crime_ref"]),
        ("offence", present.words(hit["offence"])),
    ]
    if crime:
        crime_rows += [
            ("reported by", crime.get("force") or hit.get("crime_force") or "not known"),
            ("committed", f"between {present.when(crime['committed_from'])} and "
                          f"{present.when(crime['committed_to'])}"),
            ("place", f"{crime_grid} (WGS84 {crime['lat']:.6f}, {crime['lon']:.6f})"),
            ("place accurate to", present.distance(crime.get("location_accuracy_m"))),
        ]
    else:
        crime_rows.append(("place", "the crime's position is not known to this service"))
    person_rows = [
        ("person", hit["person_id"]),
        ("managing force", force or "not known"),
        ("lead officer", present.lead_officer(lead_officer)),
        ("risk of serious harm (RoSH)", present.words(rosh_level, "rosh_level")
         if rosh_level else "not assessed"),
        ("tag", hit["device_id"]),
    ]
    hit_rows = [
        ("hit reference", f"{hit['hit_id']} (revision {hit['revision']})"),
        ("status", present.words(hit["status"], "status")),
        ("detected", present.when(hit["detected_at"], seconds=True)),
        ("nearest distance to the crime", present.distance(hit["distance_m"])),
        ("nearest fix taken", present.when(hit["nearest_fix_at"], seconds=True)),
        ("fixes on the trail", str(len(fixes))),
        ("hit rule version", str(hit["rule_version"])),
        ("qualified", present.qualification_text(qualification)),
    ]
    return {
        "title": f"Evidence pack: {present.words(hit['offence'])} {hit['crime_ref']}",
        "sections": [("The crime", crime_rows), ("The person", person_rows),
                     ("The hit", hit_rows)],
        "trail": trail,
        "map": mapsvg.render(fixes, crime),
        "footer": f"Made by Throughcare for {made_for} on {present.when(now, seconds=True)},"
                  f" purpose: {purpose}. Official sensitive: personal data under the "
                  "information sharing agreement.",
    }


def _gap(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


_STYLE = """
body{font:13px/1.4 system-ui,sans-serif;margin:24px;color:#111;max-width:900px}
h1{font-size:20px;margin:0 0 12px} h2{font-size:15px;margin:18px 0 6px;border-bottom:1px solid #999}
table{border-collapse:collapse} td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
table.trail td,table.trail th{border-bottom:1px solid #ddd;font-size:12px}
.map svg{max-width:100%;height:auto} footer{margin-top:18px;font-size:11px;color:#444}
@media print{body{margin:0} .noprint{display:none} h2{break-after:avoid}
 .map{break-inside:avoid}}
"""


def html(p: Pack, nonce: str) -> str:
    """One printable page; no script, its style under the page's nonce."""
    sections = "".join(
        f"<h2>{escape(head)}</h2><table class=\"rows\">" + "".join(
            f"<tr><th>{escape(label)}</th><td>{escape(text)}</td></tr>" for label, text in rows)
        + "</table>" for head, rows in p["sections"])
    trail = "".join(
        f"<tr><td>{escape(f['at'])}</td><td>{escape(f['accuracy'])}</td>"
        f"<td>{escape(f['distance'])}</td><td>{escape(f['gap'])}</td>"
        f"<td>{escape(f['grid'])}</td></tr>" for f in p["trail"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(p['title'])}</title>
<style nonce="{nonce}">{_STYLE}</style></head><body>
<h1>{escape(p['title'])}</h1>{sections}
<h2>The map</h2><div class="map">{p['map']}</div>
<h2>The trail</h2><table class="trail"><tr><th>fix taken (UK time)</th><th>accurate to</th>
<th>distance from the crime</th><th>since the fix before</th><th>National Grid reference</th>
</tr>{trail}</table>
<footer>{escape(p['footer'])}</footer></body></html>"""


def _latin1(text: str) -> str:
    return (text.replace("≤", "<=").replace("≥", ">=").replace("–", "-").replace("…", "...")
            .encode("latin-1", "replace").decode("latin-1"))


def pdf(p: Pack) -> bytes:
    """The same pack as a PDF (A4): the sections, the map, the trail, the footer."""
    doc = FPDF(format="A4")
    doc.set_title(_latin1(p["title"]))
    doc.set_creator("Throughcare")
    doc.set_auto_page_break(True, margin=15)
    doc.add_page()
    doc.set_font("helvetica", "B", 15)
    doc.multi_cell(0, 8, _latin1(p["title"]), new_x="LMARGIN", new_y="NEXT")
    for head, rows in p["sections"]:
        _heading(doc, head)
        for label, text in rows:
            doc.set_font("helvetica", "B", 9)
            doc.cell(52, 5, _latin1(label))
            doc.set_font("helvetica", "", 9)
            doc.multi_cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    doc.add_page()
    _heading(doc, "The map")
    svg = _latin1(p["map"].replace("≤", "&lt;="))
    doc.image(io.BytesIO(svg.encode("utf-8")), x=doc.l_margin, w=doc.epw)
    _heading(doc, "The trail")
    widths = (52, 20, 30, 24, 0)
    doc.set_font("helvetica", "B", 8)
    for width, head in zip(widths, ("fix taken (UK time)", "accurate to", "from the crime",
                                    "since previous", "National Grid reference"), strict=True):
        doc.cell(width, 5, head, new_x="RIGHT" if width else "LMARGIN",
                 new_y="TOP" if width else "NEXT")
    doc.set_font("helvetica", "", 8)
    for f in p["trail"]:
        for width, key in zip(widths, ("at", "accuracy", "distance", "gap", "grid"),
                              strict=True):
            doc.cell(width, 5, _latin1(f[key]), new_x="RIGHT" if width else "LMARGIN",
                     new_y="TOP" if width else "NEXT")
    doc.ln(4)
    doc.set_font("helvetica", "I", 8)
    doc.multi_cell(0, 4, _latin1(p["footer"]), new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


def _heading(doc: FPDF, text: str) -> None:
    doc.ln(2)
    doc.set_font("helvetica", "B", 12)
    doc.cell(0, 7, _latin1(text), new_x="LMARGIN", new_y="NEXT")


def trail_geojson(fixes: Sequence[Mapping[str, Any]], crime: Mapping[str, Any] | None
                  ) -> dict[str, Any]:
    """The evidence for the console's Leaflet map: the crime, every fix (UK time, accuracy,
    distance, grid reference) and each step of the trail with its gap colour, as GeoJSON."""
    ordered = sorted(fixes, key=lambda f: f["recorded_at"])
    references = mapsvg.grid_references([*([crime] if crime else []), *ordered])
    crime_grid = references.pop(0) if crime else None
    features: list[dict[str, Any]] = []
    if crime:
        features.append(_point(crime["lat"], crime["lon"], {
            "role": "crime", "crime_ref": crime["crime_ref"],
            "accuracy_m": float(crime.get("location_accuracy_m") or 0.0),
            "label": f"crime {crime['crime_ref']}: {crime_grid}"}))
    for fix, reference in zip(ordered, references, strict=True):
        distance = fix.get("distance_m")
        features.append(_point(fix["lat"], fix["lon"], {
            "role": "fix", "accuracy_m": fix["accuracy_m"],
            "label": f"{present.clock(fix['recorded_at'])} ±"
                     f"{present.distance(fix['accuracy_m'])}"
                     + (f", {present.distance(distance)} from the crime"
                        if distance is not None else "") + f": {reference}"}))
    for a, b in itertools.pairwise(ordered):
        gap = mapsvg.gap_seconds(a["recorded_at"], b["recorded_at"])
        features.append({"type": "Feature", "geometry": {
            "type": "LineString", "coordinates": [[a["lon"], a["lat"]], [b["lon"], b["lat"]]]},
            "properties": {"role": "gap", "gap_s": round(gap), "colour": mapsvg.gap_colour(gap),
                           "label": f"gap {_gap(gap)}"}})
    return {"type": "FeatureCollection", "features": features,
            "legend": [[colour, label] for _, colour, label in mapsvg.GAP_COLOURS]}


def _point(lat: float, lon: float, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": properties}


ZONE_COLOURS = {"EXCLUSION": ("#d62828", "exclusion zone (must stay out)"),
                "INCLUSION": ("#2a9d3f", "inclusion zone (must stay in)")}


def zone_label(zone: Mapping[str, Any], breach: Mapping[str, Any]) -> str:
    victim = " (a victim's)" if breach.get("victim_safety") else ""
    return (f"{zone_kind(zone)} {zone['zone_id']}{victim}: "
            f"{present.words(breach['kind'], 'kind')}, first fix "
            f"{present.when(breach['first_fix_at'], seconds=True)}")


def zone_kind(zone: Mapping[str, Any]) -> str:
    return ZONE_COLOURS.get(zone["kind"], ("", "zone"))[1].split(" (")[0]


def zone_geojson(zone: Mapping[str, Any], breach: Mapping[str, Any]) -> dict[str, Any]:
    """A breach on the console's Leaflet map: the zone's polygon, coloured by its kind."""
    colour, meaning = ZONE_COLOURS.get(zone["kind"], ("#e9a100", "zone"))
    ring = [[lon, lat] for lat, lon in zone["polygon"]]
    return {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"role": "zone", "colour": colour, "accuracy_m": 0,
                       "label": zone_label(zone, breach)}}],
        "legend": [[colour, meaning]], "legend_title": "zone"}
