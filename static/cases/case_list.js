// The case list's filter panel (cases/index.html) is open in the HTML, so wide screens and browsers
// without scripts show every filter. On a narrow screen, where its summary shows, it is folded so that
// the list starts on the first screen, unless one of its filters was not understood (its message must
// be seen). If the screen widens the summary hides, so the panel opens again.
(function () {
  "use strict";
  var panel = document.getElementById("case-filters-panel");
  if (!panel || !window.matchMedia) { return; }
  var wide = window.matchMedia("(min-width: 768px)");
  if (!wide.matches && !panel.hasAttribute("data-keep-open")) { panel.open = false; }
  var widen = function (event) { if (event.matches) { panel.open = true; } };
  if (wide.addEventListener) { wide.addEventListener("change", widen); } else { wide.addListener(widen); }
}());
