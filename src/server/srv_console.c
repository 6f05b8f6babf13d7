/*
 * srv_console.c - the web console (GET /) and the tables endpoint.
 *
 * GET / serves one self-contained page, embedded in the binary (no files to
 * deploy, no outside assets or requests). The page is public because it
 * holds no data: everything it shows comes from endpoints that check the
 * token, which the user pastes and which stays in the tab's sessionStorage
 * (never a cookie or the URL). Views are chosen by the URL's hash:
 *
 *   #/               health, and the row count of every table that holds
 *                    data (GET /api/v1/tables, vg_h_tables below)
 *   #/incidents      the incident queue: status, severity and assignee
 *                    filters, sort, pages ($filter, $orderby, $top, $skip,
 *                    $count on GET /api/v1/security/incidents)
 *   #/incidents/ID   one incident ($expand=alerts): fields, alerts with
 *                    their evidence, comments, the graph drawn as SVG, and
 *                    the actions (status, classification, assignment), each
 *                    a PATCH with If-Match from the ETag read with it; a 412
 *                    reloads the incident and says it changed
 *
 * The page is two arrays: console_html (markup and style) and console_js
 * (the script, plain JavaScript without libraries). The script inserts
 * every value from the server with textContent, setAttribute or text nodes,
 * never as markup. The C comments between the literals are not sent.
 */
#include <string.h>

#include "../store/vg_store.h"
#include "vg_srv_int.h"

/* ---- markup and style ---- */

static const char console_html[] =
    "<!doctype html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>Vigil</title>\n"
    "<style>\n"
    "body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2430;font-size:14px}\n"
    "header{background:#1d2430;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}\n"
    "header b{font-size:20px}nav a{color:#cfd6e0;margin-right:16px;text-decoration:none}\n"
    "nav a.on{color:#fff;border-bottom:2px solid #fff}\n"
    "#access{background:#fff;border-bottom:1px solid #dde1e7;padding:8px 24px}\n"
    "main{max-width:1200px;margin:16px auto;padding:0 24px}\n"
    "section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:12px 16px;margin-bottom:16px}\n"
    "h2,h3{margin:4px 0 12px}[hidden]{display:none!important}\n"
    "table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}\n"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#1a7f37}.bad{color:#c62828}.warn{color:#b26a00}\n"
    "input,select,textarea{font:inherit}#token{width:28em;font-family:monospace}code{background:#eef1f4;padding:1px 4px}\n"
    ".bar{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;margin:6px 0}\n"
    "tr.link{cursor:pointer}tr.link:hover{background:#f0f4fa}\n"
    "/* severity badges: the same colours in the queue, the alerts and the graph */\n"
    ".sev{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px;background:#78909c}\n"
    ".sev-high{background:#c62828}.sev-medium{background:#ef6c00}.sev-low{background:#f9a825;color:#1d2430}\n"
    ".sev-informational{background:#607d8b}\n"
    "dl.grid{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dt{color:#5b6675}dd{margin:0}\n"
    "ul.ev{margin:4px 0;padding-left:20px;font-size:13px}ul.ev i{color:#5b6675}\n"
    "#comments{list-style:none;padding:0}#comments li{border-bottom:1px solid #eee;padding:6px 0}\n"
    "#comments .t{color:#5b6675;font-size:12px}#comments .c{white-space:pre-wrap;margin-top:2px}\n"
    "#c-text{width:100%;box-sizing:border-box}\n"
    "#graph{overflow:auto;border:1px solid #eee}#graph text{font-size:12px;fill:#1d2430;paint-order:stroke;stroke:#fff;stroke-width:3px}\n"
    "#graph line.edge{stroke:#9aa5b1;stroke-width:1.2}\n"
    ".lg{margin-right:14px;font-size:12px}.lg i{display:inline-block;width:10px;height:10px;margin-right:4px}\n"
    "</style></head><body>\n"
    "<header><b>Vigil</b>\n"
    "<nav><a href=\"#/\" data-view=\"v-home\">Overview</a><a href=\"#/incidents\" data-view=\"v-queue\">Incidents</a></nav>\n"
    "</header>\n"
    /* the token bar: the token (and the user's name, for "me") stay in the tab's
     * sessionStorage; "Use" saves them and reloads the view shown */
    "<div id=\"access\" class=\"bar\">\n"
    "<label>API token <input id=\"token\" type=\"password\" autocomplete=\"off\"></label>\n"
    "<label>your name <input id=\"me\" autocomplete=\"off\" placeholder=\"for 'me' and 'assign to me'\"></label>\n"
    "<button id=\"load\">Use</button>\n"
    "</div>\n"
    "<main>\n"
    /* #/ - the overview: health, tables with rows, how to send events */
    "<div id=\"v-home\">\n"
    "<section><h2>Server</h2><p>Health: <span id=\"health\">checking&hellip;</span></p></section>\n"
    "<section><h2>Tables</h2>\n"
    "<p id=\"msg\"></p>\n"
    "<table id=\"tables\"><thead><tr><th>table</th><th>rows</th></tr></thead><tbody></tbody></table>\n"
    "</section>\n"
    "<section><h2>Send events</h2>\n"
    "<p><code>curl -H 'Authorization: Bearer TOKEN' --data-binary @events.ndjson '/api/v1/ingest?table=DeviceProcessEvents'</code></p>\n"
    "<p>Metrics for Prometheus: <code>/metrics</code> (viewer token or above).</p>\n"
    "</section>\n"
    "</div>\n"
    /* #/incidents - the queue: filters, sort, pages of $top */
    "<div id=\"v-queue\" hidden><section><h2>Incidents</h2>\n"
    "<div class=\"bar\">\n"
    "<label>status <select id=\"f-status\"><option value=\"\">any</option></select></label>\n"
    "<label>severity at least <select id=\"f-sev\"><option value=\"\">any</option></select></label>\n"
    "<label>assigned to <input id=\"f-assigned\" placeholder=\"anyone\" title=\"a name, 'me' or 'unassigned'\"></label>\n"
    "<label>sort by <select id=\"f-order\">\n"
    "<option value=\"lastUpdateDateTime desc\">last update, newest first</option>\n"
    "<option value=\"lastUpdateDateTime asc\">last update, oldest first</option>\n"
    "<option value=\"severity desc,lastUpdateDateTime desc\">severity, highest first</option>\n"
    "<option value=\"severity asc,lastUpdateDateTime desc\">severity, lowest first</option>\n"
    "</select></label>\n"
    "<label>per page <select id=\"f-top\"><option>10</option><option selected>20</option><option>50</option><option>100</option></select></label>\n"
    "<button id=\"f-apply\">Apply</button>\n"
    "</div>\n"
    "<p id=\"q-msg\"></p>\n"
    "<table id=\"queue\"><thead><tr><th>ID</th><th>severity</th><th>status</th><th>name</th><th class=\"n\">alerts</th>\n"
    "<th>devices / users</th><th>assigned to</th><th>last activity</th></tr></thead><tbody></tbody></table>\n"
    "<div class=\"bar\"><button id=\"q-prev\">&larr; previous</button><span id=\"q-page\"></span><button id=\"q-next\">next &rarr;</button></div>\n"
    "</section></div>\n"
    /* #/incidents/ID - one incident: fields, actions, alerts, graph, comments */
    "<div id=\"v-inc\" hidden>\n"
    "<section><p><a href=\"#/incidents\">&larr; incidents</a></p>\n"
    "<h2><span id=\"i-id\"></span> <span id=\"i-name\"></span></h2>\n"
    "<p id=\"i-msg\"></p>\n"
    "<dl id=\"i-fields\" class=\"grid\"></dl>\n"
    "</section>\n"
    "<section><h3>Actions</h3>\n"
    "<div class=\"bar\"><label>status <select id=\"a-status\"></select></label><button id=\"a-status-set\">Set status</button></div>\n"
    "<div class=\"bar\"><label>classification <select id=\"a-class\"></select></label>\n"
    "<label>determination <select id=\"a-det\"></select></label><button id=\"a-classify\">Classify</button></div>\n"
    "<div class=\"bar\"><label>assign to <input id=\"a-assign\" autocomplete=\"off\"></label><button id=\"a-assign-set\">Assign</button>\n"
    "<button id=\"a-me\">Assign to me</button><button id=\"a-unassign\">Unassign</button></div>\n"
    "</section>\n"
    "<section><h3>Alerts</h3>\n"
    "<table id=\"alerts\"><thead><tr><th>title</th><th>severity</th><th>status</th><th>category</th><th>detection source</th>\n"
    "<th>first activity</th><th>evidence</th></tr></thead><tbody></tbody></table>\n"
    "</section>\n"
    "<section><h3>Graph</h3><p id=\"g-note\"></p><div id=\"graph\"></div><p id=\"g-legend\"></p></section>\n"
    "<section><h3>Comments</h3><ul id=\"comments\"></ul>\n"
    "<textarea id=\"c-text\" rows=\"3\" placeholder=\"add a comment\"></textarea>\n"
    "<div class=\"bar\"><button id=\"c-add\">Add comment</button><span id=\"c-msg\"></span></div>\n"
    "</section>\n"
    "</div>\n"
    "</main>\n";

/* ---- the script (inside <script> at the end of the body) ---- */

static const char console_js[] =
    "'use strict';\n"
    "const $ = id => document.getElementById(id);\n"
    "const INC = '/api/v1/security/incidents';\n"
    "const SEVS = ['informational', 'low', 'medium', 'high'];\n"
    "const STATUSES = ['active', 'inProgress', 'resolved'];\n"
    "const CLASSES = ['unknown', 'truePositive', 'falsePositive', 'informationalExpectedActivity'];\n"
    "const DETS = ['unknown', 'apt', 'malware', 'securityPersonnel', 'securityTesting', 'unwantedSoftware',\n"
    "  'multiStagedAttack', 'compromisedAccount', 'phishing', 'maliciousUserActivity', 'notMalicious',\n"
    "  'notEnoughDataToValidate', 'confirmedActivity', 'lineOfBusinessApplication', 'other'];\n"

    /* ---- helpers: elements, messages, values ----
     * el(tag, attrs, kids...): an element; string kids become text nodes (append),
     * so nothing from the server is ever parsed as markup */
    "function el(tag, attrs, ...kids) {\n"
    "  const e = document.createElement(tag);\n"
    "  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);\n"
    "  for (const c of kids) if (c !== null && c !== undefined) e.append(c);\n"
    "  return e;\n"
    "}\n"
    "function say(id, text, cls) { const e = $(id); e.textContent = text || ''; e.className = cls || ''; }\n"
    "const tok = () => sessionStorage.getItem('vigil-token') || '';\n"
    "const me = () => sessionStorage.getItem('vigil-me') || '';\n"
    /* times as the server gives them (UTC), without the milliseconds */
    "const when = s => s ? String(s).slice(0, 19).replace('T', ' ') + 'Z' : '-';\n"
    "const list = a => (Array.isArray(a) && a.length) ? a.join(', ') : '-';\n"
    "const sevBadge = s => el('span', {class: 'sev sev-' + (SEVS.includes(s) ? s : 'unknown')}, s || 'unknown');\n"
    "function fill(sel, values) { for (const v of values) sel.append(el('option', {value: v}, v)); }\n"
    /* an OData string literal: quotes doubled */
    "const lit = s => \"'\" + s.replace(/'/g, \"''\") + \"'\";\n"

    /* api(method, path, body, ifMatch): one request with the token; resolves to
     * {ok, status, etag, j, err}, err being the server's {"error": ...} as it came */
    "async function api(method, path, body, ifMatch) {\n"
    "  const h = {Authorization: 'Bearer ' + tok()};\n"
    "  if (body !== undefined) h['Content-Type'] = 'application/json';\n"
    "  if (ifMatch) h['If-Match'] = ifMatch;\n"
    "  let r;\n"
    "  try {\n"
    "    r = await fetch(path, {method, headers: h, body: body === undefined ? undefined : JSON.stringify(body)});\n"
    "  } catch (e) {\n"
    "    return {ok: false, status: 0, err: 'server unreachable: ' + e.message};\n"
    "  }\n"
    "  let j = null;\n"
    "  try { j = await r.json(); } catch (e) { j = null; }\n"
    "  const err = (j && j.error) || ('HTTP ' + r.status + ' ' + r.statusText);\n"
    "  return {ok: r.ok, status: r.status, etag: r.headers.get('ETag'), j, err};\n"
    "}\n"

    /* ---- views, chosen by the hash: #/ overview, #/incidents, #/incidents/ID ---- */
    "const VIEWS = ['v-home', 'v-queue', 'v-inc'];\n"
    "function show(v) {\n"
    "  for (const x of VIEWS) $(x).hidden = x !== v;\n"
    "  for (const a of document.querySelectorAll('nav a')) a.className = a.dataset.view === v ? 'on' : '';\n"
    "}\n"
    /* gen counts navigations: an answer for a view no longer shown is dropped */
    "let gen = 0;\n"
    "function route() {\n"
    "  const g = ++gen, h = location.hash, m = /^#\\/incidents\\/(\\d+)$/.exec(h);\n"
    "  if (m) return showIncident(m[1], g);\n"
    "  if (h === '#/incidents') return showQueue(g);\n"
    "  show('v-home');\n"
    "  if (tok()) loadTables();\n"
    "}\n"
    "window.addEventListener('hashchange', route);\n"

    "$('token').value = tok();\n"
    "$('me').value = me();\n"
    "function useToken() {\n"
    "  sessionStorage.setItem('vigil-token', $('token').value.trim());\n"
    "  sessionStorage.setItem('vigil-me', $('me').value.trim());\n"
    "  route();\n"
    "}\n"
    "$('load').onclick = useToken;\n"
    "$('token').onkeydown = e => { if (e.key === 'Enter') useToken(); };\n"

    /* ---- overview ---- */
    "fetch('/healthz').then(r => r.json()).then(j => { say('health', j.status, 'ok'); })\n"
    "  .catch(() => { say('health', 'unreachable', 'bad'); });\n"
    "async function loadTables() {\n"
    "  const r = await api('GET', '/api/v1/tables');\n"
    "  if (!r.ok) return say('msg', r.err, 'bad');\n"
    "  say('msg', r.j.tables.length + ' tables hold data', 'ok');\n"
    "  const tb = $('tables').tBodies[0];\n"
    "  tb.replaceChildren();\n"
    "  for (const x of r.j.tables)\n"
    "    tb.append(el('tr', null, el('td', null, x.table), el('td', {class: 'n'}, x.rows.toLocaleString())));\n"
    "}\n"

    /* ---- the incident queue ---- */
    "fill($('f-status'), STATUSES.concat(['redirected']));\n"
    "fill($('f-sev'), SEVS);\n"
    "let skip = 0;\n"
    /* The queue's $filter: status, severity (at least), assignee ('' anyone,
     * 'unassigned', 'me' = the name in the token bar, or a name as typed) */
    "function queueFilter() {\n"
    "  const f = [], st = $('f-status').value, sv = $('f-sev').value, as = $('f-assigned').value.trim();\n"
    "  if (st) f.push('status eq ' + lit(st));\n"
    "  if (sv) f.push('severity ge ' + lit(sv));\n"
    "  if (as.toLowerCase() === 'unassigned') f.push('assignedTo eq null');\n"
    "  else if (as.toLowerCase() === 'me') {\n"
    "    if (!me()) return {err: \"'me': type your name beside the token first\"};\n"
    "    f.push('assignedTo eq ' + lit(me()));\n"
    "  } else if (as) f.push('assignedTo eq ' + lit(as));\n"
    "  return {filter: f.join(' and ')};\n"
    "}\n"
    "async function showQueue(g) {\n"
    "  show('v-queue');\n"
    "  const tb = $('queue').tBodies[0];\n"
    "  if (!tok()) { tb.replaceChildren(); return say('q-msg', 'paste an API token above', 'bad'); }\n"
    "  const q = queueFilter();\n"
    "  if (q.err) { tb.replaceChildren(); return say('q-msg', q.err, 'bad'); }\n"
    "  const top = +$('f-top').value;\n"
    "  let url = INC + '?$count=true&$top=' + top + '&$skip=' + skip + '&$orderby=' + encodeURIComponent($('f-order').value);\n"
    "  if (q.filter) url += '&$filter=' + encodeURIComponent(q.filter);\n"
    "  const r = await api('GET', url);\n"
    "  if (g !== gen) return;\n"
    "  tb.replaceChildren();\n"
    "  $('q-page').textContent = '';\n"
    "  if (!r.ok) return say('q-msg', r.err, 'bad');\n"
    "  const n = r.j['@odata.count'], rows = r.j.value;\n"
    "  say('q-msg', rows.length ? '' : 'no incidents match', '');\n"
    "  for (const x of rows) {\n"
    "    const href = '#/incidents/' + encodeURIComponent(x.id);\n"
    "    const tr = el('tr', {class: 'link', 'data-id': x.id},\n"
    "      el('td', null, x.id), el('td', null, sevBadge(x.severity)), el('td', null, x.status),\n"
    "      el('td', null, el('a', {href}, x.displayName || '(no name)')), el('td', {class: 'n'}, String(x.alertCount)),\n"
    "      el('td', null, list([].concat(x.devices || [], x.users || []))), el('td', null, x.assignedTo || '-'),\n"
    "      el('td', null, when(x.lastActivityDateTime)));\n"
    "    tr.onclick = () => { location.hash = href; };\n"
    "    tb.append(tr);\n"
    "  }\n"
    "  if (rows.length) $('q-page').textContent = (skip + 1) + '-' + (skip + rows.length) + ' of ' + n;\n"
    "  $('q-prev').disabled = skip === 0;\n"
    "  $('q-next').disabled = skip + rows.length >= n;\n"
    "}\n"
    "function requery() { skip = 0; route(); }\n"
    "for (const id of ['f-status', 'f-sev', 'f-order', 'f-top']) $(id).onchange = requery;\n"
    "$('f-assigned').onkeydown = e => { if (e.key === 'Enter') requery(); };\n"
    "$('f-apply').onclick = requery;\n"
    "$('q-prev').onclick = () => { skip = Math.max(0, skip - +$('f-top').value); route(); };\n"
    "$('q-next').onclick = () => { skip += +$('f-top').value; route(); };\n"

    /* ---- one incident ---- */
    "fill($('a-status'), STATUSES);\n"
    "fill($('a-class'), CLASSES);\n"
    "fill($('a-det'), DETS);\n"
    /* cur: the incident shown, with the ETag read with it (sent back as If-Match)
     * and the alerts whose evidence is open (kept open across reloads) */
    "const cur = {id: null, etag: null, open: new Set()};\n"
    "async function showIncident(id, g, note, cls) {\n"
    "  show('v-inc');\n"
    "  if (cur.id !== id) {\n"
    "    cur.id = id;\n"
    "    cur.etag = null;\n"
    "    cur.open.clear();\n"
    "    for (const x of ['i-fields', 'comments', 'graph', 'g-legend']) $(x).replaceChildren();\n"
    "    $('alerts').tBodies[0].replaceChildren();\n"
    "    for (const x of ['i-name', 'i-msg', 'g-note', 'c-msg']) say(x, '');\n"
    "    $('i-id').textContent = '#' + id;\n"
    "  }\n"
    "  if (!tok()) return say('i-msg', 'paste an API token above', 'bad');\n"
    "  const base = INC + '/' + id;\n"
    "  const [r, gr] = await Promise.all([api('GET', base + '?$expand=alerts'), api('GET', base + '/graph')]);\n"
    "  if (g !== gen) return;\n"
    "  if (!r.ok) { cur.etag = null; return say('i-msg', r.err, 'bad'); }\n"
    "  cur.etag = r.etag || r.j['@odata.etag'];\n"
    "  renderIncident(r.j);\n"
    "  if (gr.ok) drawGraph(gr.j);\n"
    "  else { $('graph').replaceChildren(); say('g-note', gr.err, 'bad'); }\n"
    "  say('i-msg', note, cls);\n"
    /* for tests and scripts: the version now shown */
    "  $('v-inc').dataset.etag = cur.etag;\n"
    "}\n"
    "function renderIncident(x) {\n"
    "  $('i-name').textContent = x.displayName || '(no name)';\n"
    "  const dl = $('i-fields');\n"
    "  dl.replaceChildren();\n"
    "  const row = (k, v) => dl.append(el('dt', null, k), el('dd', {'data-field': k}, v));\n"
    "  row('status', x.status);\n"
    "  row('severity', sevBadge(x.severity));\n"
    "  row('classification', x.classification || '-');\n"
    "  row('determination', x.determination || '-');\n"
    "  row('assigned to', x.assignedTo || 'unassigned');\n"
    "  row('tags', list([].concat(x.customTags || [], x.systemTags || [])));\n"
    "  row('devices', list(x.devices));\n"
    "  row('users', list(x.users));\n"
    "  row('mailboxes', list(x.mailboxes));\n"
    "  row('tactics', list(x.tactics));\n"
    "  row('techniques', list(x.mitreTechniques));\n"
    "  row('first activity', when(x.firstActivityDateTime));\n"
    "  row('last activity', when(x.lastActivityDateTime));\n"
    "  row('created', when(x.createdDateTime));\n"
    "  row('last update', when(x.lastUpdateDateTime));\n"
    "  if (x.redirectIncidentId)\n"
    "    row('merged into', el('a', {href: '#/incidents/' + encodeURIComponent(x.redirectIncidentId)}, '#' + x.redirectIncidentId));\n"
    /* the action controls start from the current values */
    "  $('a-status').value = STATUSES.includes(x.status) ? x.status : 'active';\n"
    "  $('a-class').value = CLASSES.includes(x.classification) ? x.classification : 'unknown';\n"
    "  $('a-det').value = DETS.includes(x.determination) ? x.determination : 'unknown';\n"
    "  $('a-assign').value = x.assignedTo || '';\n"
    "  renderAlerts(x.alerts || [], x.alertsTruncated);\n"
    "  const ul = $('comments');\n"
    "  ul.replaceChildren();\n"
    "  for (const c of x.comments || [])\n"
    "    ul.append(el('li', null, el('b', null, c.createdByDisplayName || '?'), ' ',\n"
    "      el('span', {class: 't'}, when(c.createdDateTime)), el('div', {class: 'c'}, c.comment)));\n"
    "  if (!ul.children.length) ul.append(el('li', {class: 'none'}, 'no comments yet'));\n"
    "}\n"
    "function renderAlerts(alerts, truncated) {\n"
    "  const tb = $('alerts').tBodies[0];\n"
    "  tb.replaceChildren();\n"
    "  for (const a of alerts) {\n"
    "    const ev = Array.isArray(a.evidence) ? a.evidence : [];\n"
    "    const b = el('button', {class: 'ev-toggle'}, 'evidence (' + ev.length + ')');\n"
    "    const evr = el('tr', {class: 'evidence'}, el('td', {colspan: 7}, evidenceList(ev)));\n"
    "    evr.hidden = !cur.open.has(a.id);\n"
    "    b.onclick = () => { evr.hidden = !evr.hidden; if (evr.hidden) cur.open.delete(a.id); else cur.open.add(a.id); };\n"
    "    tb.append(el('tr', {'data-id': a.id}, el('td', null, a.title || a.id), el('td', null, sevBadge(a.severity)),\n"
    "      el('td', null, a.status), el('td', null, a.category || '-'), el('td', null, a.detectionSource || '-'),\n"
    "      el('td', null, when(a.firstActivityDateTime || a.createdDateTime)), el('td', null, b)), evr);\n"
    "  }\n"
    "  if (truncated) tb.append(el('tr', null, el('td', {colspan: 7, class: 'warn'}, 'more alerts than shown')));\n"
    "}\n"
    /* One line per evidence: its kind, roles and fields (nested objects
     * flattened as a.b: value); the bookkeeping fields are left out. */
    "const EV_SKIP = ['@odata.type', 'createdDateTime', 'remediationStatus', 'roles', 'tags', 'verdict'];\n"
    "function flat(o, pre, out) {\n"
    "  for (const k in o) {\n"
    "    const v = o[k];\n"
    "    if ((!pre && EV_SKIP.includes(k)) || v === null || v === '' || (Array.isArray(v) && !v.length)) continue;\n"
    "    if (typeof v === 'object' && !Array.isArray(v)) flat(v, pre + k + '.', out);\n"
    "    else out.push(pre + k + ': ' + (Array.isArray(v) ? v.map(s => typeof s === 'object' ? JSON.stringify(s) : s).join(', ') : v));\n"
    "  }\n"
    "}\n"
    "function evidenceList(ev) {\n"
    "  const ul = el('ul', {class: 'ev'});\n"
    "  for (const e of ev) {\n"
    "    const kind = String(e['@odata.type'] || 'evidence').replace('#microsoft.graph.security.', '').replace(/Evidence$/, '');\n"
    "    const parts = [];\n"
    "    flat(e, '', parts);\n"
    "    ul.append(el('li', null, el('b', null, kind), ' ', el('i', null, list(e.roles)), ' ', parts.join('; ')));\n"
    "  }\n"
    "  if (!ev.length) ul.append(el('li', null, 'no evidence'));\n"
    "  return ul;\n"
    "}\n"

    /* ---- actions ----
     * Every change is a PATCH carrying the version read with the incident
     * (If-Match); 412 means someone changed it since: say so and show the new
     * state. Other refusals show the server's message as it came. */
    "const ACTIONS = ['a-status-set', 'a-classify', 'a-assign-set', 'a-me', 'a-unassign', 'c-add'];\n"
    "function busy(on) { for (const x of ACTIONS) $(x).disabled = on; }\n"
    "async function change(body, what) {\n"
    "  if (!cur.etag) return say('i-msg', 'the incident is not loaded', 'bad');\n"
    "  const id = cur.id;\n"
    "  busy(true);\n"
    "  const r = await api('PATCH', INC + '/' + id, body, cur.etag);\n"
    "  busy(false);\n"
    "  if (cur.id !== id) return;\n"
    "  if (r.status === 412) return showIncident(id, gen, 'changed by someone else - reloaded', 'bad');\n"
    "  if (!r.ok) return say('i-msg', r.err, 'bad');\n"
    "  return showIncident(id, gen, what + ': saved', 'ok');\n"
    "}\n"
    "$('a-status-set').onclick = () => change({status: $('a-status').value}, 'status ' + $('a-status').value);\n"
    "$('a-classify').onclick = () => change({classification: $('a-class').value, determination: $('a-det').value}, 'classification');\n"
    "$('a-assign-set').onclick = () => {\n"
    "  const v = $('a-assign').value.trim();\n"
    "  change({assignedTo: v || null}, v ? 'assigned to ' + v : 'unassigned');\n"
    "};\n"
    "$('a-me').onclick = () => me() ? change({assignedTo: me()}, 'assigned to ' + me())\n"
    "  : say('i-msg', 'type your name beside the token first', 'bad');\n"
    "$('a-unassign').onclick = () => change({assignedTo: null}, 'unassigned');\n"
    "$('c-add').onclick = async () => {\n"
    "  const t = $('c-text').value, id = cur.id;\n"
    "  if (!t.trim()) return say('c-msg', 'write a comment first', 'bad');\n"
    "  busy(true);\n"
    "  const r = await api('POST', INC + '/' + id + '/comments', {comment: t});\n"
    "  busy(false);\n"
    "  if (!r.ok) return say('c-msg', r.err, 'bad');\n"
    "  $('c-text').value = '';\n"
    "  say('c-msg', 'comment added', 'ok');\n"
    /* a comment makes a new version: read the incident (and its ETag) again */
    "  if (cur.id === id) showIncident(id, gen);\n"
    "};\n"

    /* ---- the incident graph, as SVG ----
     * Deterministic layout: the incident on the left, its alerts in a column
     * (wrapping every GR.rows), the entities in columns to the right grouped by
     * kind (KIND_ORDER) and sorted by label. Shape and colour tell the type
     * (alerts: their severity); the full label is in each node's tooltip. */
    "const NS = 'http://www.w3.org/2000/svg';\n"
    "const GR = {rowh: 34, colw: 230, rows: 20, label: 28, max: 240};\n"
    "const KINDS = {\n"
    "  incident: ['rect', '#1d2430'], alert: ['diamond', '#78909c'], device: ['rect', '#1565c0'],\n"
    "  account: ['circle', '#6a1b9a'], mailbox: ['circle', '#ad1457'], ip: ['triangle', '#2e7d32'],\n"
    "  url: ['triangle', '#558b2f'], domain: ['triangle', '#827717'], file: ['diamond', '#ef6c00'],\n"
    "  process: ['diamond', '#5d4037'], mailmessage: ['rect', '#00838f']};\n"
    "const KIND_ORDER = ['device', 'account', 'mailbox', 'ip', 'url', 'domain', 'file', 'process', 'mailmessage'];\n"
    "const SEV_COLOR = {high: '#c62828', medium: '#ef6c00', low: '#f9a825', informational: '#607d8b'};\n"
    "function svg(tag, attrs, ...kids) {\n"
    "  const e = document.createElementNS(NS, tag);\n"
    "  for (const k in attrs) e.setAttribute(k, attrs[k]);\n"
    "  for (const c of kids) e.append(c);\n"
    "  return e;\n"
    "}\n"
    "function shape(kind, x, y, color) {\n"
    "  const r = 9;\n"
    "  if (kind === 'circle') return svg('circle', {cx: x, cy: y, r, fill: color});\n"
    "  if (kind === 'diamond') return svg('polygon', {points: [x, y - r - 2, x + r + 2, y, x, y + r + 2, x - r - 2, y].join(' '), fill: color});\n"
    "  if (kind === 'triangle') return svg('polygon', {points: [x, y - r - 1, x + r + 1, y + r, x - r - 1, y + r].join(' '), fill: color});\n"
    "  return svg('rect', {x: x - r, y: y - r, width: 2 * r, height: 2 * r, rx: 3, fill: color});\n"
    "}\n"
    "const rank = t => { const i = KIND_ORDER.indexOf(t); return i < 0 ? KIND_ORDER.length : i; };\n"
    "function drawGraph(g) {\n"
    "  const box = $('graph'), notes = [];\n"
    "  box.replaceChildren();\n"
    "  $('g-legend').replaceChildren();\n"
    "  const all = Array.isArray(g.nodes) ? g.nodes : [];\n"
    "  if (g.truncated) notes.push('truncated: the server sent only part of this graph (its limits)');\n"
    "  const incs = all.filter(n => n.type === 'incident');\n"
    "  let alerts = all.filter(n => n.type === 'alert');\n"
    "  let ents = all.filter(n => n.type !== 'incident' && n.type !== 'alert')\n"
    "    .sort((a, b) => rank(a.type) - rank(b.type) || String(a.type).localeCompare(String(b.type)) ||\n"
    "      String(a.label).localeCompare(String(b.label)));\n"
    /* past GR.max nodes: up to half of them entities, the rest alerts */
    "  if (all.length > GR.max) {\n"
    "    ents = ents.slice(0, Math.max(GR.max / 2, GR.max - incs.length - alerts.length));\n"
    "    alerts = alerts.slice(0, GR.max - incs.length - ents.length);\n"
    "    notes.push('drawing ' + (incs.length + alerts.length + ents.length) + ' of ' + all.length + ' nodes');\n"
    "  }\n"
    "  const nodes = incs.concat(alerts, ents);\n"
    "  say('g-note', notes.join('; '), notes.length ? 'warn' : '');\n"
    "  const acols = Math.max(1, Math.ceil(alerts.length / GR.rows)), ecols = Math.ceil(ents.length / GR.rows);\n"
    "  const rows = Math.max(1, Math.min(GR.rows, Math.max(alerts.length, ents.length)));\n"
    "  const H = rows * GR.rowh + 20, y0 = 10 + GR.rowh / 2, W = 40 + GR.colw * (1 + acols + ecols);\n"
    "  const pos = new Map();\n"
    "  const place = (arr, x0) => arr.forEach((n, i) =>\n"
    "    pos.set(n.id, [x0 + Math.floor(i / GR.rows) * GR.colw, y0 + (i % GR.rows) * GR.rowh]));\n"
    "  incs.forEach(n => pos.set(n.id, [20, y0 + (rows - 1) * GR.rowh / 2]));\n"
    "  place(alerts, 20 + GR.colw);\n"
    "  place(ents, 20 + GR.colw * (1 + acols));\n"
    "  const s = svg('svg', {id: 'g-svg', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img'},\n"
    "    svg('title', {}, 'incident graph'));\n"
    /* edges first, under the nodes; an edge to a node not drawn is left out */
    "  const eg = svg('g', {class: 'edges'}), lines = [];\n"
    "  for (const e of Array.isArray(g.edges) ? g.edges : []) {\n"
    "    const a = pos.get(e.source), b = pos.get(e.target);\n"
    "    if (!a || !b) continue;\n"
    "    const ln = svg('line', {class: 'edge', x1: a[0] + 12, y1: a[1], x2: b[0] - 12, y2: b[1]},\n"
    "      svg('title', {}, String(e.kind || '')));\n"
    "    lines.push([e.source, ln]);\n"
    "    eg.append(ln);\n"
    "  }\n"
    "  s.append(eg);\n"
    /* two entities of one kind with one label (a device by id and by name):
     * the label says which key each is */
    "  const dup = new Map();\n"
    "  for (const n of ents) dup.set(n.type + '\\n' + n.label, (dup.get(n.type + '\\n' + n.label) || 0) + 1);\n"
    "  const seen = new Map(), texts = new Map();\n"
    "  for (const n of nodes) {\n"
    "    const p = pos.get(n.id), k = KINDS[n.type] || ['circle', '#78909c'];\n"
    "    const color = n.type === 'alert' ? (SEV_COLOR[n.severity] || k[1]) : k[1];\n"
    "    let label = String(n.label || n.id);\n"
    "    const key = String(n.id).slice(String(n.id).indexOf(':') + 1);\n"
    "    if (dup.get(n.type + '\\n' + n.label) > 1 && key !== label.toLowerCase()) label += ' (' + key + ')';\n"
    "    const short = label.length > GR.label ? label.slice(0, GR.label - 1) + '\\u2026' : label;\n"
    "    const tip = n.type + ': ' + label + (n.severity ? ' (' + n.severity + ')' : '') +\n"
    "      (n.alerts ? ' - in ' + n.alerts + ' alert(s)' : '');\n"
    "    const t = svg('text', {x: p[0] + 14, y: p[1] + 4}, short);\n"
    "    texts.set(n.id, t);\n"
    "    s.append(svg('g', {class: 'node', 'data-type': String(n.type)}, shape(k[0], p[0], p[1], color),\n"
    "      t, svg('title', {}, tip)));\n"
    "    if (!seen.has(n.type)) seen.set(n.type, n.type === 'alert' ? SEV_COLOR.high : k[1]);\n"
    "  }\n"
    "  box.append(s);\n"
    /* edges leave their source after its label (measurable once drawn) */
    "  for (const [src, ln] of lines) {\n"
    "    const t = texts.get(src);\n"
    "    if (t) ln.setAttribute('x1', pos.get(src)[0] + 18 + t.getComputedTextLength());\n"
    "  }\n"
    "  for (const [t, c] of seen) $('g-legend').append(el('span', {class: 'lg'}, el('i', {style: 'background:' + c}), String(t)));\n"
    "}\n"

    "route();\n";

void vg_h_console(vg_req *rq)
{
    static const char js_open[] = "<script>\n", js_close[] = "</script>\n</body></html>\n";
    rq->status = 200;
    rq->content_type = "text/html; charset=utf-8";
    vg_buf_put(&rq->out, console_html, sizeof console_html - 1);
    vg_buf_put(&rq->out, js_open, sizeof js_open - 1);
    vg_buf_put(&rq->out, console_js, sizeof console_js - 1);
    vg_buf_put(&rq->out, js_close, sizeof js_close - 1);
}

void vg_h_tables(vg_req *rq)
{
    rq->status = 200;
    rq->content_type = "application/json";
    vg_buf_puts(&rq->out, "{\"tables\":[");
    bool first = true;
    for (size_t t = 0; t < vg_schema_ntables; t++) {
        uint64_t n = vg_store_table_rows(rq->srv->store, &vg_schema_tables[t]);
        if (!n)
            continue;
        vg_buf_printf(&rq->out, "%s{\"table\":\"%s\",\"rows\":%llu}", first ? "" : ",",
                      vg_schema_tables[t].name, (unsigned long long)n);
        first = false;
    }
    vg_buf_puts(&rq->out, "]}\n");
}
