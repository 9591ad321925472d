"""What the project's HTML pages share: a Content-Security-Policy that admits only their own scripts,
JSON that is safe inside a script block, and the script that saves a Blob as a download."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

SAVE_SCRIPT = """
function kgSave(name, blob) {
  "use strict";
  var a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
"""
"""Defines kgSave(name, blob); pages include it as one of their scripts."""


def policy(scripts: list[str], *, connect_self: bool = False) -> str:
    """Only the page's own scripts run (by hash, so neither an injected script nor an inline event
    handler would), nothing is loaded from anywhere; images only from data: and blob: URLs (the PNG
    export draws through them); with `connect_self`, requests to the page's own server."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts)
    connect = "; connect-src 'self'" if connect_self else ""
    return f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data: blob:{connect}"


def script_json(document: Any) -> str:
    """JSON safe inside a `<script>` block: no `<`, `>` or `&` can end it or open a comment."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
