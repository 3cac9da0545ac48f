"""The run's reports beyond the terminal: JSON, a Markdown summary, HTML and JUnit XML.

All of them render one plain document (:func:`document`) built from the matrix and the verdict,
so they say the same thing as the terminal and the exit code. The HTML report is one file with
its style and script inline and fetches nothing.
"""

from __future__ import annotations

import html
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from conformance import matrix as matrix_module
from conformance.matrix import COLUMN_DESCRIPTIONS, COLUMNS, Matrix
from conformance.verdict import EXIT_CODES, Verdict

TOOL = "zitadel-conformance"
SCHEMA_VERSION = 1


def document(
    results: Matrix,
    verdict: Verdict,
    *,
    target: str,
    header: str,
    coverage: dict[str, dict[str, Any]],
    duration: float,
) -> dict[str, Any]:
    """Everything the reports show, as plain data (the JSON report is this document)."""
    cells: dict[str, dict[str, Any]] = {}
    failures = []
    for rpc in results.operations:
        row = cells.setdefault(rpc, {})
        for column in COLUMNS:
            cell = results.cell(rpc, column)
            entry: dict[str, Any] = {"state": cell.state, "evaluations": cell.evaluations}
            if cell.failures:
                entry["failures"] = []
                for rule, summary in cell.failures:
                    failure = {
                        "operation": rpc,
                        "column": column,
                        "rule": rule,
                        "summary": summary,
                        "count": results.count_of(rpc, column, rule, summary),
                        "example": results.example(rpc, column, rule, summary),
                    }
                    entry["failures"].append({k: failure[k] for k in ("rule", "summary", "count")})
                    failures.append(failure)
            if cell.errors:
                entry["errors"] = list(cell.errors)
            if cell.skips and cell.state in ("skip", "pass*"):
                entry["skipped"] = list(cell.skips)
            if cell.state == "n/a":
                entry["not_applicable"] = cell.not_applicable
            row[column] = entry
    return {
        "tool": TOOL,
        "schema_version": SCHEMA_VERSION,
        "target": target,
        "header": header,
        "duration_seconds": round(duration, 1),
        "verdict": {
            "label": verdict.label,
            "conforms": verdict.conforms,
            "exit_code": verdict.exit_code,
            "exit_meaning": EXIT_CODES[verdict.exit_code],
            "reasons": list(verdict.reasons),
        },
        "operations": list(results.operations),
        "abbreviations": {rpc: matrix_module.abbreviate(rpc) for rpc in results.operations},
        "columns": {column: COLUMN_DESCRIPTIONS[column] for column in COLUMNS},
        "matrix": cells,
        "failures": failures,
        "coverage": coverage,
        "lags_seconds": {rpc: results.max_lag(rpc) for rpc in results.lags},
        "notes": list(results.notes),
    }


def write_json(path: Path, doc: dict[str, Any]) -> None:
    _write(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


# -- Markdown ----------------------------------------------------------------------------------

_ICONS = {"pass": "✅ pass", "pass*": "✅ pass*", "FAIL": "❌ FAIL", "ERROR": "❌ ERROR"}


def markdown(doc: dict[str, Any]) -> str:
    """A CI job summary: verdict, matrix, grouped failures, coverage gaps."""
    verdict = doc["verdict"]
    mark = "✅" if verdict["conforms"] else "❌"
    lines = [f"## {mark} ZITADEL lifecycle conformance: {verdict['label']}", ""]
    lines.append(f"Target `{doc['target']}`, exit code {verdict['exit_code']} "
                 f"({verdict['exit_meaning']}), {doc['duration_seconds']} s.")  # fmt: skip
    lines += [f"- {reason}" for reason in verdict["reasons"]]
    abbreviations = doc["abbreviations"]
    lines += ["", "| check | " + " | ".join(abbreviations[op] for op in doc["operations"]) + " |"]
    lines.append("|---" * (len(doc["operations"]) + 1) + "|")
    for column in doc["columns"]:
        states = [doc["matrix"][op][column]["state"] for op in doc["operations"]]
        lines.append(f"| {column} | " + " | ".join(_ICONS.get(s, s) for s in states) + " |")
    lines.append("")
    lines.append(", ".join(f"{short} = {op}" for op, short in abbreviations.items()))
    if doc["failures"]:
        lines += ["", f"### Failures ({len(doc['failures'])})", ""]
        for failure in doc["failures"][:50]:
            count = f" ({failure['count']} times)" if failure["count"] > 1 else ""
            lines.append(
                f"- **{failure['operation']}** `{failure['column']}` [{failure['rule']}] "
                f"{_md(failure['summary'])}{count}"
            )
        if len(doc["failures"]) > 50:
            lines.append(f"- ... {len(doc['failures']) - 50} more in the JSON or HTML report")
    missing = [
        f"{rpc}: {outcome}"
        for rpc, row in doc["coverage"].items()
        for outcome, count in row["documented"].items()
        if not count
    ]
    if missing:
        lines += ["", "### Documented outcomes never seen", ""]
        lines += [f"- {item}" for item in missing]
    if doc["notes"]:
        lines += ["", "### Notes", ""] + [f"- {_md(note)}" for note in doc["notes"]]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_summary(path: Path | None, doc: dict[str, Any]) -> Path | None:
    """The Markdown summary to ``path``, else appended to ``$GITHUB_STEP_SUMMARY`` if set."""
    text = markdown(doc)
    if path is not None:
        _write(path, text)
        return path
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(text)
        return Path(step_summary)
    return None


# -- HTML --------------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} .verdict{padding:.5em 1em;border-radius:4px;display:inline-block}
.ok{background:#d9f2d9} .bad{background:#f8d7d7}
table{border-collapse:collapse;margin:1em 0} th,td{border:1px solid #ccc;padding:3px 8px}
td[data-state=pass],td[data-state="pass*"]{background:#e6f6e6}
td[data-state=FAIL],td[data-state=ERROR]{background:#f8d7d7;font-weight:bold}
td[data-state=skip]{background:#fff4d6} td[data-state="n/a"],td[data-state="-"]{color:#888}
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap}
details{margin:.5em 0}
"""

# Builds the matrix and the failures from the embedded document: the page is the data plus
# this script, and marks itself rendered when it got through.
_SCRIPT = """
(function () {
  var doc = JSON.parse(document.getElementById("report-data").textContent);
  var table = document.getElementById("matrix");
  var head = table.createTHead().insertRow();
  head.appendChild(document.createElement("th")).textContent = "check";
  doc.operations.forEach(function (op) {
    var th = head.appendChild(document.createElement("th"));
    th.textContent = doc.abbreviations[op];
    th.title = op;
  });
  var body = table.createTBody();
  Object.keys(doc.columns).forEach(function (column) {
    var row = body.insertRow();
    var th = row.appendChild(document.createElement("th"));
    th.textContent = column;
    th.title = doc.columns[column];
    doc.operations.forEach(function (op) {
      var cell = doc.matrix[op][column];
      var td = row.insertCell();
      td.textContent = cell.state;
      td.setAttribute("data-state", cell.state);
      td.setAttribute("data-cell", op + "/" + column);
      var why = (cell.skipped || cell.errors || []).concat(
        (cell.failures || []).map(function (f) { return "[" + f.rule + "] " + f.summary; }));
      if (cell.not_applicable) { why.push(cell.not_applicable); }
      if (why.length) { td.title = why.join("\\n"); }
    });
  });
  var list = document.getElementById("failures");
  doc.failures.forEach(function (failure) {
    var item = list.appendChild(document.createElement("details"));
    var summary = item.appendChild(document.createElement("summary"));
    summary.textContent = failure.operation + " " + failure.column + " [" + failure.rule + "] " +
      failure.summary + (failure.count > 1 ? " (" + failure.count + " times)" : "");
    if (failure.example) {
      var pre = item.appendChild(document.createElement("pre"));
      pre.textContent = failure.example.message + "\\n\\n" +
        JSON.stringify({request: failure.example.request, response: failure.example.response},
                       null, 2);
    }
  });
  if (!doc.failures.length) { list.textContent = "none"; }
  var coverage = document.getElementById("coverage");
  var top = coverage.createTHead().insertRow();
  ["operation", "documented outcome", "answered"].forEach(function (name) {
    top.appendChild(document.createElement("th")).textContent = name;
  });
  var rows = coverage.createTBody();
  Object.keys(doc.coverage).forEach(function (op) {
    var documented = doc.coverage[op].documented;
    Object.keys(documented).forEach(function (outcome) {
      var row = rows.insertRow();
      row.insertCell().textContent = op;
      row.insertCell().textContent = outcome;
      var count = row.insertCell();
      count.textContent = documented[outcome] ? documented[outcome] + " times" : "never";
      count.setAttribute("data-state", documented[outcome] ? "pass" : "skip");
    });
  });
  var drawn = table.querySelectorAll("td[data-state]").length;
  document.body.setAttribute("data-rendered", String(drawn));
})();
"""


def html_report(doc: dict[str, Any]) -> str:
    verdict = doc["verdict"]
    data = json.dumps(doc, ensure_ascii=False).replace("</", "<\\/")
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in verdict["reasons"])
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in doc["notes"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{TOOL}: {html.escape(verdict["label"])}</title>
<style>{_STYLE}</style></head>
<body data-rendered="no">
<h1>ZITADEL lifecycle conformance</h1>
<p class="verdict {"ok" if verdict["conforms"] else "bad"}" id="verdict">verdict:
{html.escape(verdict["label"])} (exit code {verdict["exit_code"]})</p>
<ul>{reasons}</ul>
<pre>{html.escape(doc["header"])}</pre>
<noscript>The matrix is drawn by the page's script; the same data is in the JSON report.</noscript>
<table id="matrix"></table>
<h2>Failures</h2><div id="failures"></div>
<h2>Documented outcomes seen</h2><table id="coverage"></table>
<h2>Notes</h2><ul>{notes}</ul>
<script type="application/json" id="report-data">{data}</script>
<script>{_SCRIPT}</script>
</body></html>
"""


def write_html(path: Path, doc: dict[str, Any]) -> None:
    _write(path, html_report(doc))


# -- JUnit -------------------------------------------------------------------------------------


def junit(doc: dict[str, Any]) -> bytes:
    """One test case per matrix cell (class = operation, name = check) and one for the verdict,
    so the file's failures agree with the exit code."""
    suite = ET.Element("testsuite", name=TOOL)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for rpc in doc["operations"]:
        for column in doc["columns"]:
            cell = doc["matrix"][rpc][column]
            case = ET.SubElement(suite, "testcase", classname=rpc, name=column)
            counts["tests"] += 1
            state = cell["state"]
            if state == "FAIL":
                counts["failures"] += 1
                lines = [f"[{f['rule']}] {f['summary']}" for f in cell["failures"]]
                failure = ET.SubElement(case, "failure", message=lines[0])
                failure.text = "\n".join(lines)
            elif state == "ERROR":
                counts["errors"] += 1
                ET.SubElement(case, "error", message=cell["errors"][0]).text = "\n".join(
                    cell["errors"]
                )
            elif state in ("skip", "n/a", "-"):
                counts["skipped"] += 1
                reason = {
                    "skip": "; ".join(cell.get("skipped", [])),
                    "n/a": f"not applicable: {cell.get('not_applicable')}",
                    "-": "not run in this session (deselected)",
                }[state]
                ET.SubElement(case, "skipped", message=reason)
            elif state == "pass*":
                ET.SubElement(case, "system-out").text = "partly skipped: " + "; ".join(
                    cell.get("skipped", [])
                )
    verdict = doc["verdict"]
    case = ET.SubElement(suite, "testcase", classname=TOOL, name="verdict")
    counts["tests"] += 1
    if not verdict["conforms"]:
        counts["failures"] += 1
        message = f"{verdict['label']}: " + "; ".join(verdict["reasons"])
        ET.SubElement(case, "failure", message=message).text = message
    else:
        ET.SubElement(case, "system-out").text = verdict["label"]
    for name, value in counts.items():
        suite.set(name, str(value))
    suite.set("time", str(doc["duration_seconds"]))
    root = ET.Element("testsuites", name=TOOL)
    root.append(suite)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_junit(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(junit(doc))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
