"""The SPARQL editor on `kg serve`'s front page: write or pick a query, run it, read the results as a
table, download them. It works offline: the script is the page's own (allowed by its hash in the
page's Content-Security-Policy), queries go only to this server's `/sparql`, and results enter the
page only as text.

Highlighting is a coloured copy of the text drawn under a transparent textarea, so typing, selection,
undo and screen readers behave as in any text box; the project prefixes are predeclared by the
server, so a query needs no PREFIX lines.
"""

from __future__ import annotations

import html

from kg.page import SAVE_SCRIPT, script_json
from kg.query import named_queries

STARTER = """SELECT ?product ?label ?target WHERE {
  ?product a tkg:Product ; rdfs:label ?label ; tkg:targetAntigen/rdfs:label ?target .
}
ORDER BY ?label
LIMIT 20"""


def editor_html() -> tuple[str, list[str]]:
    """The editor section and the scripts it needs (for the page's policy)."""
    esc = html.escape
    examples = {q.name: q.text for q in named_queries().values()}
    options = "".join(f'<option value="{esc(name)}">{esc(name)}</option>' for name in examples)
    data = script_json(examples)
    section = f"""<section id="kg-editor" aria-label="Query editor"><h2>Query</h2>
<p><label>Start from a named query <select id="kg-example"><option value="">(the example below)</option>{options}</select></label></p>
<div class="kg-code"><pre id="kg-highlight" aria-hidden="true"></pre><textarea id="kg-query" spellcheck="false" aria-label="SPARQL query" rows="10">{esc(STARTER)}</textarea></div>
<p><button type="button" id="kg-run">Run</button> (Ctrl+Enter)
<button type="button" id="kg-csv">Download CSV</button> <button type="button" id="kg-json">Download JSON</button>
<span id="kg-status" aria-live="polite"></span></p><div id="kg-results"></div></section>
<script type="application/json" id="kg-examples">{data}</script>
<script>{SAVE_SCRIPT}</script><script>{EDITOR_SCRIPT}</script>"""
    return section, [SAVE_SCRIPT, EDITOR_SCRIPT]


EDITOR_STYLE = """
.kg-code { position: relative; }
.kg-code textarea, .kg-code pre { font: 13px/1.45 ui-monospace, monospace; padding: .5rem; margin: 0; border: 1px solid #c9d1d9;
  white-space: pre-wrap; overflow-wrap: anywhere; box-sizing: border-box; width: 100%; min-height: 12rem; tab-size: 2; }
.kg-code pre { position: absolute; inset: 0; pointer-events: none; overflow: hidden; background: #ffffff; border-color: transparent; }
.kg-code textarea { position: relative; background: transparent; color: transparent; caret-color: #1b1f24; resize: vertical; }
.kg-kw { color: #8250df; font-weight: 600; } .kg-var { color: #0550ae; } .kg-iri { color: #116329; }
.kg-pn { color: #0a3069; } .kg-str { color: #953800; } .kg-num { color: #cf222e; } .kg-com { color: #6e7781; font-style: italic; }
#kg-results { overflow: auto; max-height: 32rem; margin-top: .5rem; }
#kg-results table { border-collapse: collapse; font-size: .85rem; }
#kg-results th, #kg-results td { border: 1px solid #d0d7de; padding: .2rem .4rem; text-align: left; vertical-align: top; }
#kg-results th { background: #f0f3f6; position: sticky; top: 0; }
#kg-status.kg-error { color: #cf222e; }
"""

EDITOR_SCRIPT = """
(function () {
  "use strict";
  var query = document.getElementById("kg-query");
  var shade = document.getElementById("kg-highlight");
  var status = document.getElementById("kg-status");
  var results = document.getElementById("kg-results");
  var examples = JSON.parse(document.getElementById("kg-examples").textContent);
  var state = {ready: false, runs: 0};
  window.kgEditor = state;
  var token = /(#[^\\n]*)|("(?:[^"\\\\\\n]|\\\\.)*"|'(?:[^'\\\\\\n]|\\\\.)*')|(<[^<>\\s]*>)|([?$][A-Za-z_][\\w]*)|([A-Za-z][\\w-]*:[\\w.-]*|:[\\w-]+)|(\\b\\d+(?:\\.\\d+)?\\b)|(\\b(?:SELECT|CONSTRUCT|DESCRIBE|ASK|WHERE|FILTER|OPTIONAL|UNION|MINUS|GRAPH|BIND|VALUES|GROUP|BY|ORDER|ASC|DESC|LIMIT|OFFSET|HAVING|DISTINCT|REDUCED|AS|FROM|NAMED|NOT|EXISTS|IN|COUNT|SUM|MIN|MAX|AVG|SAMPLE|GROUP_CONCAT|SEPARATOR|STR|LANG|DATATYPE|BOUND|IF|COALESCE|REGEX|CONTAINS|STRSTARTS|LCASE|UCASE|a|true|false)\\b)/gi;
  var kinds = [null, "kg-com", "kg-str", "kg-iri", "kg-var", "kg-pn", "kg-num", "kg-kw"];

  function paint() {
    var text = query.value, at = 0, match;
    shade.textContent = "";
    token.lastIndex = 0;
    while ((match = token.exec(text)) !== null) {
      if (match.index > at) { shade.appendChild(document.createTextNode(text.slice(at, match.index))); }
      var span = document.createElement("span");
      for (var i = 1; i < kinds.length; i++) { if (match[i] !== undefined) { span.className = kinds[i]; break; } }
      span.textContent = match[0];
      shade.appendChild(span);
      at = match.index + match[0].length;
      if (match[0].length === 0) { token.lastIndex++; }
    }
    shade.appendChild(document.createTextNode(text.slice(at) + "\\n"));
    shade.scrollTop = query.scrollTop;
  }
  function say(text, error) { status.textContent = text; status.className = error ? "kg-error" : ""; }
  function table(document_) {
    results.textContent = "";
    if (typeof document_.boolean === "boolean") { results.appendChild(document.createTextNode(String(document_.boolean))); return 1; }
    var vars = document_.head.vars, rows = document_.results.bindings;
    var t = document.createElement("table"), head = t.createTHead().insertRow();
    vars.forEach(function (v) { var th = document.createElement("th"); th.textContent = v; head.appendChild(th); });
    var body = t.createTBody();
    rows.forEach(function (row) {
      var tr = body.insertRow();
      vars.forEach(function (v) { tr.insertCell().textContent = row[v] ? row[v].value : ""; });
    });
    results.appendChild(t);
    return rows.length;
  }
  function ask(accept) {
    return fetch("sparql", {method: "POST", headers: {"Content-Type": "application/sparql-query", "Accept": accept},
                            body: query.value});
  }
  function run() {
    say("Running…");
    var started = performance.now();
    ask("application/sparql-results+json, text/turtle;q=0.5").then(function (response) {
      return response.text().then(function (text) { return [response, text]; });
    }).then(function (answer) {
      var response = answer[0], text = answer[1];
      state.runs++;
      if (!response.ok) { results.textContent = ""; say(text.trim() || response.statusText, true); return; }
      if ((response.headers.get("Content-Type") || "").indexOf("json") >= 0) {
        var count = table(JSON.parse(text));
        say(count + " result(s) in " + Math.round(performance.now() - started) + " ms");
      } else {
        var pre = document.createElement("pre");
        pre.textContent = text;
        results.textContent = "";
        results.appendChild(pre);
        say("graph in " + Math.round(performance.now() - started) + " ms");
      }
    }).catch(function (error) { say(String(error), true); });
  }
  function download(accept, name) {
    ask(accept).then(function (response) {
      if (!response.ok) { return response.text().then(function (text) { say(text, true); }); }
      return response.blob().then(function (blob) { kgSave(name, blob); });
    });
  }
  query.addEventListener("input", paint);
  query.addEventListener("scroll", function () { shade.scrollTop = query.scrollTop; });
  query.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); run(); }
  });
  document.getElementById("kg-example").addEventListener("change", function (event) {
    if (event.target.value) { query.value = examples[event.target.value]; paint(); }
  });
  document.getElementById("kg-run").addEventListener("click", run);
  document.getElementById("kg-csv").addEventListener("click", function () { download("text/csv", "results.csv"); });
  document.getElementById("kg-json").addEventListener("click", function () {
    download("application/sparql-results+json", "results.json");
  });
  paint();
  state.ready = true;
})();
"""
