// Caudal's dashboard: plain DOM, no build step, no CDN. Every view reads the same HTTP API a user would, sending the
// API key (kept for this browser tab only) when the server asks for one. Views live in the URL's hash, so the
// browser's back and forward buttons move between them.
"use strict";

const view = document.getElementById("view");
const keyForm = document.getElementById("key-form");
const keyStorage = "caudal.apiKey";

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/** Calls the API with the key, if one was given; a 401 asks for a key and stops the view. */
async function api(path, init = {}) {
  const headers = new Headers(init.headers || {});
  const key = sessionStorage.getItem(keyStorage);
  if (key) headers.set("X-Api-Key", key);
  const response = await fetch(path, { ...init, headers });
  if (response.ok) return response;
  let message = `${response.status} ${response.statusText}`;
  try { message = (await response.json()).error || message; } catch { /* not JSON */ }
  if (response.status === 401) askForKey(message);
  throw new ApiError(response.status, message);
}

const json = async (path, init) => (await api(path, init)).json();

function askForKey(reason) {
  document.getElementById("key-reason").textContent = reason;
  keyForm.hidden = false;
  document.getElementById("key-input").focus();
}

keyForm.addEventListener("submit", event => {
  event.preventDefault();
  const input = document.getElementById("key-input");
  if (!input.value.trim()) return;
  sessionStorage.setItem(keyStorage, input.value.trim());
  input.value = "";
  keyForm.hidden = true;
  route();
});

document.getElementById("forget-key").addEventListener("click", () => {
  sessionStorage.removeItem(keyStorage);
  route();
});

/** Builds an element: el("td", {className: "num"}, "12"). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.includes("-")) node.setAttribute(name, value);
    else node[name] = value;
  }
  for (const child of children.flat()) if (child != null) node.append(child instanceof Node ? child : String(child));
  return node;
}

function table(headers, rows) {
  return el("div", { className: "scroll" }, el("table", {},
    el("thead", {}, el("tr", {}, headers.map(h => h instanceof Node ? h : el("th", {}, h)))),
    el("tbody", {}, rows)));
}

const number = n => n == null ? "" : Number(n).toLocaleString("en");
const cell = v => v === null || v === undefined ? el("td", { className: "muted" }, "null")
  : el("td", { className: typeof v === "number" ? "num" : "" }, typeof v === "object" ? JSON.stringify(v) : String(v));

function age(timestamp) {
  if (!timestamp) return "never";
  const seconds = Math.max(0, (Date.now() - new Date(timestamp).getTime()) / 1000);
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

const runSeconds = r => ((r.finished_at ? new Date(r.finished_at) : new Date()) - new Date(r.started_at)) / 1000;

function showError(error) {
  view.replaceChildren(el("p", { className: "error", role: "alert" }, error.message));
}

// --- Views -------------------------------------------------------------------------------------------------------

async function tablesView() {
  const { tables } = await json("/v1/tables");
  const sections = [];
  for (const zone of ["raw", "trusted", "refined"]) {
    const inZone = tables.filter(t => t.zone === zone);
    if (!inZone.length) continue;
    sections.push(el("h2", {}, `${zone} (${inZone.length})`));
    sections.push(table(["table", "version", "rows", "size", "last commit", "checks"].map(h => el("th", { className: ["version", "rows", "size"].includes(h) ? "num" : "" }, h)),
      inZone.map(t => {
        const failing = t.checks ? t.checks.results.filter(r => !r.passed) : [];
        const failed = failing.length, errors = failing.filter(r => r.severity === "error").length;
        // A failed error check kept the table from being published; a failed warn check is only a warning.
        return el("tr", { className: errors ? "failed" : failed ? "warned" : "", dataset: { table: t.table } },
          el("td", {}, el("a", { href: `#/table/${t.zone}/${encodeURIComponent(t.table.slice(zone.length + 1))}` }, t.table)),
          el("td", { className: "num" }, t.version),
          el("td", { className: "num" }, number(t.rows)),
          el("td", { className: "num" }, `${number(Math.round(t.bytes / 1024))} KB`),
          el("td", { title: t.last_commit || "" }, age(t.last_commit)),
          el("td", {}, t.checks ? (failed ? `${failed} of ${t.checks.results.length} failed${errors < failed ? ` (${failed - errors} warn)` : ""}` : `${t.checks.results.length} passed`) : ""));
      })));
  }
  view.replaceChildren(el("h2", {}, "Tables"), ...(sections.length ? sections : [el("p", { className: "muted" }, "No tables yet: run the pipeline.")]));
}

async function runsView() {
  const { runs } = await json("/v1/runs?limit=50");
  view.replaceChildren(el("h2", {}, "Runs"), runs.length ? table(["run", "trigger", "status", "started", "seconds", "stages", "failed"],
    runs.map(r => el("tr", { className: r.status === "failed" || r.status === "cancelled" ? "failed" : "" },
      el("td", {}, el("a", { href: `#/runs/${encodeURIComponent(r.run_id)}` }, r.run_id)),
      el("td", {}, r.trigger),
      el("td", { className: `status-${r.status}` }, r.status),
      el("td", {}, new Date(r.started_at).toLocaleString()),
      el("td", { className: "num" }, runSeconds(r).toFixed(1)),
      el("td", { className: "num" }, r.stages.length),
      el("td", { className: "num" }, r.stages.filter(s => s.status === "failed").length)))) : el("p", { className: "muted" }, "No runs yet."));
}

async function runView(id) {
  const run = await json(`/v1/runs/${encodeURIComponent(id)}`);
  view.replaceChildren(
    el("h2", {}, `Run ${run.run_id}`),
    el("p", {}, `${run.trigger}, `, el("span", { className: `status-${run.status}` }, run.status), `, ${runSeconds(run).toFixed(1)} s, started ${new Date(run.started_at).toLocaleString()}`),
    run.error ? el("p", { className: "error" }, run.error) : null,
    table(["stage", "table", "status", "seconds", "rows", "version", "error"], run.stages.map(s => el("tr", { className: s.status === "failed" || s.status === "cancelled" ? "failed" : "" },
      el("td", {}, s.stage), el("td", {}, s.table), el("td", { className: `status-${s.status}` }, s.status),
      el("td", { className: "num" }, s.seconds.toFixed(2)), el("td", { className: "num" }, number(s.rows)),
      el("td", { className: "num" }, s.version ?? ""), el("td", {}, s.error || "")))));
}

async function chartsView() {
  const { charts } = await json("/v1/charts");
  view.replaceChildren(el("h2", {}, "Charts"));
  if (!charts.length) view.append(el("p", { className: "muted" }, "The spec declares no charts."));
  for (const chart of charts) {
    // A title with {placeholders} is each image's own; the section is named after the chart and what it splits by.
    view.append(el("h2", {}, /\{[^}]*\}/.test(chart.title) ? `${chart.name}${chart.each ? ` (one per ${chart.each})` : ""}` : chart.title));
    if (!chart.images.length) view.append(el("p", { className: "muted" }, "Not drawn yet."));
    for (const image of chart.images) {
      const img = el("img", { alt: `${chart.name}: ${image.name}` });
      view.append(el("figure", {}, img, el("figcaption", {}, chart.each ? `${chart.each} = ${image.name}` : chart.name)));
      api(image.url).then(r => r.blob()).then(blob => { img.src = URL.createObjectURL(blob); }).catch(e => img.replaceWith(el("p", { className: "error" }, e.message)));
    }
  }
}

const operators = ["eq", "neq", "gt", "gte", "lt", "lte", "like", "in", "is.null", "not.is.null"];

/** The table browser: `#/table/{zone}/{name}?order=…&limit=…&{column}=op.value&next=…`. */
async function tableView(zone, name, params) {
  const query = new URLSearchParams(params);
  if (!query.has("limit")) query.set("limit", "50");
  const page = await json(`/v1/tables/${zone}/${encodeURIComponent(name)}?${query}`);
  const meta = (await json("/v1/tables")).tables.find(t => t.table === `${zone}.${name}`);
  const columns = meta ? meta.columns.map(c => c.name) : Object.keys(page.rows[0] || {});
  const go = changes => {
    const next = new URLSearchParams(query);
    next.delete("next");
    for (const [k, v] of Object.entries(changes)) v == null ? next.delete(k) : next.set(k, v);
    location.hash = `#/table/${zone}/${encodeURIComponent(name)}?${next}`;
  };
  const order = query.get("order") || "";
  const header = columns.map(c => el("th", {}, el("button", {
    type: "button", title: "sort",
    onclick: () => go({ order: order === c ? `${c}.desc` : c }),
  }, c + (order === c ? " ▲" : order === `${c}.desc` ? " ▼" : ""))));

  const column = el("select", { "aria-label": "column" }, columns.map(c => el("option", { value: c }, c)));
  const operator = el("select", { "aria-label": "operator" }, operators.map(o => el("option", { value: o }, o)));
  const value = el("input", { placeholder: "value", "aria-label": "value" });
  const filters = [...query.entries()].filter(([k]) => columns.includes(k));
  const toolbar = el("form", { className: "toolbar", onsubmit: e => {
    e.preventDefault();
    const op = operator.value;
    go({ [column.value]: op.includes("null") ? op : op === "in" ? `in.(${value.value})` : `${op}.${value.value}` });
  } }, "Filter ", column, operator, value, el("button", { type: "submit" }, "Add filter"),
  filters.map(([k, v]) => el("button", { type: "button", title: "remove filter", onclick: () => go({ [k]: null }) }, `${k}=${v} ✕`)));

  const download = format => el("button", { type: "button", onclick: async () => {
    const all = new URLSearchParams(query);
    all.delete("next");
    all.set("limit", "all");
    all.set("format", format);
    const blob = await (await api(`/v1/tables/${zone}/${encodeURIComponent(name)}?${all}`)).blob();
    const link = el("a", { href: URL.createObjectURL(blob), download: `${zone}.${name}.${format}` });
    document.body.append(link);
    link.click();
    link.remove();
  } }, `Download ${format.toUpperCase()}`);

  const pager = el("div", { className: "toolbar" },
    el("button", { type: "button", disabled: !query.has("next"), onclick: () => history.back() }, "← Previous"),
    el("button", { type: "button", disabled: !page.next, onclick: () => {
      const next = new URLSearchParams(query);
      next.set("next", page.next);
      location.hash = `#/table/${zone}/${encodeURIComponent(name)}?${next}`;
    } }, "Next →"),
    el("span", { className: "muted" }, `version ${page.version}, ${page.rows.length} rows on this page${meta ? ` of ${number(meta.rows)}` : ""}`),
    download("csv"), download("parquet"));

  view.replaceChildren(el("h2", {}, `${zone}.${name}`), toolbar, pager,
    table(header, page.rows.map(r => el("tr", {}, columns.map(c => cell(r[c]))))));
}

function sqlView() {
  const editor = el("textarea", { id: "sql", spellcheck: false, "aria-label": "SQL" });
  editor.value = sessionStorage.getItem("caudal.sql") || "SELECT * FROM refined.caudal_runs ORDER BY run_started_at DESC LIMIT 20";
  const output = el("div", { id: "sql-output" });
  const run = async () => {
    sessionStorage.setItem("caudal.sql", editor.value);
    output.replaceChildren(el("p", { className: "muted" }, "Running…"));
    try {
      const result = await json("/v1/sql", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ sql: editor.value }) });
      output.replaceChildren(
        el("p", { className: "muted" }, `${result.rows.length} rows${result.truncated ? " (truncated)" : ""}`),
        table(result.columns.map(c => c.name), result.rows.map(r => el("tr", {}, r.map(cell)))));
    } catch (e) {
      output.replaceChildren(el("p", { className: "error", role: "alert" }, e.message));
    }
  };
  editor.addEventListener("keydown", e => { if ((e.ctrlKey || e.metaKey) && e.key === "Enter") run(); });
  view.replaceChildren(el("h2", {}, "SQL"), el("p", { className: "muted" }, "One read-only query over zone.table names (Ctrl+Enter runs it)."),
    editor, el("div", { className: "toolbar" }, el("button", { id: "run-sql", type: "button", onclick: run }, "Run")), output);
}

// --- Routing ------------------------------------------------------------------------------------------------------

/** Asks the server whether it needs a key before any data request, so a missing key is a question, not an error. */
async function authorized() {
  const headers = {};
  const key = sessionStorage.getItem(keyStorage);
  if (key) headers["X-Api-Key"] = key;
  const auth = await (await fetch("/auth", { headers })).json();
  if (auth.valid) {
    keyForm.hidden = true;
    return true;
  }
  view.replaceChildren();
  askForKey(key ? "That API key is not valid (mistyped or removed). Enter another." : "This server needs an API key (caudal keys add).");
  return false;
}

async function route() {
  if (!await authorized()) return;
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, search] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const section = parts[0] === "runs" ? "runs" : parts[0] === "charts" ? "charts" : parts[0] === "sql" ? "sql" : "tables";
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.nav === section);
  document.getElementById("forget-key").hidden = !sessionStorage.getItem(keyStorage);
  delete view.dataset.view;
  try {
    if (parts[0] === "runs" && parts[1]) await runView(parts[1]);
    else if (parts[0] === "runs") await runsView();
    else if (parts[0] === "charts") await chartsView();
    else if (parts[0] === "sql") sqlView();
    else if (parts[0] === "table" && parts.length === 3) await tableView(parts[1], parts[2], search || "");
    else await tablesView();
    document.title = `Caudal — ${parts.join(" / ") || "tables"}`;
  } catch (e) {
    showError(e);
  }
  // Marks which view is on screen (tests wait for it; a slow response never shows under a newer URL).
  if (location.hash.replace(/^#/, "") === hash || (!location.hash && hash === "/")) view.dataset.view = location.hash;
}

window.addEventListener("hashchange", route);
route();
