/* sitegen: the one script every page loads (deferred, no inline script anywhere).
 *
 * 1. Keyboard navigation between days / pages: ArrowLeft / ArrowRight follow
 *    <link rel="prev"> / <link rel="next">, but never while the user is typing,
 *    using a modifier, or inside an interactive widget (screen readers keep their keys).
 * 2. Search on demand: lunr and search.js (the form's data-lunr / data-search-js) are
 *    injected the first time the reader focuses the search box or presses "/", and at
 *    once on the search page.  No page pays for search code nobody used.
 * 3. The day view ("Titles and abstracts" / "Titles only") the reader last chose is
 *    remembered (localStorage) and links to day pages lead to that view.  Without
 *    JavaScript both views are plain pages: days/<date>/ and days/<date>/compact/.
 */
(function () {
  "use strict";
  var doc = document;
  var VIEW_KEY = "sitegen.dayView";
  var DAY_URL = /(\/days\/\d{4}-\d{2}-\d{2}\/)(index\.html)?([?#].*)?$/;

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return el.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" ||
      el.closest('[role="listbox"],[role="combobox"],[role="application"],[role="slider"]') !== null;
  }

  doc.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    if (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight") return;
    if (typing(doc.activeElement)) return;
    var rel = ev.key === "ArrowLeft" ? "prev" : "next";
    var link = doc.querySelector('link[rel="' + rel + '"]');
    if (link && link.href) {
      ev.preventDefault();
      window.location.href = link.href;
    }
  });

  // ---- search, loaded on first use
  var input = doc.getElementById("search-input");
  var form = input && input.form;
  var requested = false;

  function loadSearch() {
    if (requested || !form) return;
    requested = true;
    [form.getAttribute("data-lunr"), form.getAttribute("data-search-js")].forEach(function (src) {
      if (!src) return;
      var s = doc.createElement("script");
      s.src = src;
      s.async = false;            // run in order: lunr, then search.js
      doc.head.appendChild(s);
    });
  }

  if (input) {
    // The box is a combobox once scripts run (search.js fills its listbox); without them a text field.
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-haspopup", "listbox");
    input.setAttribute("aria-controls", "search-dropdown");
    input.setAttribute("aria-expanded", "false");
    input.addEventListener("focus", loadSearch);
    input.addEventListener("pointerdown", loadSearch);
    doc.addEventListener("keydown", function (ev) {
      if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented) return;
      var t = ev.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      ev.preventDefault();
      input.focus();
      input.select();
    });
    if (doc.getElementById("search-page")) loadSearch();
  }

  // ---- the remembered day view
  function storedView() {
    try { return window.localStorage.getItem(VIEW_KEY); } catch (e) { return null; }
  }
  function storeView(v) {
    try { window.localStorage.setItem(VIEW_KEY, v); } catch (e) { /* storage off: links still work */ }
  }

  doc.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("a[data-day-view]");
    if (a) storeView(a.getAttribute("data-day-view"));
  });

  if (storedView() === "compact") {
    var links = doc.querySelectorAll("a[href]");
    for (var i = 0; i < links.length; i++) {
      var a = links[i];
      if (a.hasAttribute("data-day-view") || a.hostname !== window.location.hostname) continue;
      if (DAY_URL.test(a.pathname)) a.href = a.href.replace(DAY_URL, "$1compact/$2$3");
    }
  }
})();

/* A "Copy" button for each BibTeX block (pre.bibtex); added here so pages carry no inline script
   and readers without JavaScript see no button that does nothing. */
(function () {
  "use strict";
  if (!navigator.clipboard || !navigator.clipboard.writeText) return;
  var blocks = document.querySelectorAll("pre.bibtex");
  Array.prototype.forEach.call(blocks, function (pre) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-button";
    button.textContent = "Copy BibTeX";
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(pre.textContent).then(function () {
        button.textContent = "Copied";
        status.textContent = "BibTeX copied to the clipboard";
      }, function () {
        status.textContent = "Copying failed; select the text and copy it";
      });
    });
    pre.parentNode.insertBefore(button, pre);
    pre.parentNode.insertBefore(status, pre);
  });
})();
