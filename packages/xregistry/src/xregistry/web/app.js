// The xregistry web page: plain JavaScript over the HTTP API, no build step, no CDN.
// Every value from the server is put into the page with textContent, never as HTML.
"use strict";

const state = { token: sessionStorage.getItem("xregistry-token") || "", models: [] };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function show(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function status(text, bad) {
  const footer = document.getElementById("status");
  footer.textContent = text || "";
  footer.className = bad ? "error" : "";
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, options) {
  const opts = Object.assign({ headers: {} }, options || {});
  opts.headers = Object.assign({ Authorization: `Bearer ${state.token}` }, opts.headers);
  if (opts.json !== undefined) {
    opts.body = JSON.stringify(opts.json);
    opts.headers["Content-Type"] = "application/json";
    delete opts.json;
  }
  const response = await fetch(path, opts);
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (response.status === 401) {
    signOut("Your token was not accepted; sign in again.");
    throw new ApiError(401, body);
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

const enc = encodeURIComponent;
const main = () => document.getElementById("main");

function table(rows, columns) {
  if (!rows.length) return el("p", { class: "muted" }, "No rows.");
  const cols = columns || Object.keys(rows[0]);
  return el("table", {},
    el("thead", {}, el("tr", {}, cols.map((c) => el("th", {}, c)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, cols.map((c) => el("td", {}, show(r[c])))))));
}

// -- sign in ---------------------------------------------------------------------------------
function signOut(message) {
  state.token = "";
  sessionStorage.removeItem("xregistry-token");
  document.getElementById("app").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
}

async function signIn(token) {
  state.token = token;
  try {
    const info = await api("/api/info");
    sessionStorage.setItem("xregistry-token", token);
    document.getElementById("login").hidden = true;
    document.getElementById("app").hidden = false;
    document.getElementById("whoami").textContent =
      `${info.principal.id} (${info.principal.roles.join(", ")}) · ${info.models} models · ` +
      `${info.functions} functions · ${info.types} types`;
    state.info = info;
    await openRoute(location.hash); // versions.js: the shared link asked for, else the models
  } catch (err) {
    if (err.status !== 401) signOut(`Cannot reach the server: ${err.message}`);
  }
}

// -- models ----------------------------------------------------------------------------------
function modelCard(m) {
  return el("div", { class: "card", "data-testid": "model-card", "data-model": m.name,
    onclick: () => showModel(m.name) },
  el("strong", {}, m.name), " ", el("span", { class: "tag" }, m.source),
  m.enriched ? el("span", { class: "tag" }, "live") : null,
  el("div", { class: "path" }, m.namespace),
  el("div", { class: "muted" }, `${Object.keys(m.fields || {}).length} fields · v${m.version}`));
}

async function showModels() {
  selectNav("models");
  state.models = await api("/api/registry/models");
  main().replaceChildren(
    el("h2", {}, `Models (${state.models.length})`),
    el("div", { class: "cards", id: "model-list" }, state.models.map(modelCard)));
  status("");
}

async function showModel(name, tab) {
  selectNav("models");
  const model = await api(`/api/registry/models/${enc(name)}`);
  let enrichment = null;
  if (model.enriched) enrichment = await api(`/api/enrichment/models/${enc(name)}/enrichment`);
  const body = el("div", { id: "model-body" });
  const tabs = [
    ["Schema", () => schemaView(model)],
    ["Form", () => formView(model, enrichment)],
    ["Statistics", () => statsView(enrichment)],
    ["Samples", () => samplesView(enrichment)],
    ["Categorical values", () => categoricalView(enrichment)],
    ["Data quality", () => qualityView(enrichment)],
    ["Query data", () => queryView(model)],
    ["Versions", () => versionsView(model)], // versions.js
  ];
  const bar = el("div", { class: "tabs" });
  for (const [label, render] of tabs) {
    const button = el("button", { "data-tab": label, onclick: () => {
      for (const b of bar.children) b.classList.toggle("active", b === button);
      body.replaceChildren(render());
      modelTabShown(model.name, label); // versions.js: the address bar follows the view
    } }, label);
    bar.append(button);
  }
  main().replaceChildren(
    el("h2", { "data-testid": "model-title" }, model.name),
    el("div", { class: "path" }, `${model.namespace} · ${model.source} · v${model.version}` +
      (model.resource ? ` · from ${model.resource}/${model.collection}` : "")),
    model.description ? el("p", {}, model.description) : null,
    el("div", {}, model.tags.map((t) => el("span", { class: "tag" }, t))),
    bar, body);
  ([...bar.children].find((b) => b.dataset.tab === tab) || bar.firstChild).click();
}

function schemaView(model) {
  const rows = Object.entries(model.fields).map(([name, f]) => ({
    field: name, type: f.type, required: f.required, nullable: f.nullable,
    key: f.primary_key ? "primary" : f.foreign_key ? `→ ${f.foreign_key.table}.${f.foreign_key.column}` : "",
  }));
  return el("div", {}, table(rows), el("details", {}, el("summary", {}, "JSON schema"),
    el("pre", {}, JSON.stringify(model.schema, null, 2))));
}

function inputFor(name, spec, categories) {
  const id = `field-${name}`;
  const attrs = { id, name, "data-field": name };
  if (categories && categories.length) {
    // A free text input with the live values as suggestions: the server checks the value.
    const list = el("datalist", { id: `${id}-values` },
      categories.map((v) => el("option", { value: show(v) })));
    return [el("input", Object.assign(attrs, { list: `${id}-values`, autocomplete: "off" })), list];
  }
  switch (spec.widget) {
    case "select":
      return [el("select", attrs, el("option", { value: "" }, ""),
        (spec.options || []).map((o) => el("option", { value: show(o.value) }, o.label)))];
    case "toggle": case "checkbox":
      return [el("input", Object.assign(attrs, { type: "checkbox" }))];
    case "number": case "slider":
      return [el("input", Object.assign(attrs, { type: "number", step: "any" }))];
    case "date": return [el("input", Object.assign(attrs, { type: "date" }))];
    case "datetime": return [el("input", Object.assign(attrs, { type: "datetime-local", step: "1" }))];
    case "textarea": case "json": return [el("textarea", attrs)];
    default: return [el("input", Object.assign(attrs, { type: spec.widget === "email" ? "email" : "text" }))];
  }
}

function readForm(form, ui) {
  const data = {};
  for (const name of ui.order) {
    const spec = ui.fields[name];
    const input = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (!input) continue;
    if (input.type === "checkbox") { data[name] = input.checked; continue; }
    if (input.value === "") continue;
    if (spec.widget === "number" || spec.widget === "slider") data[name] = Number(input.value);
    else if (spec.widget === "json") {
      try { data[name] = JSON.parse(input.value); } catch (e) { data[name] = input.value; }
    } else data[name] = input.value;
  }
  return data;
}

function formView(model, enrichment) {
  const ui = model.ui_schema;
  if (!ui) return el("p", { class: "muted" }, "This model has no UI schema.");
  const categories = (enrichment && enrichment.categorical_fields) || {};
  const result = el("div", { id: "form-result", "data-testid": "form-result" });
  const form = el("form", { class: "model-form", id: "model-form", novalidate: true });
  for (const name of ui.order) {
    const spec = ui.fields[name];
    form.append(el("label", { for: `field-${name}` }, spec.label + (spec.required ? " *" : "")));
    form.append(el("span", {}, inputFor(name, spec, categories[name])));
  }
  form.append(el("span", {}), el("button", { type: "submit", id: "form-submit" }, "Validate"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.replaceChildren(el("span", { class: "muted" }, "checking…"));
    try {
      const answer = await api(`/api/enrichment/models/${enc(model.name)}/validate`,
        { method: "POST", json: readForm(form, ui) });
      if (answer.valid) {
        result.replaceChildren(el("p", { class: "ok", "data-valid": "true" }, "Valid."),
          el("pre", {}, JSON.stringify(answer.instance, null, 2)));
      } else {
        result.replaceChildren(el("p", { class: "error", "data-valid": "false" }, answer.message),
          el("ul", {}, answer.errors.map((e) => el("li", { class: "error" }, `${e.loc}: ${e.msg}`))));
      }
    } catch (err) {
      result.replaceChildren(el("p", { class: "error" }, err.message));
    }
  });
  return el("div", {}, el("p", { class: "muted" },
    "Fields with live values suggest them; the server checks every value against the data."),
  form, result);
}

function needEnrichment(enrichment) {
  return enrichment ? null : el("p", { class: "muted" }, "This model is not enriched from a live source.");
}

function statsView(enrichment) {
  if (!enrichment) return needEnrichment(enrichment);
  const stats = enrichment.statistics.field_statistics || {};
  const rows = Object.entries(stats).map(([name, s]) => ({
    field: name, type: s.type, count: s.count, nulls: s.null_count, unique: s.unique_count,
    min: s.min ?? s.date_min, max: s.max ?? s.date_max,
    mean: typeof s.mean === "number" ? Number(s.mean.toFixed(3)) : s.mean,
    top: (s.top_values || []).slice(0, 3).map((t) => `${show(t.value)} (${t.count})`).join(", "),
  }));
  return el("div", {}, el("p", {}, `Rows: ${show(enrichment.statistics.total_count)} · updated ` +
    `${enrichment.last_updated} · ${enrichment.is_live ? "live" : "stale"}`), table(rows),
  statsCharts(enrichment.statistics)); // stats.js: histograms, quantiles, top values
}

function samplesView(enrichment) {
  if (!enrichment) return needEnrichment(enrichment);
  return table(enrichment.sample_data);
}

function categoricalView(enrichment) {
  if (!enrichment) return needEnrichment(enrichment);
  const entries = Object.entries(enrichment.categorical_fields);
  if (!entries.length) return el("p", { class: "muted" }, "No categorical fields.");
  return el("div", { id: "categoricals" }, entries.map(([field, values]) => el("div", {},
    el("strong", {}, field), " ", values.map((v) => el("span", { class: "tag" }, show(v))))));
}

function qualityView(enrichment) {
  if (!enrichment) return needEnrichment(enrichment);
  const q = enrichment.data_quality;
  const keys = ["completeness", "uniqueness", "validity", "consistency"];
  const fields = new Set();
  for (const k of keys) Object.keys(q[k] || {}).forEach((f) => fields.add(f));
  const cell = (v) => (typeof v === "number"
    ? el("td", {}, el("span", { class: "bar", style: `width:${Math.round(v * 60)}px` }), ` ${(v * 100).toFixed(0)}%`)
    : el("td", {}, "—"));
  return el("div", {},
    el("p", {}, "Overall: " + keys.map((k) => `${k} ${((q.overall || {})[k] * 100 || 0).toFixed(0)}%`).join(" · ")),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "field"), keys.map((k) => el("th", {}, k)))),
      el("tbody", {}, [...fields].map((f) => el("tr", {}, el("td", {}, f), keys.map((k) => cell((q[k] || {})[f])))))));
}

function queryView(model) {
  if (!state.info || !state.info.data_api) return el("p", { class: "muted" }, "The data API needs xrepo.");
  if (!model.resource) return el("p", { class: "muted" }, "This model is not backed by a source.");
  const filter = el("input", { id: "query-filter", placeholder: '{"status": "paid"}', size: 40 });
  const sort = el("input", { id: "query-sort", placeholder: "-id", size: 16 });
  const limit = el("input", { id: "query-limit", type: "number", value: 20, min: 1, max: 1000 });
  const out = el("div", { id: "query-result" });
  let skip = 0;
  async function run() {
    const params = new URLSearchParams({ skip, limit: limit.value || 20 });
    if (filter.value.trim()) params.set("filter", filter.value.trim());
    if (sort.value.trim()) params.set("sort", sort.value.trim());
    try {
      const page = await api(`/api/data/models/${enc(model.name)}/records?${params}`);
      out.replaceChildren(
        el("p", { "data-testid": "query-total" }, `${page.total} records · showing ${page.skip + 1}–${page.skip + page.items.length}`),
        el("button", { disabled: skip === 0, onclick: () => { skip = Math.max(0, skip - page.limit); run(); } }, "‹ previous"),
        el("button", { disabled: skip + page.items.length >= page.total, onclick: () => { skip += page.limit; run(); } }, "next ›"),
        table(page.items));
    } catch (err) {
      out.replaceChildren(el("p", { class: "error" }, err.message));
    }
  }
  return el("div", {}, el("form", { onsubmit: (e) => { e.preventDefault(); skip = 0; run(); } },
    "filter ", filter, " sort ", sort, " limit ", limit, " ", el("button", { type: "submit", id: "query-run" }, "Run")), out);
}

// -- functions and types ---------------------------------------------------------------------
async function showFunctions() {
  selectNav("functions");
  const functions = await api("/api/registry/functions");
  main().replaceChildren(el("h2", {}, `Functions (${functions.length})`),
    functions.length ? null : el("p", { class: "muted" }, "No functions you may view."),
    ...functions.map((f) => {
      const args = el("textarea", { rows: 2, cols: 50, placeholder: '{"quantity": 2, "unit_price": 9.5}' });
      const out = el("pre", { hidden: true });
      return el("div", { class: "card", "data-function": f.name },
        el("strong", {}, `${f.name}${f.signature}`), el("div", { class: "path" }, f.namespace),
        el("p", {}, f.docstring || ""), el("div", {}, f.tags.map((t) => el("span", { class: "tag" }, t))),
        el("div", { class: "muted" }, `calls: ${f.call_count} · permissions: ${JSON.stringify(f.permissions)}`),
        args, el("button", { onclick: async () => {
          out.hidden = false;
          try {
            const kwargs = args.value.trim() ? JSON.parse(args.value) : {};
            const r = await api(`/api/registry/functions/${enc(f.name)}/execute`, { method: "POST", json: { kwargs } });
            out.textContent = JSON.stringify(r.result, null, 2);
            out.className = "";
          } catch (err) { out.textContent = err.message; out.className = "error"; }
        } }, "Run"), out);
    }));
}

async function showTypes() {
  selectNav("types");
  const types = await api("/api/registry/types");
  main().replaceChildren(el("h2", {}, `Types (${types.length})`),
    types.length ? null : el("p", { class: "muted" }, "No types registered."),
    ...types.map((t) => {
      const value = el("input", { placeholder: "value (JSON or text)" });
      const out = el("span", {});
      return el("div", { class: "card", "data-type": t.name },
        el("strong", {}, t.name), " ", el("span", { class: "tag" }, t.category),
        el("div", { class: "path" }, t.namespace), el("p", {}, t.description || ""),
        el("div", { class: "muted" }, `${t.base_type} ${JSON.stringify(t.constraints)} · examples ${JSON.stringify(t.examples)}`),
        value, el("button", { onclick: async () => {
          let v = value.value;
          try { v = JSON.parse(v); } catch (e) { /* plain text */ }
          try {
            const r = await api(`/api/registry/types/${enc(t.name)}/validate`, { method: "POST", json: { value: v } });
            out.textContent = r.valid ? ` valid: ${show(r.value)}` : ` ${r.message}`;
            out.className = r.valid ? "ok" : "error";
          } catch (err) { out.textContent = ` ${err.message}`; out.className = "error"; }
        } }, "Validate"), out);
    }));
}

// -- namespaces and search -------------------------------------------------------------------
async function showNamespaces() {
  selectNav("namespaces");
  const found = await api(`/api/discovery/namespace/${enc("*")}`);
  const root = {};
  for (const path of found.paths) {
    let node = root;
    for (const part of path.split(".")) node = node[part] = node[part] || {};
  }
  function render(node, prefix) {
    return el("ul", { class: "tree" }, Object.keys(node).sort().map((key) => {
      const path = prefix ? `${prefix}.${key}` : key;
      const leaf = !Object.keys(node[key]).length;
      const isModel = leaf && path.includes(".models.");
      return el("li", {}, isModel ? el("a", { href: "#", onclick: (e) => { e.preventDefault(); showModel(key); } }, key)
        : leaf ? key : el("span", {}, key), leaf ? null : render(node[key], path));
    }));
  }
  main().replaceChildren(el("h2", {}, "Namespaces"), render(root, ""));
}

async function search(query) {
  setRoute(""); // versions.js: the results are no view a link names
  if (!query.trim()) return showModels();
  const found = await api(`/api/discovery/namespace/${enc(query.trim())}`);
  const models = (state.models.length ? state.models : await api("/api/registry/models"))
    .filter((m) => found.models.includes(m.name));
  main().replaceChildren(el("h2", {}, `Search: ${query}`),
    el("h3", {}, `Models (${models.length})`), el("div", { class: "cards", id: "search-models" }, models.map(modelCard)),
    el("h3", {}, `Functions (${found.functions.length})`), el("p", {}, found.functions.join(", ") || "—"),
    el("h3", {}, `Types (${found.types.length})`), el("p", {}, found.types.join(", ") || "—"));
}

function selectNav(view) {
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b.dataset.view === view);
}

function guard(fn) {
  return (...args) => fn(...args).catch((err) => status(err.message, true));
}

document.addEventListener("DOMContentLoaded", () => {
  const views = { models: showModels, functions: showFunctions, types: showTypes, namespaces: showNamespaces };
  for (const b of document.querySelectorAll("nav button")) {
    b.addEventListener("click", () => setRoute("")); // versions.js: leave a model's link
    b.addEventListener("click", guard(views[b.dataset.view]));
  }
  document.getElementById("home").addEventListener("click", (e) => { e.preventDefault(); setRoute(""); guard(showModels)(); });
  window.addEventListener("hashchange", () => { if (state.token) guard(openRoute)(location.hash); });
  let timer = null;
  document.getElementById("search").addEventListener("input", (e) => {
    clearTimeout(timer);
    timer = setTimeout(() => guard(search)(e.target.value), 200);
  });
  document.getElementById("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    guard(signIn)(document.getElementById("token").value.trim());
  });
  // A token in the fragment (the link `xregistry serve` prints) never reaches the server's log.
  // The rest of the fragment (a shared link's route, versions.js) stays for after the sign-in.
  const match = location.hash.match(/token=([^&]+)/);
  if (match) {
    history.replaceState(null, "", location.pathname + routeWithoutToken(location.hash));
    guard(signIn)(decodeURIComponent(match[1]));
  } else if (state.token) {
    guard(signIn)(state.token);
  } else {
    signOut("");
  }
});
