/* Keyboard navigation between days / pages: ArrowLeft / ArrowRight follow
   <link rel="prev"> / <link rel="next">, but never while the user is typing,
   using a modifier, or inside an interactive widget (screen readers keep their keys). */
(function () {
  "use strict";
  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return el.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" ||
      el.closest('[role="listbox"],[role="combobox"],[role="application"],[role="slider"]') !== null;
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    if (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight") return;
    if (typing(document.activeElement)) return;
    var rel = ev.key === "ArrowLeft" ? "prev" : "next";
    var link = document.querySelector('link[rel="' + rel + '"]');
    if (link && link.href) {
      ev.preventDefault();
      window.location.href = link.href;
    }
  });
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
