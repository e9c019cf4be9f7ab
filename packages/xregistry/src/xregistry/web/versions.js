// The "Versions" tab of a model (its version history, the schema of any version, the diff between
// any two versions) and the page's shareable links, which open a view directly, also after the
// sign-in step:
//   #/models/<name>                   the model
//   #/models/<name>/versions          its version history
//   #/models/<name>/versions/<v>      one version (its schema)
//   #/models/<name>/diff/<a>/<b>      the changes from version a to version b
// Each part is percent-encoded (encodeURIComponent), so a name holding "/", "#", "&" or spaces
// stays one part. Loaded after app.js, whose helpers (el, api, enc, main, show, status, state,
// showModel, showModels) it uses; every server value goes into the page as text, never as HTML.
"use strict";

// -- routes ----------------------------------------------------------------------------------
function routeFor(view) {
  const base = `#/models/${enc(view.name)}`;
  switch (view.kind) {
    case "history": return `${base}/versions`;
    case "version": return `${base}/versions/${enc(view.version)}`;
    case "diff": return `${base}/diff/${enc(view.from)}/${enc(view.to)}`;
    default: return base;
  }
}

// The fragment without its `token=...` part (the link `xregistry serve` prints may carry both).
function routeWithoutToken(hash) {
  const parts = hash.replace(/^#/, "").split("&").filter((p) => p && !p.startsWith("token="));
  return parts.length ? `#${parts.join("&")}` : "";
}

// What a fragment asks for: {name, kind, version|from,to}, null for no route, or {error}.
function parseRoute(hash) {
  const path = routeWithoutToken(hash || "").replace(/^#/, "");
  if (!path) return null;
  let parts;
  try {
    parts = path.replace(/^\//, "").split("/").map(decodeURIComponent);
  } catch (err) { // a malformed %-escape
    return { error: `The link #${path} is broken (a malformed %-escape).` };
  }
  const [root, name, kind, a, b] = parts;
  if (root === "models" && name) {
    if (parts.length === 2) return { name, kind: "model" };
    if (kind === "versions" && parts.length === 3) return { name, kind: "history" };
    if (kind === "versions" && parts.length === 4 && a) return { name, kind: "version", version: a };
    if (kind === "diff" && parts.length === 5 && a && b) return { name, kind: "diff", from: a, to: b };
  }
  return { error: `The link #${path} names no view of this page.` };
}

// The address bar follows the view: one history entry per view, none when nothing changed.
function setRoute(hash) {
  if ((location.hash || "") === hash) return;
  history.pushState(null, "", hash || location.pathname + location.search);
}

// Open the view a fragment names (after the sign-in, on back/forward, on a pasted link).
async function openRoute(hash) {
  // A link with a token pasted into an open page: the token leaves the address bar at once, and
  // signs in when it is another one (signIn opens the route again).
  const token = (hash || "").match(/(?:^#|&)token=([^&]*)/);
  if (token) {
    history.replaceState(null, "", location.pathname + location.search + routeWithoutToken(hash));
    let value = "";
    try { value = decodeURIComponent(token[1]); } catch (err) { /* a malformed %-escape */ }
    if (value && value !== state.token) {
      await signIn(value);
      return;
    }
  }
  const route = parseRoute(hash);
  if (route && route.error) {
    await showModels();
    status(route.error, true);
    return;
  }
  if (!route) {
    await showModels();
    return;
  }
  if (route.kind === "model") {
    await showModel(route.name);
    return;
  }
  state.pendingVersionsView = route;
  await showModel(route.name, "Versions");
}

// Called by app.js when a tab of a model is shown.
function modelTabShown(name, label) {
  const view = state.versionsView;
  if (label === "Versions" && view && view.name === name) setRoute(routeFor(view));
  else setRoute(routeFor({ name, kind: "model" }));
}

function shareLink(view) {
  const href = `${location.origin}${location.pathname}${routeFor(view)}`;
  return el("p", { class: "share muted" }, "Link to this view: ",
    el("a", { href, "data-testid": "share-link" }, href));
}

// A link to a view of the Versions tab: a plain link to share or open elsewhere, drawn in place
// on a plain click.
function viewLink(model, view, ...children) {
  return el("a", { href: routeFor(view), onclick: (event) => {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    showVersionsView(model, view);
  } }, ...children);
}

// -- the tab ---------------------------------------------------------------------------------
function versionsView(model) {
  const pending = state.pendingVersionsView;
  state.pendingVersionsView = null;
  const view = pending && pending.name === model.name ? pending : { name: model.name, kind: "history" };
  state.versionsView = view;
  const root = el("div", { id: "versions", "data-testid": "versions" },
    el("p", { class: "muted" }, "Loading the version history…"));
  loadVersions(model, root, view).catch((err) => {
    root.replaceChildren(el("p", { class: "error", "data-testid": "versions-error" }, err.message));
  });
  return root;
}

async function loadVersions(model, root, view) {
  const history = await api(`/api/registry/models/${enc(model.name)}/versions`);
  const versions = history.versions || [];
  const numbers = versions.map((v) => v.version);
  const current = history.current || numbers[numbers.length - 1];
  const pick = (id, label, chosen) => el("label", {}, `${label} `,
    el("select", { id, "data-testid": id }, numbers.map((n) =>
      el("option", { value: n, selected: n === chosen }, n === current ? `${n} (current)` : n))));
  const before = numbers.length > 1 ? numbers[numbers.length - 2] : current;
  const from = pick("diff-from", "from", view.kind === "diff" ? view.from : before);
  const to = pick("diff-to", "to", view.kind === "diff" ? view.to : current);
  const compare = el("form", { class: "compare", id: "diff-form", onsubmit: (event) => {
    event.preventDefault();
    showVersionsView(model, { name: model.name, kind: "diff",
      from: from.querySelector("select").value, to: to.querySelector("select").value });
  } }, "Compare ", from, " ", to, " ",
  el("button", { type: "submit", id: "diff-open", disabled: !numbers.length }, "Show the diff"));
  const detail = el("div", { id: "version-detail", "data-testid": "version-detail" });
  root.replaceChildren(
    el("p", { "data-testid": "versions-summary" },
      `${numbers.length} version${numbers.length === 1 ? "" : "s"} · current `,
      el("strong", {}, show(current)), " · compatibility ",
      el("span", { class: "tag", "data-testid": "compatibility" }, show(history.compatibility))),
    historyTable(model, versions, current, history.compatibility),
    compare, detail);
  state.versionsModel = { model, history, detail };
  await renderDetail(model, view);
}

function historyTable(model, versions, current, mode) {
  if (!versions.length) return el("p", { class: "muted" }, "No versions recorded.");
  let previous = null;
  const rows = versions.map((v) => {
    const diff = previous === null ? "—" : viewLink(model,
      { name: model.name, kind: "diff", from: previous, to: v.version }, `from ${previous}`);
    previous = v.version;
    return el("tr", { "data-testid": "version-row", "data-version": v.version,
      class: v.version === current ? "current" : null },
    el("td", {}, viewLink(model, { name: model.name, kind: "version", version: v.version },
      v.version), v.version === current ? el("span", { class: "tag" }, "current") : null),
    el("td", { title: show(v.created_at) }, when(v.created_at)),
    el("td", {}, show(v.source)),
    el("td", { class: "num" }, show(v.change_count)),
    el("td", {}, compatibility(v.compatible, v.breaking, mode)),
    el("td", {}, diff));
  });
  return el("table", { class: "versions", "data-testid": "version-history" },
    el("thead", {}, el("tr", {}, ["version", "created", "source", "changes", "compatibility",
      "diff"].map((c) => el("th", {}, c)))),
    el("tbody", {}, rows));
}

// Show a view of the Versions tab of the model on the page (or the whole model page when the
// tab shows another model), and note it in the address bar.
async function showVersionsView(model, view) {
  const shown = state.versionsModel;
  if (!shown || shown.model.name !== model.name || !document.body.contains(shown.detail)) {
    setRoute(routeFor(view));
    await openRoute(routeFor(view));
    return;
  }
  state.versionsView = view;
  setRoute(routeFor(view));
  for (const [id, value] of [["diff-from", view.from], ["diff-to", view.to]]) {
    const select = document.getElementById(id);
    if (select && view.kind === "diff") select.value = value;
  }
  await renderDetail(model, view).catch((err) => status(err.message, true));
}

async function renderDetail(model, view) {
  const { detail } = state.versionsModel;
  if (view.kind === "history") {
    detail.replaceChildren(shareLink(view));
    return;
  }
  detail.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  try {
    const node = view.kind === "version" ? await versionDetail(model, view) : await diffDetail(model, view);
    if (state.versionsView === view) detail.replaceChildren(node, shareLink(view));
  } catch (err) {
    if (state.versionsView !== view) return;
    detail.replaceChildren(el("p", { class: "error", "data-testid": "version-error" }, err.message),
      shareLink(view));
  }
  for (const row of document.querySelectorAll("#versions [data-testid=version-row]")) {
    const chosen = view.kind === "version" ? row.dataset.version === view.version
      : view.kind === "diff" && (row.dataset.version === view.from || row.dataset.version === view.to);
    row.classList.toggle("chosen", Boolean(chosen));
  }
}

// -- one version -----------------------------------------------------------------------------
async function versionDetail(model, view) {
  const v = await api(`/api/registry/models/${enc(model.name)}/versions/${enc(view.version)}`);
  const mode = state.versionsModel.history.compatibility;
  return el("section", { "data-testid": "version-view", "data-version": v.version },
    el("h3", {}, `${v.model} ${v.version}`),
    el("p", { class: "muted" }, `created ${when(v.created_at)} · source ${show(v.source)} · ` +
      `fingerprint ${show(v.fingerprint)}`),
    el("p", {}, compatibility(v.compatible, v.breaking, mode)),
    v.changes ? el("h4", {}, "Changes from the version before") : breakingList(v.breaking),
    v.changes ? changesTable(v.changes, v.breaking, mode, "version-change",
      "The first version: nothing before it.") : null,
    el("h4", {}, "Fields"),
    schemaFields(v.fields, v.schema),
    el("details", {}, el("summary", {}, "JSON schema"), el("pre", {}, JSON.stringify(v.schema, null, 2))));
}

// The fields of a version as a table: from its schema snapshot (`fields`, the registry's own
// field specs) when the server sends it, else from its JSON schema, where a null in the type (or
// in anyOf) means nullable.
function schemaFields(fields, schema) {
  const rows = fields && Object.keys(fields).length ? Object.entries(fields).map(([name, spec]) =>
    fieldRow(name, show(spec.type), spec.required, spec.nullable, spec, ["type", "required", "nullable"]))
    : jsonSchemaRows(schema || {});
  if (!rows.length) return el("p", { class: "muted" }, "This version has no fields.");
  return el("table", { "data-testid": "version-fields" },
    el("thead", {}, el("tr", {}, ["field", "type", "required", "nullable", "default",
      "other"].map((c) => el("th", {}, c)))),
    el("tbody", {}, rows));
}

function jsonSchemaRows(schema) {
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties || {}).map(([name, spec]) => {
    const types = [];
    for (const option of spec.anyOf || spec.oneOf || [spec]) {
      const t = option.type || (option.$ref ? option.$ref.split("/").pop() : undefined);
      for (const one of [].concat(t === undefined ? [] : t)) {
        types.push(option.format && one === "string" ? `string (${option.format})` : one);
      }
    }
    const type = types.filter((t) => t !== "null").join(" | ") || "any";
    return fieldRow(name, type, required.has(name), types.includes("null"), spec,
      ["type", "anyOf", "oneOf", "title", "description", "format", "$ref"]);
  });
}

function fieldRow(name, type, required, nullable, spec, shown) {
  const other = Object.entries(spec || {}).filter(([k]) => k !== "default" && !shown.includes(k))
    .map(([k, val]) => `${k}=${show(val)}`).join(", ");
  return el("tr", { "data-field": name },
    el("td", {}, name), el("td", {}, type),
    el("td", {}, required ? "yes" : "no"), el("td", {}, nullable ? "yes" : "no"),
    el("td", {}, spec && "default" in spec ? show(spec.default) : "—"),
    el("td", {}, other || "—"));
}

// -- the diff between two versions -----------------------------------------------------------
async function diffDetail(model, view) {
  const d = await api(`/api/registry/models/${enc(model.name)}/versions/` +
    `${enc(view.from)}/diff/${enc(view.to)}`);
  return el("section", { "data-testid": "diff-view", "data-from": d.from, "data-to": d.to },
    el("h3", {}, `${d.model}: ${d.from} → ${d.to}`),
    el("p", {}, `compatibility ${show(d.compatibility)} · `,
      compatibility(d.compatible, d.breaking, d.compatibility)),
    changesTable(d.changes, d.breaking, d.compatibility, "diff-change",
      `No changes between ${d.from} and ${d.to}.`));
}

// Changes as a table: each with the modes it would break; those that break the model's mode
// (the `breaking` list) are marked.
function changesTable(changes, breakingChanges, mode, testid, empty) {
  if (!changes || !changes.length) return el("p", { class: "muted", "data-testid": `${testid}-none` }, empty);
  const breaking = new Set((breakingChanges || []).map(changeKey));
  const rows = changes.map((c) => {
    const breaks = breaking.has(changeKey(c));
    return el("tr", { "data-testid": testid, "data-kind": c.kind, "data-field": c.field,
      "data-breaking": breaks ? "true" : "false", class: breaks ? "breaking" : null },
    el("td", {}, el("span", { class: `kind kind-${String(c.kind).replace(/[^a-z]/g, "")}` }, show(c.kind))),
    el("td", {}, show(c.field)),
    el("td", {}, el("code", {}, show(c.before))),
    el("td", {}, el("code", {}, show(c.after))),
    el("td", {}, show(c.description)),
    el("td", {}, (c.breaks || []).map((m) => el("span", {
      class: m === mode && breaks ? "badge bad" : "tag" }, m)),
    breaks ? el("strong", { class: "error" }, ` breaks ${mode}`) : null));
  });
  return el("table", { class: "diff", "data-testid": `${testid}s` },
    el("thead", {}, el("tr", {}, ["change", "field", "before", "after", "description",
      "would break"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows));
}

// A change is matched with the diff's `breaking` list by what it says, not by position.
function changeKey(change) {
  if (typeof change !== "object" || change === null) return String(change);
  return JSON.stringify([change.kind, change.field, change.before, change.after]);
}

// -- shared bits -----------------------------------------------------------------------------
function compatibility(compatible, breaking, mode) {
  if (compatible === undefined || compatible === null) return el("span", { class: "tag" }, "unchecked");
  if (compatible) return el("span", { class: "badge ok", "data-compatible": "true" }, "compatible");
  const count = (breaking || []).length;
  const what = (breaking || []).map((b) => (typeof b === "object" && b !== null ? show(b.description) : show(b)));
  return el("span", { class: "badge bad", "data-compatible": "false", title: what.join("\n") || null },
    `${mode ? `breaks ${mode}` : "breaking"}${count ? ` (${count} change${count === 1 ? "" : "s"})` : ""}`);
}

function breakingList(breaking) {
  if (!breaking || !breaking.length) return null;
  return el("ul", { class: "breaking-list", "data-testid": "breaking-list" }, breaking.map((b) => el("li", {},
    typeof b === "object" && b !== null
      ? `${show(b.description || `${b.kind} ${b.field}`)}${b.breaks ? ` (breaks ${b.breaks.join(", ")})` : ""}`
      : show(b))));
}

// An ISO-8601 instant as "YYYY-MM-DD HH:MM:SS UTC" (the server's text when it is not one).
function when(value) {
  // The API's instants are UTC; one without an offset would otherwise be read as local time.
  const text = typeof value === "string" && /T[\d:.]+$/.test(value) ? `${value}Z` : value;
  const date = new Date(text);
  if (value === null || value === undefined || Number.isNaN(date.getTime())) return show(value);
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
