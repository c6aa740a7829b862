// Progressive enhancement only: every form works without this file.
(function () {
  "use strict";
  // Category picker: show only the items of the chosen class.
  var cls = document.getElementById("category_class");
  var item = document.getElementById("category_code");
  if (cls && item) {
    var filter = function () {
      var chosen = cls.value;
      Array.prototype.forEach.call(item.querySelectorAll("optgroup"), function (g) {
        var show = !chosen || g.getAttribute("data-class") === chosen;
        g.hidden = !show;
        g.disabled = !show;
      });
      var sel = item.options[item.selectedIndex];
      if (sel && sel.value && chosen && sel.getAttribute("data-class") !== chosen) {
        item.value = "";
      }
    };
    cls.addEventListener("change", filter);
    item.addEventListener("change", function () {
      var sel = item.options[item.selectedIndex];
      if (sel && sel.value) { cls.value = sel.getAttribute("data-class"); filter(); }
    });
    filter();
  }
  // Location from the browser, when the user allows it.
  var btn = document.getElementById("locate");
  if (btn) {
    var status = document.getElementById("locate-status");
    btn.addEventListener("click", function () {
      if (!navigator.geolocation) { status.textContent = btn.getAttribute("data-fail"); return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        var lat = pos.coords.latitude.toFixed(6), lon = pos.coords.longitude.toFixed(6);
        document.getElementById("lat").value = lat;
        document.getElementById("lon").value = lon;
        status.textContent = btn.getAttribute("data-ok") + " (" + lat + ", " + lon + ")";
      }, function () {
        status.textContent = btn.getAttribute("data-fail");
      }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
    });
  }
  // Ask once before a destructive action.
  Array.prototype.forEach.call(document.querySelectorAll("form.act button.danger"), function (b) {
    b.form.addEventListener("submit", function () { b.disabled = true; });
  });
})();
