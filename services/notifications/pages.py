"""The console's HTML: one page, inline CSS and JS (nothing is loaded from elsewhere); the
sign-in is the project's one sign-in page (iomkit.identity). Pure: text in, text out."""

from __future__ import annotations

from html import escape
from urllib.parse import urlparse

from iomkit.identity.guard import script_csp
from iomkit.identity.principal import Principal as User

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{background:#1d4e89;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}
header .who{margin-left:auto} header button{font:inherit}
main{display:grid;grid-template-columns:minmax(280px,1fr) 2fr;gap:12px;padding:12px}
ul#items{list-style:none;margin:0;padding:0;max-height:85vh;overflow:auto}
li.item{background:#fff;border:1px solid #ccc;border-left:6px solid #1d4e89;margin:0 0 6px;
 padding:6px 8px;cursor:pointer}
li.item[data-status=WITHDRAWN]{border-left-color:#999;color:#777}
li.item[data-type=ZONE_BREACH]{border-left-color:#e9a100}
li.item.selected{outline:2px solid #1d4e89}
li.item .q{font-weight:bold} .muted{color:#666}
#detail{background:#fff;border:1px solid #ccc;padding:10px;min-height:300px}
table.fields td{padding:1px 8px 1px 0;vertical-align:top}
form#qualify{margin-top:10px;display:grid;gap:6px;max-width:640px}
textarea{min-height:60px} .error{color:#b00020}
#live{font-size:12px}
table.fields th{text-align:left;font-weight:normal;color:#555;padding:1px 12px 1px 0}
.flag{background:#b00020;color:#fff;border-radius:3px;padding:0 5px;font-size:12px}
.pack a{font-weight:bold}
#leaflet{height:440px;border:1px solid #ccc;background:#f4f1ea}
.map-info{background:rgba(255,255,255,.85);padding:4px 6px;font-size:11px;text-align:center}
.map-info.legend{text-align:left} .swatch{display:inline-block;width:18px;height:4px;
 margin:0 6px 2px 0;vertical-align:middle}
#refs{font:12px monospace;padding-left:20px} #refs li.crime{color:#b00020}
"""

_SCRIPT = """
const list = document.getElementById('items');
const detail = document.getElementById('detail');
const cards = new Map();
let selected = null;
let leafletMap = null;
function esc(text) { const d = document.createElement('div'); d.textContent = String(text);
  return d.innerHTML; }
function upsert(c) {
  cards.set(c.id, c);
  let li = document.getElementById('item-' + c.id);
  if (!li) {
    li = document.createElement('li'); li.id = 'item-' + c.id; li.className = 'item';
    li.addEventListener('click', () => select(c.id));
  }
  list.prepend(li);
  li.dataset.status = c.status; li.dataset.type = c.type;
  const q = c.qualification ? ' <span class="q">' + esc(c.qualification.outcome
    .replace('_', ' ').toLowerCase()) + '</span>' : '';
  let flags = '';
  for (const flag of c.flags || []) flags += ' <span class="flag">' + esc(flag) + '</span>';
  li.innerHTML = '<div><b>' + esc(c.title) + '</b> ' + esc(c.status_text) + q + flags +
    '</div><div class="muted">' + esc(c.person_id) + ' · ' + esc(c.at_local) +
    ' · lead officer: ' + esc(c.lead_officer) + '</div>';
  if (selected === c.id) show(c, false);
}
function select(id) {
  selected = id;
  for (const li of list.children) li.classList.toggle('selected', li.id === 'item-' + id);
  show(cards.get(id), true);
}
async function show(c, fresh) {
  let rows = '';
  for (const [label, text] of c.rows) {
    rows += '<tr><th>' + esc(label) + '</th><td>' + esc(text) + '</td></tr>';
  }
  const q = c.qualification ? '<p id="qualified">Qualified: ' + esc(c.qualification_text) +
    '</p>' : '';
  const purpose = encodeURIComponent('attach the evidence to a case file');
  const base = '/console/hits/' + encodeURIComponent(c.id);
  const pack = c.map ? '<p class="pack"><a id="pack-html" target="_blank" href="' + base +
    '/pack.html?purpose=' + purpose + '">Evidence pack (printable page)</a> · ' +
    '<a id="pack-pdf" href="' + base + '/pack.pdf?purpose=' + purpose + '">PDF</a></p>' : '';
  // an update while an officer is typing must not lose what they typed
  const old = document.getElementById('qualify');
  const typed = old && !fresh ? {outcome: old.outcome.value, reason: old.reason.value} : null;
  if (leafletMap) { leafletMap.remove(); leafletMap = null; }
  detail.innerHTML = '<h2>' + esc(c.title) + '</h2><table class="fields">' + rows +
    '</table>' + q + pack + '<div id="map"></div>' + (c.may_qualify && !c.qualification ? `
    <form id="qualify"><label>Outcome <select name="outcome">
      <option value="CONFIRMED">confirmed</option><option value="RULED_OUT">ruled out</option>
    </select></label><label>Reason <textarea name="reason" required></textarea></label>
    <button type="submit">Qualify hit</button><div id="qresult"></div></form>` : '');
  const form = document.getElementById('qualify');
  if (form) {
    if (typed) { form.outcome.value = typed.outcome; form.reason.value = typed.reason; }
    form.addEventListener('submit', (e) => { e.preventDefault(); qualify(c.id, form); });
  }
  if (c.map) await drawMap(base + '/map', 'rule the person in or out of the hit');
  else if (c.zone_map) await drawMap('/console/breaches/' + encodeURIComponent(c.id) + '/map',
    'check the zone breach');
}
async function drawMap(base, why) {
  const holder = document.getElementById('map');
  const purpose = '?purpose=' + encodeURIComponent(why);
  if (typeof L === 'undefined') {  // Leaflet not vendored: the service's own SVG map
    const r = await fetch(base + '.svg' + purpose);
    holder.innerHTML = r.ok ? await r.text() :
      '<p class="error">map unavailable (' + r.status + ')</p>';
    return;
  }
  const r = await fetch(base + '.json' + purpose);
  if (!r.ok) { holder.innerHTML = '<p class="error">map unavailable (' + r.status + ')</p>';
    return; }
  const data = await r.json();
  holder.innerHTML = '<div id="leaflet" class="evidence-leaflet"></div><ol id="refs"></ol>';
  const tiles = document.body.dataset.tiles;
  const m = L.map('leaflet', {attributionControl: !!tiles, zoomSnap: 0.25});
  leafletMap = m;
  if (tiles) {
    const credit = document.createElement('span');
    credit.textContent = document.body.dataset.attribution || '';
    m.attributionControl.setPrefix(false);
    L.tileLayer(tiles, {maxZoom: 19, attribution: credit.innerHTML}).addTo(m);
  }
  const refs = document.getElementById('refs');
  const layer = L.geoJSON(data, {
    style: (f) => f.properties.role === 'gap' ? {color: f.properties.colour, weight: 4,
      opacity: 0.9, className: 'gap'} : f.properties.role === 'zone' ? {color:
      f.properties.colour, weight: 2, fillOpacity: 0.15, className: 'zone'} : {},
    pointToLayer: (f, ll) => {
      const p = f.properties;
      if (p.accuracy_m > 0) L.circle(ll, {radius: p.accuracy_m, weight: 1, fillOpacity: 0.06,
        color: p.role === 'crime' ? '#d62828' : '#1d4e89', interactive: false}).addTo(m);
      return p.role === 'crime' ? L.circleMarker(ll, {radius: 8, color: '#d62828', weight: 3,
        fillOpacity: 0.2, className: 'crime'}) : L.circleMarker(ll, {radius: 5, color: '#fff',
        weight: 1.5, fillColor: '#1d4e89', fillOpacity: 1, className: 'fix'});
    },
    onEachFeature: (f, l) => {
      l.bindTooltip(esc(f.properties.label));
      if (f.properties.role !== 'gap') {
        const li = document.createElement('li'); li.textContent = f.properties.label;
        li.className = 'ref ' + f.properties.role; refs.appendChild(li);
      }
    },
  }).addTo(m);
  const bounds = layer.getBounds();
  if (bounds.isValid()) m.fitBounds(bounds.pad(0.2), {maxZoom: 18}); else m.setView([0, 0], 2);
  L.control.scale({imperial: false, maxWidth: 140}).addTo(m);
  const Info = L.Control.extend({onAdd: function () {
    const div = L.DomUtil.create('div', 'map-info ' + this.options.kind);
    div.innerHTML = this.options.html; return div; }});
  new Info({position: 'topright', kind: 'north', html: '<b>▲</b><br>N'}).addTo(m);
  let legend = '';
  for (const [colour, label] of (data.legend || [])) {
    legend += '<div><i class="swatch" data-colour="' + esc(colour) + '"></i>' + esc(label) +
      '</div>';
  }
  if (legend) {
    new Info({position: 'bottomright', kind: 'legend', html: '<div>' + esc(data.legend_title ||
      'gap between fixes') + '</div>' + legend}).addTo(m);
    // colours through the DOM (CSSOM), not style attributes the policy would refuse
    for (const i of holder.querySelectorAll('i.swatch')) i.style.background = i.dataset.colour;
  }
  holder.dataset.drawn = 'leaflet';
}
async function qualify(id, form) {
  const body = {outcome: form.outcome.value, reason: form.reason.value};
  const r = await fetch('/api/hits/' + encodeURIComponent(id) + '/qualify', {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
  const answer = await r.json();
  document.getElementById('qresult').textContent = r.ok ? 'recorded: ' + answer.outcome :
    'refused: ' + answer.error;
}
const events = new EventSource('/console/events');
events.addEventListener('card', (e) => upsert(JSON.parse(e.data)));
events.addEventListener('ready', () => { document.body.dataset.live = '1';
  document.getElementById('live').textContent = 'live'; });
events.onerror = () => { document.getElementById('live').textContent = 'reconnecting…'; };
"""


LEAFLET_JS = "/console/vendor/leaflet.js"
LEAFLET_CSS = "/console/vendor/leaflet.css"


def csp(nonce: str, tile_url: str = "") -> str:
    """Nothing but this service's own page, script and requests (and the tile server's
    images when one is configured)."""
    images = "'self' data:"
    if tile_url:
        parsed = urlparse(tile_url.replace("{", "").replace("}", ""))
        images += f" {parsed.scheme}://{parsed.netloc}"
    return script_csp(nonce, images)


def console(user: User, nonce: str, leaflet: bool = False, tile_url: str = "",
            attribution: str = "") -> str:
    """The page; with ``leaflet`` (vendored, served by this service) the evidence map is
    drawn with it over ``tile_url``'s tiles (none: the evidence alone), else as SVG."""
    vendored = (f'<link rel="stylesheet" href="{LEAFLET_CSS}" nonce="{nonce}">'
                f'<script nonce="{nonce}" src="{LEAFLET_JS}"></script>') if leaflet else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Throughcare: live hits</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style nonce="{nonce}">{_STYLE}</style>{vendored}</head>
<body data-live="0" data-tiles="{escape(tile_url)}" data-attribution="{escape(attribution)}">
<header><b>Throughcare</b> live hits and breaches <span id="live">connecting…</span>
<span class="who">{escape(user.username)} · {escape(user.role)} · {escape(user.force)}</span>
<form method="post" action="/auth/signout"><button type="submit">Sign out</button></form></header>
<main><section><ul id="items"></ul></section>
<section id="detail"><p class="muted">Select a hit to see its evidence.</p></section></main>
<script nonce="{nonce}">{_SCRIPT}</script></body></html>"""
