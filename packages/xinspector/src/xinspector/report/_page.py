"""The page around the columns: inline style, the one script, the head and the summary.

The page forbids itself every network fetch with a Content-Security-Policy (``default-src
'none'``), and only the script below runs (its SHA-256 is the one ``script-src`` allows), so a
value that slipped past escaping could neither load nor execute anything.
"""

from __future__ import annotations

import base64
import hashlib

__all__ = ["SCRIPT", "STYLE", "csp"]

STYLE = """
:root { --fg: #1d232a; --muted: #5b6675; --line: #d8dee6; --bg: #f6f8fa; --accent: #1f6feb;
  --warn: #b26a00; --info: #1f6feb; --card: #fff; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9aa7b4; --line: #30363d; --bg: #161b22; --accent: #4493f8;
    --warn: #d29922; --info: #4493f8; --card: #0d1117; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--card); }
header, main, #summary, footer { padding: .6rem 1.2rem; }
header { border-bottom: 1px solid var(--line); background: var(--bg); }
h1 { margin: 0 0 .2rem; font-size: 1.4rem; overflow-wrap: anywhere; }
h2 { margin: 0; font-size: 1.1rem; overflow-wrap: anywhere; }
.meta, .muted, footer { color: var(--muted); }
table { border-collapse: collapse; margin: .4rem 0; font-size: .9rem; }
th, td { border: 1px solid var(--line); padding: .2rem .45rem; text-align: left;
  vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.value { max-width: 22rem; overflow-wrap: anywhere; white-space: pre-wrap; }
.null, .empty, .not-computed { color: var(--muted); font-style: italic; }
.tag { display: inline-block; border: 1px solid var(--line); border-radius: 10px;
  padding: 0 .45rem; font-size: .8rem; background: var(--bg); margin-left: .3rem; }
.fields { display: grid; grid-template-columns: repeat(auto-fill, minmax(26rem, 1fr));
  gap: 1rem; }
section.field { border: 1px solid var(--line); border-radius: 8px; padding: .7rem .9rem;
  min-width: 0; }
section.field[hidden] { display: none; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .8rem;
  margin: .5rem 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
figure { margin: .5rem 0; } figcaption { color: var(--muted); font-size: .85rem; }
svg.histogram { width: 100%; max-width: 26rem; height: auto; display: block; }
svg.histogram rect.bar { fill: var(--accent); } svg.histogram rect.bar:hover { fill: var(--fg); }
svg.histogram .axis { font-size: 10px; fill: var(--muted); }
svg.histogram .baseline { stroke: var(--line); }
.bar-h { display: inline-block; height: .55rem; background: var(--accent);
  vertical-align: middle; margin-right: .3rem; }
ul.alerts { list-style: none; padding: 0; margin: .4rem 0; }
ul.alerts li { border-left: 3px solid var(--info); padding: .1rem .5rem; margin: .2rem 0;
  overflow-wrap: anywhere; }
ul.alerts li.warning { border-color: var(--warn); }
.sev { font-weight: 600; font-size: .8rem; text-transform: uppercase; margin-right: .3rem; }
li.warning .sev { color: var(--warn); } li.info .sev { color: var(--info); }
#filter { padding: .35rem .6rem; border: 1px solid var(--line); border-radius: 6px;
  min-width: 18rem; background: var(--card); color: var(--fg); }
a { color: var(--accent); }
@media print { #filter { display: none; } section.field { break-inside: avoid; } }
"""

# Filters the columns by name as one types; the page works the same without it.
SCRIPT = """
"use strict";
document.getElementById("filter").addEventListener("input", function (event) {
  var needle = event.target.value.trim().toLowerCase();
  var shown = 0;
  document.querySelectorAll("section.field").forEach(function (section) {
    var match = !needle || section.dataset.field.toLowerCase().indexOf(needle) !== -1;
    section.hidden = !match;
    if (match) shown += 1;
  });
  document.getElementById("filter-count").textContent = needle ? shown + " shown" : "";
});
"""


def csp() -> str:
    """The page's Content-Security-Policy: no fetch of any kind, inline style, this script."""
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
