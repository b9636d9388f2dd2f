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
