"use strict";
const TYPES = [["data_collection", "Data collection"], ["kafka_process", "Kafka"], ["redis", "Redis"],
               ["backend", "Backend"], ["frontend", "Frontend"], ["other", "Other"]];
const EDGES = [["data_collection_to_kafka", "Data collection → Kafka"], ["kafka_to_database", "Kafka → Database"],
               ["database_to_backend", "Database → Backend"], ["redis_to_backend", "Redis → Backend"],
               ["backend_to_frontend", "Backend → Frontend"]];
const $ = (id) => document.getElementById(id);
let timer = null;

function el(tag, text, cls) {            // text only: service names are untrusted input
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
function duration(s) {
  if (s < 90) return Math.round(s) + " s";
  if (s < 5400) return Math.round(s / 60) + " min";
  if (s < 172800) return (s / 3600).toFixed(1) + " h";
  return (s / 86400).toFixed(1) + " d";
}
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

function show(loggedIn) {
  $("login").hidden = loggedIn; $("dashboard").hidden = !loggedIn; $("controls").hidden = !loggedIn;
}
function logout(message) {
  sessionStorage.removeItem("token"); clearTimeout(timer); show(false);
  $("login-error").textContent = message || "";
}

async function refresh() {
  clearTimeout(timer);
  const token = sessionStorage.getItem("token");
  if (!token) return logout();
  const end = Date.now() / 1000, start = end - Number($("window").value);
  try {
    const res = await fetch("/heartbeat/status", {method: "POST",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + token},
      body: JSON.stringify({start_time: start, end_time: end})});
    if (res.status === 401) return logout("Your session has ended; log in again.");
    const data = await res.json();
    if (!res.ok) throw new Error(data.message || res.statusText);
    render(data);
    $("status-error").textContent = "";
  } catch (err) {
    $("status-error").textContent = "Cannot load the status: " + err.message;
  }
  timer = setTimeout(refresh, 5000);
}

// the exporter's one status rule decides; an older exporter without "state" still shows up/down
function stateOf(s) { return s.state || (s.is_alive ? "up" : "down"); }

function render(data) {
  const status = data.service_status;
  const counts = {up: 0, late: 0, down: 0, paused: 0, unknown: 0};
  const services = $("services"); services.replaceChildren();
  TYPES.forEach(([key, title]) => {
    const list = status[key] || [];
    list.forEach((s) => { counts[stateOf(s)]++; });
    const section = services.appendChild(el("section"));
    section.dataset.type = key;
    const alive = list.filter((s) => s.is_alive).length;
    section.appendChild(el("h2", `${title} — ${alive}/${list.length} up or late`));
    if (!list.length) { section.appendChild(el("p", "No services of this type.", "empty")); return; }
    section.appendChild(table([["Service"], ["State"], ["Last seen", "num"], ["Timeout", "num wide"], ["Address", "wide"]],
      list.map((s) => [td(s.service, "service"),
                       td(stateOf(s).toUpperCase(), "state " + stateOf(s)),
                       td(duration(s.age_seconds) + " ago", "num"), td(duration(s.timeout_seconds), "num wide"),
                       td(s.address, "wide")])));
  });
  const db = status.database || {};
  const card = $("database"); card.replaceChildren();
  card.appendChild(el("span", db.is_connected ? "CONNECTED" : "DISCONNECTED", "state " + (db.is_connected ? "up" : "down")));
  if (db.latency_seconds != null) card.appendChild(el("span", ` · probe ${(db.latency_seconds * 1000).toFixed(1)} ms`));
  if (db.error_message) card.appendChild(el("div", db.error_message, "muted"));
  const summary = $("summary"); summary.replaceChildren();
  Object.entries(counts).forEach(([state, n]) => {
    if (n || state === "up" || state === "down") summary.appendChild(el("span", `${n} ${state}`, "pill state " + state));
  });
  const traffic = $("traffic"); traffic.replaceChildren();
  if (data.traffic_status) {
    traffic.appendChild(el("h2", "Traffic in the window"));
    if (data.traffic_error) traffic.appendChild(el("p", data.traffic_error, "error"));
    EDGES.forEach(([key, title]) => {
      const rows = data.traffic_status[key] || [];
      const section = traffic.appendChild(el("section"));
      section.dataset.edge = key;
      section.appendChild(el("h2", title));
      if (!rows.length) { section.appendChild(el("p", "No traffic.", "empty")); return; }
      section.appendChild(table([["From"], ["To"], ["Records", "num"]], rows.map((r) => [
        td(r.server_ip || r.ip || (key.split("_to_")[0])), td(r.client_ip || key.split("_to_")[1]),
        td(r.count.toLocaleString(), "num count")])));
    });
  }
  $("updated").textContent = "Updated " + new Date().toLocaleTimeString() + " · refreshes every 5 s";
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const res = await fetch("/auth/login", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: $("username").value, password: $("password").value})});
  const data = await res.json();
  if (!res.ok) { $("login-error").textContent = data.message || "Login failed"; return; }
  sessionStorage.setItem("token", data.access_token);
  $("password").value = ""; $("login-error").textContent = "";
  show(true); refresh();
});
$("logout").addEventListener("click", () => {
  const token = sessionStorage.getItem("token");
  if (token) {  // revoke it on the server too, not only forget it here
    fetch("/auth/logout", {method: "POST", headers: {"Authorization": "Bearer " + token}}).catch(() => {});
  }
  logout();
});
$("window").addEventListener("change", refresh);
if (sessionStorage.getItem("token")) { show(true); refresh(); } else { show(false); }
