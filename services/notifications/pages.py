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
"""

_SCRIPT = """
const list = document.getElementById('items');
const detail = document.getElementById('detail');
const cards = new Map();
let selected = null;
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
  const q = c.qualification ? ' <span class="q">' + esc(c.qualification.outcome) + '</span>' : '';
  li.innerHTML = '<div><b>' + esc(c.title) + '</b> ' + esc(c.status) + q + '</div>' +
    '<div class="muted">' + esc(c.person_id) + ' · ' + esc(c.at) + '</div>';
  if (selected === c.id) show(c, false);
}
function select(id) {
  selected = id;
  for (const li of list.children) li.classList.toggle('selected', li.id === 'item-' + id);
  show(cards.get(id), true);
}
async function show(c, fresh) {
  let rows = '';
  for (const [k, v] of Object.entries(c.fields)) {
    rows += '<tr><td>' + esc(k) + '</td><td>' +
      esc(typeof v === 'object' && v !== null ? JSON.stringify(v) : v) + '</td></tr>';
  }
  const q = c.qualification ? '<p id="qualified">Qualified <b>' + esc(c.qualification.outcome) +
    '</b> by ' + esc(c.qualification.by) + ': ' + esc(c.qualification.reason) + '</p>' : '';
  // an update while an officer is typing must not lose what they typed
  const old = document.getElementById('qualify');
  const typed = old && !fresh ? {outcome: old.outcome.value, reason: old.reason.value} : null;
  detail.innerHTML = '<h2>' + esc(c.title) + '</h2><table class="fields">' + rows +
    '</table>' + q + '<div id="map"></div>' + (c.may_qualify && !c.qualification ? `
    <form id="qualify"><label>Outcome <select name="outcome">
      <option value="CONFIRMED">confirmed</option><option value="RULED_OUT">ruled out</option>
    </select></label><label>Reason <textarea name="reason" required></textarea></label>
    <button type="submit">Qualify hit</button><div id="qresult"></div></form>` : '');
  const form = document.getElementById('qualify');
  if (form) {
    if (typed) { form.outcome.value = typed.outcome; form.reason.value = typed.reason; }
    form.addEventListener('submit', (e) => { e.preventDefault(); qualify(c.id, form); });
  }
  if (c.map) {
    const r = await fetch('/console/hits/' + encodeURIComponent(c.id) +
      '/map.svg?purpose=' + encodeURIComponent('rule the person in or out of the hit'));
    document.getElementById('map').innerHTML = r.ok ? await r.text() :
      '<p class="error">map unavailable (' + r.status + ')</p>';
  }
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


def csp(nonce: str, tile_url: str = "") -> str:
    """Nothing but this service's own page, script and requests (and the tile server's
    images when one is configured)."""
    images = "'self' data:"
    if tile_url:
        parsed = urlparse(tile_url.replace("{", "").replace("}", ""))
        images += f" {parsed.scheme}://{parsed.netloc}"
    return script_csp(nonce, images)


def console(user: User, nonce: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Throughcare: live hits</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style nonce="{nonce}">{_STYLE}</style></head>
<body data-live="0">
<header><b>Throughcare</b> live hits and breaches <span id="live">connecting…</span>
<span class="who">{escape(user.username)} · {escape(user.role)} · {escape(user.force)}</span>
<form method="post" action="/auth/signout"><button type="submit">Sign out</button></form></header>
<main><section><ul id="items"></ul></section>
<section id="detail"><p class="muted">Select a hit to see its evidence.</p></section></main>
<script nonce="{nonce}">{_SCRIPT}</script></body></html>"""
