// The sandbox's dashboard. It reads the sandbox's own HTTP API (the one `cargo eventfn` uses):
// GET /v1/app, /v1/deliveries, /v1/deliveries/{id} and the live /v1/stream; POST /v1/publish,
// /v1/trigger, /v1/replay, /v1/replay-all and /v1/purge. Everything a delivery carries (names,
// payloads, errors, log lines) is put into the page as text, never as HTML.
"use strict";

const KEPT = 500; // deliveries kept in the live list
const deliveries = new Map(); // id -> DeliveryView, newest kept
let app = null; // GET /v1/app
let selected = null; // the delivery shown in full
let watched = new Map(); // event id -> the publish form's result element
let drawing = false;
let detailDue = false; // the open delivery changed: fetch it again at the next frame
// For each listing under way, the ids the stream told of meanwhile: newer than what it answers.
const listings = new Set();

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

async function api(path, body) {
  const request = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(path, request);
  } catch (error) {
    throw new Error(`the sandbox did not answer (${error.message}): is cargo eventfn dev still running?`);
  }
  const text = await response.text();
  let answer;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new Error(`the sandbox answered ${response.status} with something that is not JSON`);
  }
  if (!response.ok) throw new Error(answer.error || `the sandbox answered ${response.status}`);
  return answer;
}

function notice(text, bad) {
  const box = document.getElementById("notice");
  box.textContent = text;
  box.className = bad ? "bad" : "good";
  box.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { box.hidden = true; }, bad ? 10000 : 4000);
}

function clock(ms) {
  const t = new Date(ms);
  const pad = (n, w) => String(n).padStart(w || 2, "0");
  return `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${pad(t.getMilliseconds(), 3)}`;
}

function duration(us) {
  if (us === undefined || us === null) return "";
  if (us < 1000) return `${us}µs`;
  if (us < 10000) return `${(us / 1000).toFixed(1)}ms`;
  const ms = Math.floor(us / 1000);
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1).replace(/\.0$/, "")}s`;
  return `${Math.floor(ms / 60000)}m${String(Math.floor(ms / 1000) % 60).padStart(2, "0")}s`;
}

function pretty(json) {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

// A delivery's outcome as the live log words it: a pending one that was attempted is running
// when due (its attempt started), else waiting for its retry.
function outcome(d) {
  if (d.state === "pending" && d.attempts > 0) return d.due > Date.now() ? "retrying" : "running";
  return d.state;
}

function matches(d) {
  const name = document.getElementById("filter-name").value.trim().toLowerCase();
  const handler = document.getElementById("filter-handler").value;
  const state = document.getElementById("filter-state").value;
  if (name && !d.name.toLowerCase().includes(name)) return false;
  if (handler && d.handler !== handler) return false;
  if (state === "failed") return outcome(d) === "retrying";
  if (state && d.state !== state) return false;
  return true;
}

// A delivery as the stream or a listing has it. The stream's changes carry no payload: a
// listed one is kept.
function upsert(d) {
  const known = deliveries.get(d.id);
  if (known && known.body && !d.body) d.body = known.body;
  deliveries.set(d.id, d);
  if (deliveries.size > KEPT) {
    let oldest = null;
    for (const id of deliveries.keys()) if (id !== d.id && (oldest === null || id < oldest)) oldest = id;
    deliveries.delete(oldest);
  }
  const result = watched.get(d.event);
  if (result) result.dispatchEvent(new CustomEvent("delivery"));
  if (d.id === selected || d.published_by === selected) detailDue = true;
}

function redraw() {
  if (drawing) return;
  drawing = true;
  requestAnimationFrame(() => {
    drawing = false;
    drawDeliveries();
    if (detailDue && selected !== null) {
      detailDue = false;
      showDetail(selected, true);
    }
  });
}

function drawDeliveries() {
  const rows = [...deliveries.values()].filter(matches).sort((a, b) => b.id - a.id);
  const body = document.getElementById("delivery-rows");
  body.replaceChildren(...rows.map((d) => el("tr", {
    class: `state-${outcome(d)}${d.id === selected ? " selected" : ""}`,
    "data-id": d.id,
    onclick: () => showDetail(d.id),
  },
  el("td", {}, clock(d.time)),
  el("td", {}, el("span", { class: `kind kind-${d.kind}` }, d.kind), " ", d.name),
  el("td", { class: "mono" }, d.handler),
  el("td", {}, d.event),
  el("td", {}, d.id),
  el("td", {}, d.attempts),
  el("td", {}, duration(d.duration_us)),
  el("td", { class: "outcome" }, outcome(d)),
  el("td", { class: "error" }, d.error || ""))));
  document.getElementById("deliveries-empty").hidden = deliveries.size > 0;
}

async function loadDeliveries() {
  const toldMeanwhile = new Set();
  listings.add(toldMeanwhile);
  try {
    const listed = await api("/v1/deliveries?limit=200");
    for (const d of listed.deliveries.reverse()) {
      // The stream told of it after the store answered: the listing's row is older.
      if (!toldMeanwhile.has(d.id)) upsert(d);
    }
  } finally {
    listings.delete(toldMeanwhile);
  }
  redraw();
}

async function showDetail(id, quiet) {
  selected = id;
  const aside = document.getElementById("detail");
  let detail;
  try {
    detail = await api(`/v1/deliveries/${id}`);
  } catch (error) {
    if (!quiet) notice(error.message, true);
    return;
  }
  if (selected !== id) return;
  const d = detail.delivery;
  const parts = [
    el("h2", {}, `${d.kind} ${d.name} → `, el("span", { class: "mono" }, d.handler)),
    el("dl", {},
      el("dt", {}, "delivery"), el("dd", {}, `${d.id} (${outcome(d)})`),
      el("dt", {}, "event"), el("dd", {}, d.event),
      el("dt", {}, "published"), el("dd", {}, `${new Date(d.time).toLocaleString()}`),
      d.delay ? [el("dt", {}, "delay"), el("dd", {}, duration(d.delay * 1000))] : null,
      el("dt", {}, "due"), el("dd", {}, new Date(d.due).toLocaleString()),
      d.timezone ? [el("dt", {}, "time zone"), el("dd", {}, d.timezone)] : null,
      d.published_by ? [el("dt", {}, "published by"), el("dd", {}, el("a", { href: "#", onclick: (e) => { e.preventDefault(); showDetail(d.published_by); } }, `delivery ${d.published_by}`))] : null,
      el("dt", {}, "size"), el("dd", {}, `${d.size} byte${d.size === 1 ? "" : "s"}`)),
    d.state === "dead" ? el("div", { class: "actions" },
      el("button", { type: "button", class: "replay", onclick: () => replay(d.id) }, "Replay"),
      el("button", { type: "button", class: "danger", onclick: () => purge(d.id) }, "Purge")) : null,
    el("h3", {}, "payload"),
    el("pre", { class: "payload" }, pretty(d.body || "")),
    el("h3", {}, "attempts"),
    detail.earlier_attempts ? el("p", { class: "muted" }, `${detail.earlier_attempts} earlier attempts not shown`) : null,
    detail.attempts.length === 0 ? el("p", { class: "muted" }, "none yet") : null,
    ...detail.attempts.map((a) => el("div", { class: `attempt state-${a.outcome}` },
      el("div", {}, `attempt ${a.attempt} · ${clock(a.started)} · ${duration(a.duration_us)} · `, el("b", {}, a.outcome)),
      a.error ? el("pre", { class: "error" }, a.error) : null,
      a.log ? el("pre", { class: "log" }, a.log) : null)),
    el("h3", {}, "published"),
    detail.published.length === 0 ? el("p", { class: "muted" }, "nothing") : null,
    ...detail.published.map((p) => el("div", { class: "published" },
      el("a", { href: "#", onclick: (e) => { e.preventDefault(); showDetail(p.id); } }, `delivery ${p.id}`),
      ` ${p.kind} ${p.name} → ${p.handler} (${outcome(p)})`)),
    detail.more_published ? el("p", { class: "muted" }, `and ${detail.more_published} more`) : null,
  ];
  document.getElementById("detail-body").replaceChildren(...parts.flat().filter((part) => part !== null && part !== undefined));
  aside.hidden = false;
  for (const row of document.querySelectorAll("#delivery-rows tr")) {
    row.classList.toggle("selected", Number(row.dataset.id) === id);
  }
}

async function loadApp() {
  app = await api("/v1/app");
  document.getElementById("app-store").textContent = `store: ${app.store}`;
  const handlerFilter = document.getElementById("filter-handler");
  const functions = app.handlers.map((h) => h.function);
  // Rebuilt only when the handlers change: a rebuild closes the list a user has open.
  if ([...handlerFilter.options].slice(1).map((o) => o.value).join("\n") !== functions.join("\n")) {
    const chosen = handlerFilter.value;
    handlerFilter.replaceChildren(el("option", { value: "" }, "every handler"),
      ...functions.map((f) => el("option", { value: f }, f)));
    handlerFilter.value = chosen;
  }
  const dead = app.dead !== undefined ? app.dead : app.handlers.reduce((sum, h) => sum + (h.dead || 0), 0);
  document.getElementById("dead-count").textContent = dead ? String(dead) : "";
  drawApp();
}

function option(key, value) {
  return value === undefined || value === null ? null : `${key} ${value}`;
}

// The cards are made once: a refresh updates their counts and next firings in place, so that
// what a user is typing into a publish form stays.
function drawApp() {
  const container = document.getElementById("handlers");
  const shown = [...container.children].map((card) => card.dataset.function).join("\n");
  if (shown !== app.handlers.map((h) => h.function).join("\n")) {
    container.replaceChildren(...app.handlers.map(card));
  }
  for (const h of app.handlers) {
    const node = container.querySelector(`.card[data-function="${CSS.escape(h.function)}"]`);
    node.querySelector(".counts").textContent =
      `${h.kind === "queue" ? "depth" : "pending"} ${h.pending || 0} · dead ${h.dead || 0}`;
    const next = node.querySelector(".next");
    if (next) next.textContent = h.next ? ` · next ${new Date(h.next).toLocaleString()}` : "";
  }
}

function card(h) {
  const m = h.manifest || {};
  const o = m.options || {};
  const options = [
    option("timeout", o.timeout !== undefined ? `${o.timeout}s` : undefined),
    option("retries", o.retries), option("memory", o.memory !== undefined ? `${o.memory} MB` : undefined),
    option("concurrency", o.concurrency), option("batch", o.batch_size), o.fifo ? "fifo" : null,
  ].filter(Boolean).join(" · ");
  const source = m.source ? `${m.source.file}:${m.source.line}:${m.source.column}` : null;
  return el("div", { class: "card", "data-function": h.function },
    el("h2", {}, el("span", { class: `kind kind-${h.kind}` }, h.kind), " ", h.name,
      m.bus ? ` on bus ${m.bus}` : ""),
    el("p", { class: "mono" }, h.function, m.payload ? `(${m.payload})` : "()"),
    source ? el("p", { class: "muted" }, source) : null,
    options ? el("p", {}, options) : null,
    m.schedule ? el("p", {}, `${m.schedule}${m.timezone ? ` in ${m.timezone}` : " (UTC)"}`,
      m.flexible_window ? ` · within ${m.flexible_window} min` : "",
      el("span", { class: "next" })) : null,
    m.filter ? [el("h3", {}, "filter"), el("pre", {}, JSON.stringify(m.filter, null, 2))] : null,
    m.pattern ? [el("h3", {}, "pattern"), el("pre", {}, JSON.stringify(m.pattern, null, 2))] : null,
    el("p", { class: "counts" }),
    h.kind === "schedule"
      ? el("button", { type: "button", class: "fire", onclick: () => fire(h.name) }, "Fire now")
      : publishForm(h));
}

// One form per event, queue or bus: the first handler of a name has it.
function publishForm(h) {
  const bus = (handler) => (handler.manifest || {}).bus || "default";
  const target = h.kind === "rule" ? bus(h) : h.name;
  const first = app.handlers.find((o) => o.kind === h.kind && (h.kind === "rule" ? bus(o) : o.name) === target);
  if (first !== h) return el("p", { class: "muted" }, `published with the form of ${first.function}`);
  const kind = h.kind;
  const text = el("textarea", { rows: 4, spellcheck: "false", "aria-label": `payload for ${target}` }, (h.manifest || {}).payload ? "{}" : "null");
  const delay = el("input", { type: "number", min: 0, value: 0, "aria-label": "delay in seconds" });
  // A rule's form starts from what its pattern asks for, where it names one value.
  const pattern = (h.manifest || {}).pattern || {};
  const only = (values) => (Array.isArray(values) && values.length === 1 && typeof values[0] === "string" ? values[0] : "");
  const source = h.kind === "rule" ? el("input", { type: "text", value: only(pattern.source) || "app", "aria-label": "source" }) : null;
  const detailType = h.kind === "rule" ? el("input", { type: "text", value: only(pattern["detail-type"]), "aria-label": "detail type" }) : null;
  const result = el("div", { class: "result" });
  const send = async () => {
    try {
      JSON.parse(text.value);
    } catch (error) {
      result.replaceChildren(el("span", { class: "bad" }, `not JSON: ${error.message}`));
      return;
    }
    const message = { kind, name: target, body: text.value, delay: Math.max(0, Number(delay.value) || 0) * 1000 };
    if (source) {
      message.source = source.value;
      message["detail-type"] = detailType.value;
    }
    try {
      const published = await api("/v1/publish", { messages: [message] });
      const event = published.events[0];
      const caused = el("ul", { class: "caused" });
      const update = () => caused.replaceChildren(...[...deliveries.values()]
        .filter((d) => d.event === event).sort((a, b) => a.id - b.id)
        .map((d) => el("li", { class: `state-${outcome(d)}` },
          el("a", { href: "#", onclick: (e) => { e.preventDefault(); showDetail(d.id); } }, `delivery ${d.id}`),
          ` → ${d.handler}: ${outcome(d)}`)));
      result.replaceChildren(el("span", { class: "good" }, `published: event ${event}`), caused);
      watched = new Map([...watched].slice(-20));
      watched.set(event, caused);
      caused.addEventListener("delivery", update);
      update();
    } catch (error) {
      result.replaceChildren(el("span", { class: "bad" }, error.message));
    }
  };
  return el("form", { class: "publish", onsubmit: (e) => { e.preventDefault(); send(); } },
    el("label", {}, { queue: "enqueue a job", rule: `put an event on bus ${target}: its detail` }[kind] || "publish an event"),
    text,
    source ? el("label", {}, "source ", source) : null,
    detailType ? el("label", {}, "detail type ", detailType) : null,
    el("label", {}, "delay (s) ", delay),
    el("button", { type: "submit" }, kind === "queue" ? "Enqueue" : "Publish"),
    result);
}

async function fire(name) {
  try {
    const fired = await api("/v1/trigger", { name });
    notice(`schedule ${name} fired: event ${fired.events[0]}`);
  } catch (error) {
    notice(error.message, true);
  }
}

async function loadDead() {
  const listed = await api("/v1/deliveries?filter=dead&limit=1000");
  const rows = listed.deliveries.map((d) => el("tr", { class: "state-dead", "data-id": d.id },
    el("td", {}, clock(d.time)),
    el("td", {}, el("span", { class: `kind kind-${d.kind}` }, d.kind), " ", d.name),
    el("td", { class: "mono" }, d.handler),
    el("td", {}, el("a", { href: "#", onclick: (e) => { e.preventDefault(); showDetail(d.id); } }, d.id)),
    el("td", {}, d.attempts),
    el("td", { class: "error" }, d.error || ""),
    el("td", {},
      el("button", { type: "button", class: "replay", onclick: () => replay(d.id) }, "Replay"),
      el("button", { type: "button", class: "danger", onclick: () => purge(d.id) }, "Purge"))));
  document.getElementById("dead-rows").replaceChildren(...rows);
  document.getElementById("dead-empty").hidden = rows.length > 0;
}

async function replay(id) {
  try {
    await api("/v1/replay", { id });
    notice(`delivery ${id} replayed`);
  } catch (error) {
    notice(error.message, true);
  }
  refreshCounts();
}

async function purge(id) {
  if (!confirm(id === undefined ? "Remove every dead letter for good?" : `Remove dead letter ${id} for good?`)) return;
  try {
    const purged = await api("/v1/purge", id === undefined ? {} : { id });
    notice(`${purged.count} dead letter${purged.count === 1 ? "" : "s"} purged`);
    if (id !== undefined) deliveries.delete(id);
    forgetDead();
  } catch (error) {
    notice(error.message, true);
  }
  refreshCounts();
}

let counting = null;
function refreshCounts() {
  // At most every half second, however fast deliveries come.
  if (counting) return;
  counting = setTimeout(async () => {
    counting = null;
    try {
      await loadApp();
      if (!document.getElementById("dead").hidden) await loadDead();
    } catch (error) {
      notice(error.message, true);
    }
  }, 500);
}

// Dead letters removed (here, in another tab or by `cargo eventfn purge`): the ones shown go,
// and the list is read again.
function forgetDead() {
  for (const [id, d] of deliveries) if (d.state === "dead") deliveries.delete(id);
  const open = selected !== null && !deliveries.has(selected);
  if (open) {
    selected = null;
    document.getElementById("detail").hidden = true;
  }
  redraw();
  loadDeliveries().catch((error) => notice(error.message, true));
}

function follow() {
  const live = document.getElementById("live");
  const stream = new EventSource("/v1/stream");
  stream.addEventListener("open", () => {
    live.textContent = "live";
    live.className = "live on";
    // What happened while the stream was down.
    loadDeliveries().catch((error) => notice(error.message, true));
    refreshCounts();
  });
  stream.addEventListener("error", () => {
    live.textContent = "reconnecting…";
    live.className = "live off";
    // Refused (the sandbox streams to so many tabs at most, or was restarted on another
    // build): the browser gives up on its own, so the page tries again.
    if (stream.readyState === EventSource.CLOSED) setTimeout(follow, 3000);
  });
  stream.addEventListener("delivery", (message) => {
    const d = JSON.parse(message.data);
    for (const told of listings) told.add(d.id);
    upsert(d);
    redraw();
    refreshCounts();
  });
  stream.addEventListener("purged", () => {
    forgetDead();
    refreshCounts();
  });
  stream.addEventListener("lagged", () => loadDeliveries().catch(() => {}));
}

function showTab(name) {
  if (!["deliveries", "app", "dead"].includes(name)) name = "deliveries";
  // The address names the tab, so a reload or a bookmark opens it again.
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
  for (const tab of document.querySelectorAll("nav .tab")) tab.classList.toggle("on", tab.dataset.tab === name);
  for (const pane of document.querySelectorAll(".pane")) pane.hidden = pane.id !== name;
  if (name === "dead") loadDead().catch((error) => notice(error.message, true));
  if (name === "app") loadApp().catch((error) => notice(error.message, true));
}

document.addEventListener("DOMContentLoaded", () => {
  for (const tab of document.querySelectorAll("nav .tab")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
  for (const id of ["filter-name", "filter-handler", "filter-state"]) document.getElementById(id).addEventListener("input", redraw);
  document.getElementById("detail-close").addEventListener("click", () => {
    selected = null;
    document.getElementById("detail").hidden = true;
    redraw();
  });
  document.getElementById("replay-all").addEventListener("click", async () => {
    try {
      const replayed = await api("/v1/replay-all", {});
      notice(`${replayed.count} dead letter${replayed.count === 1 ? "" : "s"} replayed`);
    } catch (error) {
      notice(error.message, true);
    }
    refreshCounts();
  });
  document.getElementById("purge-all").addEventListener("click", () => purge(undefined));
  loadApp().catch((error) => notice(error.message, true));
  loadDeliveries().catch((error) => notice(error.message, true));
  if (location.hash) showTab(location.hash.slice(1));
  follow();
});
