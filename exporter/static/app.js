"use strict";
// The status page: the pipeline as a picture, each service's states over the window, traffic and
// database trends, maintenance windows, the alerts paging now (GET /alerts, from Alertmanager), and
// the tables of the user's original API. The rest comes from POST /heartbeat/status; GET /events
// says when to fetch it again (polling when the stream is down). Service names are untrusted
// input: text nodes only, never HTML.
const TYPE_TITLES = {data_collection: "Data collection", kafka: "Kafka", database: "Database", redis: "Redis",
                     backend: "Backend", frontend: "Frontend", other: "Other"};
const EDGES = [["data_collection_to_kafka", "Data collection → Kafka"], ["kafka_to_database", "Kafka → Database"],
               ["database_to_backend", "Database → Backend"], ["redis_to_backend", "Redis → Backend"],
               ["backend_to_frontend", "Backend → Frontend"]];
const WORST = ["down", "failing", "unknown", "late", "paused", "running", "up"];  // a node takes the worst state it has
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
let timer = null, live = false, stream = null, lastData = null;
// the state history is fetched at most once a minute (or when the window changes), a page at a time;
// the refreshes in between, one per event, reuse it
const HISTORY_EVERY = 60000;
let history = {at: 0, span: 0, changes: Object.create(null), states: Object.create(null)};
const own = (object, key) => (Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined);

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, String(v)));
  if (text !== undefined) node.textContent = String(text);
  return node;
}
function duration(s) {
  if (s < 90) return Math.round(s) + " s";
  if (s < 5400) return Math.round(s / 60) + " min";
  if (s < 172800) return (s / 3600).toFixed(1) + " h";
  return (s / 86400).toFixed(1) + " d";
}
function clock(t) { return new Date(t * 1000).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}); }
function table(headers, rows) {
  const t = el("table"), head = el("tr");
  headers.forEach(([h, cls]) => head.appendChild(el("th", h, cls)));
  t.appendChild(el("thead")).appendChild(head);
  const body = t.appendChild(el("tbody"));
  rows.forEach((cells) => {
    const tr = body.appendChild(el("tr"));
    cells.forEach((cell) => tr.appendChild(cell instanceof Node ? cell : el("td", cell)));
  });
  return t;
}
function td(text, cls) { return el("td", text, cls); }
function token() { return sessionStorage.getItem("token"); }
function authorized(extra) { return {"Authorization": "Bearer " + token(), ...(extra || {})}; }

function show(loggedIn) {
  $("login").hidden = loggedIn; $("dashboard").hidden = !loggedIn; $("controls").hidden = !loggedIn;
}
function logout(message) {
  sessionStorage.removeItem("token"); clearTimeout(timer); show(false);
  if (stream) { stream.abort(); stream = null; }
  $("login-error").textContent = message || "";
}

function statesOf(data) {
  const states = Object.create(null);
  Object.values(data.service_status).filter(Array.isArray).flat().forEach((s) => { states[s.service] = stateOf(s); });
  return states;
}

// between two fetches of the history, the states each refresh brings extend it, at the time the
// exporter read them (its clock: last seen + age); the next fetch has the exact times
function follow(data) {
  Object.values(data.service_status).filter(Array.isArray).flat().forEach((s) => {
    const list = own(history.changes, s.service) || [];
    const last = list.length ? list[list.length - 1].to : own(history.states, s.service);
    const state = stateOf(s), at = s.last_seen + s.age_seconds;
    if (last !== undefined && last !== state) history.changes[s.service] = list.concat([{time: at, from: last, to: state}]);
  });
}

// one status call; null once logged out
async function status(body) {
  const res = await fetch("/heartbeat/status", {method: "POST",
    headers: authorized({"Content-Type": "application/json"}), body: JSON.stringify(body)});
  if (res.status === 401) { logout("Your session has ended; log in again."); return null; }
  const data = await res.json();
  if (!res.ok) throw new Error(data.message || res.statusText);
  return data;
}

async function refresh() {
  clearTimeout(timer);
  if (!token()) return logout();
  const end = Date.now() / 1000, span = Number($("window").value), start = end - span;
  const wanted = Date.now() - history.at > HISTORY_EVERY || history.span !== span;
  try {
    const data = await status({start_time: start, end_time: end, history: wanted, trend: true});
    if (!data) return;
    if (wanted) {
      const changes = Object.assign(Object.create(null), data.history || {});  // names are keys: __proto__ too
      for (let next = data.history_next; next !== undefined;) {  // the rest, a page at a time
        const page = await status({start_time: start, end_time: end, history: true, history_offset: next});
        if (!page) return;
        Object.entries(page.history || {}).forEach(([name, list]) => {
          changes[name] = (own(changes, name) || []).concat(list);
        });
        next = page.history_next;
      }
      history = {at: Date.now(), span, changes, states: statesOf(data)};
    } else {
      follow(data);
    }
    data.history = history.changes;
    lastData = {data, start, end};
    render(data, start, end);
    $("status-error").textContent = "";
  } catch (err) {
    $("status-error").textContent = "Cannot load the status: " + err.message;
  }
  timer = setTimeout(refresh, live ? 60000 : 5000);  // with live updates, polling is a safety net
}

// Server-Sent Events over fetch, so that the token goes in a header and never in a URL
async function listen() {
  if (!token() || stream) return;
  stream = new AbortController();
  try {
    const res = await fetch("/events", {headers: authorized(), signal: stream.signal});
    if (!res.ok) throw new Error(res.statusText);
    live = true; $("live").textContent = "● live"; $("live").className = "live on";
    const reader = res.body.getReader(), decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut).split("\n");
        buffer = buffer.slice(cut + 2);
        if (block.includes("event: status")) refresh();
      }
    }
  } catch (err) { /* the stream ended or failed: poll, then try again */ }
  live = false; stream = null;
  $("live").textContent = "polling every 5 s"; $("live").className = "live";
  if (token()) setTimeout(listen, 2000);
}

function stateOf(s) { return s.state || (s.is_alive ? "up" : "down"); }
function worst(states) { return WORST.find((s) => states[s] > 0) || "none"; }

function render(data, start, end) {
  const status = data.service_status;
  const counts = {up: 0, running: 0, late: 0, failing: 0, down: 0, paused: 0, unknown: 0};
  const keys = Object.entries(data.types || {}).map(([name, t]) => [t.status_key, own(TYPE_TITLES, name) || name]);
  Object.values(status).forEach((list) => Array.isArray(list) && list.forEach((s) => { counts[stateOf(s)]++; }));
  const summary = $("summary"); summary.replaceChildren();
  Object.entries(counts).forEach(([state, n]) => {
    if (n || state === "up" || state === "down") summary.appendChild(el("span", `${n} ${state}`, "pill state " + state));
  });
  if (data.ingest_blind) summary.appendChild(el("span", "heartbeats cannot arrive: states unknown", "pill state unknown"));
  diagram(data);
  timelines(data, start, end);
  trends(data, start, end);
  services(status, keys, data.columns || []);
  database(status.database || {});
  traffic(data);
  if (data.traffic_status) maintenance(data); else $("maintenance").hidden = true;
  alerts(Boolean(data.traffic_status));
  $("updated").textContent = "Updated " + new Date().toLocaleTimeString();
}

function layers(edges) {
  // each node one column right of its furthest upstream node: the pipeline reads left to right
  const depth = {};
  const nodes = [...new Set(edges.flatMap((e) => [e.source, e.target]))];
  nodes.forEach((n) => { depth[n] = 0; });
  for (let i = 0; i < nodes.length; i++) {
    edges.forEach((e) => { depth[e.target] = Math.max(depth[e.target], depth[e.source] + 1); });
  }
  // a node nothing feeds (Redis) sits just left of what it feeds, not at the far left
  nodes.filter((n) => !edges.some((e) => e.target === n)).forEach((n) => {
    const fed = edges.filter((e) => e.source === n).map((e) => depth[e.target] - 1);
    if (fed.length) depth[n] = Math.max(0, Math.min(...fed));
  });
  const columns = [];
  nodes.forEach((n) => { (columns[depth[n]] = columns[depth[n]] || []).push(n); });
  return columns;
}

function diagram(data) {
  const box = $("pipeline"); box.replaceChildren();
  const edges = data.pipeline || [];
  if (!edges.length) return;
  const columns = layers(edges);
  const W = 170, H = 64, GX = 70, GY = 26;
  const rows = Math.max(...columns.map((c) => c.length));
  const width = columns.length * (W + GX) - GX + 20, height = rows * (H + GY) - GY + 20;
  const pic = svg("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "The pipeline"});
  const at = {};
  columns.forEach((column, x) => column.forEach((node, y) => {
    const top = 10 + y * (H + GY) + (rows - column.length) * (H + GY) / 2;
    at[node] = {x: 10 + x * (W + GX), y: top};
  }));
  edges.forEach((e) => {
    const a = at[e.source], b = at[e.target];
    const g = pic.appendChild(svg("g", {class: "edge " + e.state, "data-edge": e.edge, "data-state": e.state}));
    g.appendChild(svg("line", {x1: a.x + W, y1: a.y + H / 2, x2: b.x, y2: b.y + H / 2, "marker-end": "url(#arrow)"}));
    const label = e.records_per_minute == null ? e.state.replace("_", " ")
      : `${Math.round(e.records_per_minute).toLocaleString()}/min`;
    g.appendChild(svg("text", {x: (a.x + W + b.x) / 2, y: (a.y + b.y) / 2 + H / 2 - 6, "text-anchor": "middle"}, label));
  });
  const defs = pic.insertBefore(svg("defs"), pic.firstChild);
  const marker = defs.appendChild(svg("marker", {id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse"}));
  marker.appendChild(svg("path", {d: "M 0 0 L 10 5 L 0 10 z", class: "arrow"}));
  Object.entries(at).forEach(([node, p]) => {
    let state, line;
    if (node === "database") {
      const db = data.service_status.database || {};
      state = db.is_connected ? "up" : "down"; line = db.is_connected ? "connected" : "disconnected";
    } else {
      const states = (own(data.types, node) || {}).states || {};
      state = worst(states);
      line = WORST.filter((s) => states[s]).map((s) => `${states[s]} ${s}`).join(" · ") || "no services";
      const lag = (own(data.types, node) || {}).lag_seconds;
      if (lag != null) line += ` · lag ${duration(Math.max(0, lag))}`;  // its furthest-behind watermark
    }
    const g = pic.appendChild(svg("g", {class: "node " + state, "data-node": node, "data-state": state}));
    g.appendChild(svg("rect", {x: p.x, y: p.y, width: W, height: H, rx: 8}));
    g.appendChild(svg("text", {x: p.x + W / 2, y: p.y + 26, "text-anchor": "middle", class: "title"}, TYPE_TITLES[node] || node));
    g.appendChild(svg("text", {x: p.x + W / 2, y: p.y + 47, "text-anchor": "middle"}, line));
  });
  box.appendChild(pic);
}

function segments(changes, current, start, end) {
  // [from, to, state] over the window: the state before the first change is that change's "from"
  const out = [];
  let t = start, state = changes.length ? changes[0].from : current;
  changes.forEach((c) => { if (c.time > t) out.push([t, c.time, state]); t = Math.max(t, c.time); state = c.to; });
  out.push([t, end, state]);
  return out.filter(([a, b]) => b > a);
}

function timelines(data, start, end) {
  const box = $("timelines"); box.replaceChildren();
  const changes = data.history || {};
  const all = Object.values(data.service_status).filter(Array.isArray).flat();
  if (!all.length) return;
  box.appendChild(el("h2", "States over the window"));
  const axis = box.appendChild(el("div", "", "axis"));
  [start, (start + end) / 2, end].forEach((t) => axis.appendChild(el("span", clock(t))));
  all.sort((a, b) => a.service.localeCompare(b.service)).forEach((s) => {
    const row = box.appendChild(el("div", "", "timeline"));
    row.dataset.service = s.service;
    row.appendChild(el("span", s.service, "name"));
    const bar = row.appendChild(svg("svg", {viewBox: "0 0 1000 12", preserveAspectRatio: "none", class: "bar"}));
    segments(own(changes, s.service) || [], stateOf(s), start, end).forEach(([a, b, state]) => {
      const x = (a - start) / (end - start) * 1000, w = (b - a) / (end - start) * 1000;
      const r = bar.appendChild(svg("rect", {x, y: 0, width: Math.max(w, 1.5), height: 12,
        class: "seg " + (state || "none"), "data-state": state || "none"}));
      r.appendChild(svg("title", {}, `${state || "no data"} ${clock(a)}–${clock(b)}`));
    });
    if (s.job) runBars(row, s.job, start, end);
  });
}

// a job's last runs under its states: a bar from start to finish, coloured by outcome (SPEC §13)
function runBars(row, job, start, end) {
  const runs = row.appendChild(svg("svg", {viewBox: "0 0 1000 6", preserveAspectRatio: "none", class: "runs"}));
  const open = job.running_since == null ? [] : [{start: job.running_since, end, outcome: "running"}];
  job.recent.concat(open).forEach((r) => {
    if (r.end < start || r.start > end) return;
    const a = Math.max(r.start, start), b = Math.min(r.end, end);
    const x = (a - start) / (end - start) * 1000, w = (b - a) / (end - start) * 1000;
    const bar = runs.appendChild(svg("rect", {x, y: 0, width: Math.max(w, 2), height: 6, class: "run " + r.outcome,
      "data-outcome": r.outcome}));
    bar.appendChild(svg("title", {}, `run ${r.outcome} ${clock(r.start)}–${clock(r.end)} (${duration(r.end - r.start)})`));
  });
}

function chart(points, start, end, label, format, bars, band) {
  // a small chart: bars for counts per step, a line for a measurement; null (no data) is left out.
  // band: [t, v] of the same steps a week before; the bars sit in 30 %-3× of it (SPEC §14's rule)
  const W = 1000, H = 120, known = points.filter((p) => p[1] != null);
  const top = Math.max(1e-9, ...known.map((p) => p[1]));
  const figure = el("figure", "", "chart");
  figure.appendChild(el("figcaption", known.length ? `${label} · max ${format(top)}` : `${label} · no data yet`));
  const pic = figure.appendChild(svg("svg", {viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none"}));
  const x = (t) => (t - start) / (end - start) * W, y = (v) => H - 2 - v / top * (H - 6);
  if (bars) {
    const step = points.length > 1 ? points[1][0] - points[0][0] : end - start;
    (band || []).forEach(([t, v]) => {
      if (v == null) return;
      const hi = Math.max(y(Math.min(3 * v, top)), 0), lo = y(0.3 * v);
      pic.appendChild(svg("rect", {x: x(t), y: hi, width: Math.max(2, x(t + step) - x(t)), height: Math.max(0, lo - hi),
        class: "band"}));
    });
    known.forEach(([t, v]) => pic.appendChild(svg("rect", {x: x(t), y: y(v), width: Math.max(2, x(t + step) - x(t) - 1),
      height: H - 2 - y(v), class: "bar"})));
    return figure;
  }
  let path = "", pen = false;
  points.forEach(([t, v]) => {
    if (v == null) { pen = false; return; }
    path += `${pen ? "L" : "M"}${x(t).toFixed(1)} ${y(v).toFixed(1)} `; pen = true;
  });
  pic.appendChild(svg("path", {d: path || "M0 0", class: "line"}));
  return figure;
}

function trends(data, start, end) {
  const box = $("trends"); box.replaceChildren();
  const latency = (data.database_trend || []);
  if (latency.length) {
    box.appendChild(chart(latency.map(([t, s]) => [t, s == null ? null : s * 1000]), start, end,
      "Database probe latency", (v) => v.toFixed(1) + " ms")).dataset.trend = "database";
  }
  if (!data.traffic_trend) return;
  EDGES.forEach(([key, title]) => {
    const trend = data.traffic_trend[key];
    if (!trend) return;
    const figure = box.appendChild(chart(trend.points, start, end, `${title}, rows per ${duration(trend.step)}`,
      (v) => Math.round(v).toLocaleString(), true, trend.week_ago));
    figure.dataset.trend = key;
    if (trend.top.length) {  // the top keys, each with its own small bars over the same steps
      const list = figure.appendChild(el("ol", "", "top"));
      const most = Math.max(1, ...trend.top.flatMap((k) => k.points.map((p) => p[1] || 0)));
      trend.top.forEach((k) => {
        const item = list.appendChild(el("li"));
        item.appendChild(el("span", `${k.client_ip || k.ip || k.server_ip}${k.server_ip && k.client_ip ? " ← " + k.server_ip : ""}`
          + `: ${k.count.toLocaleString()}`));
        const spark = item.appendChild(svg("svg", {viewBox: "0 0 1000 20", preserveAspectRatio: "none", class: "spark"}));
        k.points.forEach(([t, v]) => {
          if (!v) return;
          const x = (t - start) / (end - start) * 1000, w = trend.step / (end - start) * 1000;
          spark.appendChild(svg("rect", {x, y: 20 - v / most * 20, width: Math.max(2, w - 1), height: v / most * 20, class: "bar"}));
        });
      });
    }
  });
}

// the fields the heartbeat field table shows as columns (region, …): those some service sent
function shownColumns(status, columns) {
  const all = Object.values(status).filter(Array.isArray).flat();
  return columns.filter((c) => all.some((s) => s[c.key] != null && s[c.key] !== ""));
}

function services(status, keys, declared) {
  const box = $("services"); box.replaceChildren();
  const columns = shownColumns(status, declared);
  keys.forEach(([key, title]) => {
    const list = status[key] || [];
    const section = box.appendChild(el("section"));
    section.dataset.type = key;
    const alive = list.filter((s) => s.is_alive).length;
    section.appendChild(el("h2", `${title} — ${alive}/${list.length} up or late`));
    if (!list.length) { section.appendChild(el("p", "No services of this type.", "empty")); return; }
    section.appendChild(table([["Service"], ["State"], ["Says"], ...columns.map((c) => [c.title]), ["Last seen", "num"],
                               ["Timeout or schedule", "num wide"], ["Address", "wide"]],
      list.map((s) => [td(s.service, "service"), stateCell(s), says(s),
                       ...columns.map((c) => td(s[c.key] == null ? "" : String(s[c.key]), "field-" + c.key)),
                       td(duration(s.age_seconds) + " ago", "num"), rules(s),
                       td(s.address, "wide")])));
  });
}

// a service is judged by its timeout; a job by its schedule (or its period) and its limits
function rules(s) {
  if (!s.job) return td(duration(s.timeout_seconds), "num wide");
  const when = s.job.schedule ? `${s.job.schedule} (${s.job.tz})` : `every ${duration(s.timeout_seconds)}`;
  const cell = td(when, "num wide schedule");
  cell.title = `grace ${duration(s.job.grace_seconds)}, max runtime ${duration(s.job.max_runtime_seconds)}`;
  return cell;
}

// a job's state says why it is down (missed or overrun) and when its next run is due
function stateCell(s) {
  const state = stateOf(s), reason = s.job && s.job.reason;
  const cell = td(state.toUpperCase() + (reason ? " · " + reason : ""), "state " + state);
  if (s.job && s.job.next_due != null) {
    const wait = s.job.next_due - (s.last_seen + s.age_seconds);
    cell.appendChild(el("div", wait > 0 ? `next run in ${duration(wait)}` : "next run due now", "muted next-due"));
  }
  return cell;
}

// what the service says of itself: its status and message, and its metrics and info on demand;
// all of it as text (el sets textContent), never as HTML: they are the sender's words
function says(s) {
  const cell = el("td", null, "says");
  if (s.status && s.status !== "ok") cell.appendChild(el("span", s.status.toUpperCase(), "reported " + s.status));
  if (s.message) cell.appendChild(el("span", s.message, "message"));
  const learned = [];  // what the monitor learned of it (SPEC §17)
  if (s.suspicion != null) learned.push(`suspicion φ = ${s.suspicion}`);
  const band = s.job && s.job.duration_band;
  if (band) learned.push(`usual run ${duration(band.low)} – ${duration(band.high)}`);
  const facts = learned.concat(Object.entries(s.metrics || {}).map(([name, value]) => `${name} = ${value}`))
    .concat(Object.entries(s.info || {}).map(([key, value]) => `${key}: ${value}`));
  if (facts.length) {
    const details = cell.appendChild(el("details"));
    details.appendChild(el("summary", `${facts.length} reported`));
    facts.forEach((fact) => details.appendChild(el("div", fact, "fact")));
  }
  return cell;
}

function database(db) {
  const card = $("database"); card.replaceChildren();
  card.appendChild(el("span", db.is_connected ? "CONNECTED" : "DISCONNECTED", "state " + (db.is_connected ? "up" : "down")));
  if (db.latency_seconds != null) card.appendChild(el("span", ` · probe ${(db.latency_seconds * 1000).toFixed(1)} ms`));
  if (db.error_message) card.appendChild(el("div", db.error_message, "muted"));
}

function traffic(data) {
  const box = $("traffic"); box.replaceChildren();
  if (!data.traffic_status) return;
  box.appendChild(el("h2", "Traffic in the window"));
  if (data.traffic_error) box.appendChild(el("p", data.traffic_error, "error"));
  EDGES.forEach(([key, title]) => {
    const rows = data.traffic_status[key] || [];
    const section = box.appendChild(el("section"));
    section.dataset.edge = key;
    section.appendChild(el("h3", title));
    if (!rows.length) { section.appendChild(el("p", "No traffic.", "empty")); return; }
    section.appendChild(table([["From"], ["To"], ["Records", "num"]], rows.map((r) => [
      td(r.server_ip || r.ip || (key.split("_to_")[0])), td(r.client_ip || key.split("_to_")[1]),
      td(r.count.toLocaleString(), "num count")])));
  });
}

async function maintenance(data) {
  // the list is redrawn on each refresh; the form is built once, so that nothing typed is lost
  const box = $("maintenance"), form = $("maintenance-form");
  const res = await fetch("/maintenance", {headers: authorized()});
  box.hidden = !res.ok;
  if (!res.ok) return;
  const windows = (await res.json()).windows;
  const list = $("maintenance-list"); list.replaceChildren();
  if (!windows.length) list.appendChild(el("p", "None planned.", "empty"));
  else list.appendChild(table([["For"], ["From"], ["Until"], ["Reason", "wide"]], windows.map((w) => [
    td([w.service_type, w.service_prefix && w.service_prefix + "*"].filter(Boolean).join(" ")),
    td(clock(w.start)), td(clock(w.end)), td(w.reason, "wide")])));
  const type = form.elements.service_type;
  if (type.options.length === 1) {
    Object.keys(data.types || {}).forEach((name) => { type.appendChild(el("option", own(TYPE_TITLES, name) || name)).value = name; });
  }
}

const ALERTS_EVERY = 15000;  // an alert can fire with no state change to announce it: poll too
let alertsTimer = null;
async function alerts(admin) {
  // what Alertmanager is sending now; the Watchdog is not listed, it says the path works
  clearTimeout(alertsTimer);
  alertsTimer = setTimeout(() => { if (token()) alerts(admin); }, ALERTS_EVERY);
  const box = $("alerts");
  let res;
  try { res = await fetch("/alerts", {headers: authorized()}); } catch (err) { return; }
  if (!res.ok) { box.hidden = true; return; }
  const data = await res.json();
  box.hidden = data.alertmanager === "not_configured";
  const path = $("alerting-path");
  path.textContent = data.alerting_path === "works" ? "Alerting path works: Alertmanager has the Watchdog." : data.message;
  path.className = data.alerting_path === "works" ? "muted" : "error";
  const list = $("alerts-list"); list.replaceChildren();
  if (!data.alerts.length) list.appendChild(el("p", data.alertmanager === "ok" ? "Nothing is paging." : "", "empty"));
  else list.appendChild(table([["Alert"], ["Severity"], ["Service"], ["Type"], ["Since"]], data.alerts.map((a) => [
    td(a.alertname, "alertname"), td(a.severity, "severity " + (a.severity || "")),
    td(a.service_name || a.edge || ""), td(a.service_type ? (own(TYPE_TITLES, a.service_type) || a.service_type) : ""),
    td(a.since ? clock(Date.parse(a.since) / 1000) : "")])));
  if (data.more) list.appendChild(el("p", `and ${data.more} more`, "muted"));
  $("test-notification-box").hidden = !admin || data.alertmanager !== "ok";
}

$("test-notification").addEventListener("click", async () => {
  const res = await fetch("/alerts/test", {method: "POST", headers: authorized()});
  const answer = await res.json();
  $("test-result").textContent = res.ok
    ? "Sent: HeartbeatTestNotification reaches the critical route's receivers within its group_wait."
    : answer.message;
  if (res.ok) setTimeout(refresh, 1000);
});

$("maintenance-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target, now = Date.now() / 1000;
  const body = {start: now, end: now + 60 * Number(form.elements.minutes.value), reason: form.elements.reason.value};
  if (form.elements.service_type.value) body.service_type = form.elements.service_type.value;
  if (form.elements.service_prefix.value) body.service_prefix = form.elements.service_prefix.value;
  const answer = await fetch("/maintenance", {method: "POST", headers: authorized({"Content-Type": "application/json"}),
    body: JSON.stringify(body)});
  $("maintenance-error").textContent = answer.ok ? "" : (await answer.json()).message;
  if (answer.ok) { form.reset(); refresh(); }
});

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const res = await fetch("/auth/login", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: $("username").value, password: $("password").value})});
  const data = await res.json();
  if (!res.ok) { $("login-error").textContent = data.message || "Login failed"; return; }
  sessionStorage.setItem("token", data.access_token);
  $("password").value = ""; $("login-error").textContent = "";
  show(true); refresh(); listen();
});
$("logout").addEventListener("click", () => {
  if (token()) {  // revoke it on the server too, not only forget it here
    fetch("/auth/logout", {method: "POST", headers: authorized()}).catch(() => {});
  }
  logout();
});
$("window").addEventListener("change", refresh);
if (token()) { show(true); refresh(); listen(); } else { show(false); }
