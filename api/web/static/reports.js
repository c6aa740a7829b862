// The reports pages. Progressive enhancement only: without it the period list shows every
// cadence's periods and the report page has a refresh link.
(function () {
  "use strict";
  // Generate form: offer only the periods of the chosen cadence.
  var cadence = document.getElementById("cadence");
  var period = document.getElementById("period");
  if (cadence && period) {
    var filter = function () {
      var chosen = cadence.value;
      Array.prototype.forEach.call(period.querySelectorAll("optgroup"), function (g) {
        var show = g.getAttribute("data-cadence") === chosen;
        g.hidden = !show;
        g.disabled = !show;
      });
      var sel = period.options[period.selectedIndex];
      if (!sel || sel.getAttribute("data-cadence") !== chosen) {
        var first = period.querySelector('option[data-cadence="' + chosen + '"]');
        if (first) { period.value = first.value; }
      }
    };
    cadence.addEventListener("change", filter);
    filter();
  }
  // Report page: while generating, poll the status and reload when the step changes.
  var state = document.querySelector('[data-testid="report-state"]');
  if (state && state.getAttribute("data-status") === "generating") {
    var id = state.getAttribute("data-report-id");
    var shown = state.getAttribute("data-status") + "/" + state.getAttribute("data-progress");
    var poll = function () {
      fetch("/reports/" + id + "/status", { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (s && s.status + "/" + (s.progress || "") !== shown) {
            window.location.reload();
          } else {
            window.setTimeout(poll, 1000);
          }
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 700);
  }
})();
