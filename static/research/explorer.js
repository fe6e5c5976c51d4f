// The survival explorer: a change to a filter re-runs the query (the form is a plain GET form, so
// the address keeps the whole selection and the page works without this script). On a narrow
// screen the filters fold behind a button.
(function () {
  "use strict";
  var form = document.getElementById("explorer-form");
  if (!form) { return; }
  var timer = null;
  function submitSoon(delay) {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      if (form.reportValidity && !form.checkValidity()) { return; }
      form.requestSubmit ? form.requestSubmit() : form.submit();
    }, delay);
  }
  form.addEventListener("change", function (event) {
    var target = event.target;
    if (!target || !target.name) { return; }
    // Free text (years, bands, horizons) waits a little; boxes and lists go at once.
    submitSoon(target.type === "checkbox" || target.tagName === "SELECT" || target.type === "date" ? 0 : 300);
  });
  form.addEventListener("submit", function () {
    // Leave empty fields out of the address, so that it stays short and readable.
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && !el.disabled && (el.value === "" || el.value == null) && el.type !== "checkbox") {
        el.disabled = true;
      }
    });
    // The Cox covariates travel as one parameter, covariates=a,b (in the boxes' order), as the API takes them.
    var chosen = [];
    Array.prototype.forEach.call(form.querySelectorAll('input[type="checkbox"][name="covariates"]'), function (box) {
      if (box.checked) { chosen.push(box.value); }
      box.disabled = true;
    });
    if (chosen.length) {
      var joined = document.createElement("input");
      joined.type = "hidden";
      joined.name = "covariates";
      joined.value = chosen.join(",");
      joined.setAttribute("data-joined", "");
      form.appendChild(joined);
    }
  });
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(form.querySelectorAll("input[data-joined]"), function (el) { el.remove(); });
    Array.prototype.forEach.call(form.elements, function (el) { el.disabled = false; });
  });

  var toggle = document.querySelector(".panel-toggle");
  var narrow = window.matchMedia("(max-width: 991.98px)");
  function fold() {
    if (!toggle) { return; }
    toggle.hidden = !narrow.matches;
    var open = !narrow.matches || toggle.getAttribute("aria-expanded") === "true" && toggle.dataset.touched === "1";
    form.classList.toggle("collapsed", !open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.dataset.touched = "1";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      form.classList.toggle("collapsed", !open);
    });
    if (narrow.addEventListener) { narrow.addEventListener("change", fold); }
    fold();
  }
}());
