/* sitegen: the reading list without an account, part 1 (issue #16 item 4): a star on every paper.
 *
 * Loaded by site.js (no inline script).  Progressive enhancement: the buttons are created here,
 * so a reader without JavaScript never sees a control that does nothing.  Stars are kept in
 * localStorage under "sitegen.reading" as {version: 1, items: {slug: {title, at}}}; storage that
 * is off, full or holds something else never throws: the reader gets a message instead.
 * Nothing leaves the browser.  Still to come: the /reading-list/ page, exports, imports,
 * "new since your last visit" and saved searches.
 */
(function () {
  "use strict";
  var doc = document;
  var KEY = "sitegen.reading";
  var PAPER = /\/papers\/([^\/?#]+)\/(index\.html)?([?#].*)?$/;

  function read() {
    var raw, data;
    try { raw = window.localStorage.getItem(KEY); } catch (e) { return { version: 1, items: {}, unavailable: true }; }
    if (!raw) return { version: 1, items: {} };
    try { data = JSON.parse(raw); } catch (e) { data = null; }
    if (!data || typeof data !== "object" || typeof data.items !== "object" || !data.items ||
        Array.isArray(data.items)) return { version: 1, items: {}, corrupt: true };
    return data;
  }

  function write(data) {
    try {
      window.localStorage.setItem(KEY, JSON.stringify({ version: 1, items: data.items }));
      return null;
    } catch (e) {
      return "Your reading list could not be saved: this browser's storage is off or full.";
    }
  }

  var status = doc.createElement("p");
  status.className = "reading-status visually-hidden";
  status.setAttribute("role", "status");
  doc.body.appendChild(status);

  function say(text) { status.textContent = text; }

  function setPressed(button, on, title) {
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.setAttribute("aria-label", (on ? "Remove from reading list: " : "Add to reading list: ") + title);
    button.textContent = on ? "\u2605" : "\u2606";
  }

  function star(slug, title, where, before) {
    var button = doc.createElement("button");
    button.type = "button";
    button.className = "star-button";
    button.setAttribute("data-slug", slug);
    setPressed(button, !!read().items[slug], title);
    button.addEventListener("click", function () {
      var data = read();
      var on = !data.items[slug];
      if (on) data.items[slug] = { title: title, at: new Date().toISOString() };
      else delete data.items[slug];
      var problem = write(data);
      if (problem) { say(problem); return; }
      setPressed(button, on, title);
      say(on ? "Added to your reading list: " + title : "Removed from your reading list: " + title);
    });
    where.insertBefore(button, before);
  }

  function slugOf(a) {
    var m = PAPER.exec(a.pathname || "");
    return m ? decodeURIComponent(m[1]) : null;
  }

  Array.prototype.forEach.call(doc.querySelectorAll(".paper-item"), function (li) {
    var a = li.querySelector('a[href*="papers/"]');
    var slug = a && slugOf(a);
    if (slug) star(slug, a.textContent.trim(), li, li.firstChild);
  });
  var h1 = doc.querySelector("body.page-paper h1");
  var self = slugOf(window.location);
  // beside the heading, not in it: its label must not become part of the heading's name
  if (h1 && self) star(self, h1.textContent.trim(), h1.parentNode, h1);
  var state = read();
  if (state.corrupt) say("Your saved reading list could not be read; starring a paper starts a new one.");
})();
