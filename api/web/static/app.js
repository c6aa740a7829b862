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
        suggest();
      }, function () {
        status.textContent = btn.getAttribute("data-fail");
      }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
    });
  }
  // The grid holding the position and the category's unit (/map/locate.json): the grid is
  // chosen in the form when it is offered; the routing is shown (the dispatcher decides).
  function suggest() {
    var out = document.getElementById("locate-suggest");
    var lat = document.getElementById("lat"), lon = document.getElementById("lon");
    if (!out || !lat || !lat.value) { return; }
    var cat = document.getElementById("category_code");
    var url = out.getAttribute("data-url") + "?lat=" + encodeURIComponent(lat.value) +
      "&lon=" + encodeURIComponent(lon.value) + "&category_code=" + encodeURIComponent(cat ? cat.value : "");
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (j) {
      if (j.error) { out.textContent = j.error; out.setAttribute("data-grid", ""); return; }
      var grid = document.getElementById("grid_code");
      if (grid && grid.querySelector('option[value="' + j.grid_code + '"]')) { grid.value = j.grid_code; }
      out.textContent = j.grid_text + (j.routing_text ? " · " + j.routing_text : "");
      out.setAttribute("data-grid", j.grid_code);
    }).catch(function () { out.textContent = ""; });
  }
  var catForSuggest = document.getElementById("category_code");
  if (catForSuggest && document.getElementById("locate-suggest")) {
    catForSuggest.addEventListener("change", suggest);
  }
  // The case list's places: the communities of the chosen street, the grids of the chosen
  // community (or street). Without this file every place is offered.
  var street = document.getElementById("street_code");
  var community = document.getElementById("community_code");
  var grid = document.getElementById("grid_code");
  if (street && community && grid) {
    var pathOf = function (select) {
      var opt = select.options[select.selectedIndex];
      return opt && opt.value ? opt.getAttribute("data-path") : "";
    };
    var narrow = function (select, prefix) {
      Array.prototype.forEach.call(select.options, function (o) {
        var show = !o.value || !prefix || o.getAttribute("data-path").indexOf(prefix) === 0;
        o.hidden = !show;
        o.disabled = !show;
      });
      var sel = select.options[select.selectedIndex];
      if (sel && sel.disabled) { select.value = ""; }
    };
    var places = function () {
      narrow(community, pathOf(street));
      narrow(grid, pathOf(community) || pathOf(street));
    };
    street.addEventListener("change", places);
    community.addEventListener("change", places);
    places();
  }
  // A form sent once: its button is disabled and says so while the request runs; a second
  // submit (a double tap) is ignored. The server files once per form token anyway.
  Array.prototype.forEach.call(document.querySelectorAll("form[data-once]"), function (f) {
    var button = f.querySelector("button[type=submit]");
    var label = button ? button.textContent : "";
    f.addEventListener("submit", function (ev) {
      if (f.getAttribute("data-sent")) { ev.preventDefault(); return; }
      f.setAttribute("data-sent", "1");
      if (button) {
        // Disabled after this turn so that the browser still sends the form.
        window.setTimeout(function () {
          button.disabled = true;
          button.textContent = button.getAttribute("data-sending") || label;
        }, 0);
      }
    });
    window.addEventListener("pageshow", function (ev) {
      if (ev.persisted && button) {  // back to a page kept in the cache: usable again
        f.removeAttribute("data-sent");
        button.disabled = false;
        button.textContent = label;
      }
    });
  });
  // Ask once before a destructive action.
  Array.prototype.forEach.call(document.querySelectorAll("form.act button.danger"), function (b) {
    b.form.addEventListener("submit", function () { b.disabled = true; });
  });
})();
