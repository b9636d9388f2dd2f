"""The live-reload client of ``sitegen serve``, and how it gets into pages.

The preview server injects one tag before ``</body>`` of every HTML response
(never into a file under ``_site/``)::

    <script src="{base}__sitegen__/livereload.js" data-sitegen-build="ID"
            data-sitegen-error="{JSON of the current build error, if any}"></script>

The script is external and same-origin, and it talks to the server through a
same-origin ``EventSource`` on ``{base}__sitegen__/events?page=<location.pathname>``,
so the pages' own Content-Security-Policy (``script-src 'self'; connect-src 'self'``)
allows it unchanged.  ``data-sitegen-build`` is the key of the page shown (its
data, template closure and config digest: what the build renders it from).
Server-sent events, each for this tab (see :mod:`sitegen.preview.events`):

* ``hello`` -- on every (re)connect: ``{"build": KEY, "error": null | {...}}``.
  A page whose key differs from the one it was served with reloads (it missed
  a change while its tab was hidden).
* ``reload`` -- the page changed: ``{"build": KEY, "css": bool}``; ``css``
  means only stylesheets changed, so the page swaps its ``<link rel=stylesheet>``
  elements (cache-busting query) instead of reloading.
* ``ok`` -- an error it showed is fixed and this page did not change: the
  overlay goes, the page stays.
* ``error`` -- a rebuild failed: ``{"message", "file", "line", "hint", "text"}``;
  the page shows a fixed overlay (built with ``textContent``, never
  ``innerHTML``) while the last good site stays served.

A hidden tab closes its event stream and reconnects when shown again, so many
open preview tabs never exhaust the browser's six connections per host.
"""

from __future__ import annotations

import html
import json

PREFIX = "__sitegen__/"

LIVERELOAD_JS = r"""/* sitegen serve: live reload and build-error overlay. Served by the preview
   server only; never part of the built site. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.EventSource || !window.JSON) return;
  var base = new URL(me.src, location.href).pathname.replace(/__sitegen__\/livereload\.js$/, "");
  var build = me.getAttribute("data-sitegen-build") || "";
  var source = null;
  var overlay = null;

  function parse(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  // CSSOM property writes are allowed by the pages' CSP (style attributes are not).
  function styled(tag, styles) {
    var el = document.createElement(tag);
    for (var k in styles) el.style[k] = styles[k];
    return el;
  }

  function hideError() {
    if (overlay) { overlay.remove(); overlay = null; }
  }

  function showError(err) {
    hideError();
    overlay = styled("div", {
      position: "fixed", left: "0", right: "0", bottom: "0", maxHeight: "60vh", overflow: "auto",
      zIndex: "2147483647", background: "#2b0b0b", color: "#fff", borderTop: "4px solid #e5484d",
      padding: "12px 16px", font: "14px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
      boxShadow: "0 -4px 24px rgba(0,0,0,.4)", textAlign: "left"
    });
    overlay.id = "sitegen-error-overlay";
    overlay.setAttribute("role", "alert");
    var close = styled("button", {
      float: "right", background: "transparent", color: "#fff", border: "1px solid #fff8",
      borderRadius: "4px", font: "inherit", cursor: "pointer", padding: "0 8px"
    });
    close.type = "button";
    close.textContent = "\u00d7";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", hideError);
    var title = styled("strong", {display: "block", color: "#ff9592", marginBottom: "4px"});
    title.textContent = "sitegen: the build failed \u2014 showing the last good site until it is fixed";
    overlay.appendChild(close);
    overlay.appendChild(title);
    if (err.file) {
      var where = styled("div", {color: "#ffd1d1", marginBottom: "4px"});
      where.className = "sitegen-error-location";
      where.textContent = err.file + (err.line ? ":" + err.line : "");
      overlay.appendChild(where);
    }
    var text = styled("pre", {margin: "0", whiteSpace: "pre-wrap", font: "inherit", color: "#fff"});
    text.className = "sitegen-error-message";
    text.textContent = (err.message || err.text || "unknown error") + (err.hint ? "\n" + err.hint : "");
    overlay.appendChild(text);
    (document.body || document.documentElement).appendChild(overlay);
  }

  function swapStylesheets() {
    var links = document.querySelectorAll('link[rel~="stylesheet"][href]');
    Array.prototype.forEach.call(links, function (link) {
      var url = new URL(link.href, location.href);
      if (url.origin !== location.origin) return;
      url.searchParams.set("sitegen-reload", String(Date.now()));
      var next = link.cloneNode(false);
      next.href = url.href;
      var done = function () { link.remove(); };
      next.addEventListener("load", done);
      next.addEventListener("error", done);
      link.after(next);
    });
  }

  function connect() {
    if (source) return;
    source = new EventSource(base + "__sitegen__/events?page=" + encodeURIComponent(location.pathname));
    source.addEventListener("hello", function (e) {
      var d = parse(e.data);
      if (!d) return;
      if (d.error) { showError(d.error); return; }
      hideError();
      if (build && d.build && d.build !== build) location.reload();
    });
    source.addEventListener("reload", function (e) {
      var d = parse(e.data) || {};
      hideError();
      if (d.css) { build = d.build || build; swapStylesheets(); }
      else location.reload();
    });
    source.addEventListener("ok", function () { hideError(); });
    source.addEventListener("error", function (e) {
      if (typeof e.data !== "string") return;   // a dropped connection: EventSource retries by itself
      var d = parse(e.data);
      if (d) showError(d);
    });
  }

  function disconnect() {
    if (source) { source.close(); source = null; }
  }

  var initial = me.getAttribute("data-sitegen-error");
  if (initial) {
    var err = parse(initial);
    if (err) showError(err);
  }
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) disconnect(); else connect();
  });
  window.addEventListener("pagehide", disconnect);
  window.addEventListener("pageshow", function () { if (!document.hidden) connect(); });
  if (!document.hidden) connect();
})();
"""


def script_tag(base: str, build_id: str, error: dict | None) -> bytes:
    """The ``<script>`` element injected into served HTML (attribute values escaped)."""
    attrs = [f'src="{html.escape(base + PREFIX)}livereload.js"',
             f'data-sitegen-build="{html.escape(build_id, quote=True)}"']
    if error:
        attrs.append(f'data-sitegen-error="{html.escape(json.dumps(error), quote=True)}"')
    return f"<script {' '.join(attrs)}></script>".encode()


def inject(page: bytes, tag: bytes) -> bytes:
    """Insert ``tag`` before the last ``</body>`` (or at the end when there is none)."""
    at = page.lower().rfind(b"</body>")
    if at < 0:
        return page + tag
    return page[:at] + tag + page[at:]
