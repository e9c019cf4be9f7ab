// The statistics tab's pictures: per field a histogram, the quantiles p5..p95, the string
// length distribution and the top values with their counts, the same as `xinspector report`.
// Plain JavaScript with inline SVG; every value goes into the page as text (textContent or an
// attribute), never as HTML. app.js calls statsCharts() where the statistics tab renders; the
// helpers el() and show() are app.js's.
"use strict";

const STATS_SVG = "http://www.w3.org/2000/svg";
const STATS_QUANTILES = ["p5", "p25", "p50", "p75", "p95"];
// Types whose values have an order and a distance: they get quantiles and a histogram.
const STATS_MEASURED = new Set(["int", "float", "Decimal", "date", "datetime", "time", "timedelta"]);

function statsSvg(tag, attrs, ...children) {
  const node = document.createElementNS(STATS_SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function statsBound(value) {
  // Bounds are numbers, or ISO dates/datetimes for temporal fields (shortened to the minute).
  if (typeof value === "number") {
    if (Number.isInteger(value)) return value.toLocaleString("en-US");
    return Math.abs(value) >= 1e6 || (value !== 0 && Math.abs(value) < 1e-3)
      ? value.toExponential(3) : String(Number(value.toPrecision(6)));
  }
  if (typeof value === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value)) {
    return value.slice(0, 16).replace("T", " ");
  }
  return show(value);
}

// One histogram as an SVG bar chart: a <rect class="stats-bar"> per bin (not "bar": app.css
// sizes .bar, and CSS height would override the rect's own), carrying its bounds and count
// as data attributes and a <title> tooltip; the axis labels are the first and last bounds.
function statsHistogram(bins, kind, field) {
  const width = 360, height = 120, top = 14, bottom = 22;
  const max = Math.max(1, ...bins.map((b) => b.count));
  const step = width / bins.length;
  const plot = height - top - bottom;
  const bars = bins.map((b, i) => {
    const h = Math.round((b.count / max) * plot * 10) / 10;
    const label = `${statsBound(b.lower)} – ${statsBound(b.upper)}: ${b.count.toLocaleString("en-US")}`;
    return statsSvg("rect", {
      class: "stats-bar", x: (i * step + 0.5).toFixed(1), y: (top + plot - h).toFixed(1),
      width: Math.max(step - 1, 0.5).toFixed(1), height: h, "data-count": b.count,
      "data-lower": show(b.lower), "data-upper": show(b.upper),
    }, statsSvg("title", {}, label));
  });
  const svg = statsSvg("svg", {
    class: "histogram", viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `${kind} of ${field}`, "data-kind": kind,
  },
  statsSvg("text", { x: 0, y: 10, class: "axis" }, `max ${max.toLocaleString("en-US")}`),
  ...bars,
  statsSvg("line", { x1: 0, x2: width, y1: top + plot + 0.5, y2: top + plot + 0.5, class: "baseline" }),
  statsSvg("text", { x: 0, y: height - 6, class: "axis" }, statsBound(bins[0].lower)),
  statsSvg("text", { x: width, y: height - 6, class: "axis", "text-anchor": "end" },
    statsBound(bins[bins.length - 1].upper)));
  return svg;
}

function statsNotComputed(what) {
  return el("p", { class: "muted not-computed" }, `${what}: not computed`);
}

function statsQuantiles(s) {
  if (!s.quantiles) return statsNotComputed("Quantiles");
  return el("table", { class: "quantiles" },
    s.quantiles_exact === false ? el("caption", { class: "muted" }, "approximate") : null,
    el("thead", {}, el("tr", {}, STATS_QUANTILES.map((q) => el("th", {}, q)))),
    el("tbody", {}, el("tr", {}, STATS_QUANTILES.map((q) =>
      el("td", { "data-quantile": q }, statsBound(s.quantiles[q]))))));
}

function statsShare(ratio) {
  // As the HTML report writes it: a share too small for one decimal is "<0.1%", not "0.0%".
  return ratio > 0 && ratio < 0.001 ? "<0.1%" : `${(ratio * 100).toFixed(1)}%`;
}

// A value as the HTML report writes it: nulls, empty and blank strings named, not invisible.
function statsValue(value) {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string" && !value.trim()) {
    return value ? `(${value.length} blank character(s))` : "(empty string)";
  }
  return show(value);
}

function statsTopValues(s) {
  const top = s.top_values || [];
  if (!top.length) return null;
  const seen = Math.max(1, (s.count || 0) - (s.null_count || 0));
  return el("table", { class: "top-values" },
    s.top_values_exact === false ? el("caption", { class: "muted" }, "approximate counts") : null,
    el("thead", {}, el("tr", {}, el("th", {}, "value"), el("th", {}, "count"), el("th", {}, "share"))),
    el("tbody", {}, top.map((t) => el("tr", { "data-count": t.count },
      el("td", { class: "value" }, statsValue(t.value)),
      el("td", {}, t.count.toLocaleString("en-US")),
      el("td", {}, el("span", { class: "bar", style: `width:${Math.round((t.count / seen) * 80)}px` }),
        ` ${statsShare(t.count / seen)}`)))));
}

function statsField(name, s) {
  if (s === null || typeof s !== "object") {
    // The server masks the statistics of secret-like fields (password, token...) whole.
    return el("section", { class: "field-chart", "data-field": name, "data-masked": "" },
      el("h4", {}, name), el("p", { class: "muted" }, "Statistics masked: the field looks secret."));
  }
  const types = String(s.type || "").split("|").map((t) => t.trim()).filter((t) => t !== "None");
  const numeric = types.length > 0 && types.every((t) => STATS_MEASURED.has(t));
  const text = types.includes("str");
  return el("section", { class: "field-chart", "data-field": name },
    el("h4", {}, name, " ", el("span", { class: "tag" }, show(s.type))),
    numeric || s.quantiles ? statsQuantiles(s) : null,
    s.histogram && s.histogram.length
      ? el("figure", { "data-chart": "histogram" }, statsHistogram(s.histogram, "histogram", name))
      : numeric ? statsNotComputed("Histogram") : null,
    s.length_histogram && s.length_histogram.length
      ? el("figure", { "data-chart": "length_histogram" },
        el("figcaption", { class: "muted" }, "string length (characters)"),
        statsHistogram(s.length_histogram, "length histogram", name))
      : text ? statsNotComputed("String lengths") : null,
    statsTopValues(s));
}

// The charts of every field of an enrichment's statistics (null when there are none).
function statsCharts(statistics) {
  const fields = Object.entries((statistics && statistics.field_statistics) || {});
  if (!fields.length) return null;
  return el("div", { id: "stats-charts", class: "stats-charts" },
    fields.map(([name, s]) => statsField(name, s)));
}
