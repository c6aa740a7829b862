// Filing without signal (离线上报). Loaded after app.js on the pages of anyone who may file.
// - Registers the service worker (/sw.js) that keeps the app shell on the phone.
// - Photos are shrunk on the phone before upload: long edge at most 1,920 px, JPEG 0.85;
//   a photo already small enough is sent as taken (never enlarged).
// - Without a network the filing form saves the report, its photos included, in IndexedDB
//   with an Idempotency-Key drawn at that moment; on every page load and when the network
//   returns, each waiting report is sent once (POST /report/offline with that key: a retry
//   after a lost answer lands on the case the first one filed).
// - A report the server refuses (422…) stays, marked with the server's words, to be edited or
//   discarded. The outbox (#outbox) lists what waits and what was sent; the nav shows a count.
(function () {
  "use strict";
  var MAX_EDGE = 1920;
  var QUALITY = 0.85;
  var KEEP_SENT = 20;
  var meta = document.querySelector('meta[name="closeloop-user"]');
  if (!meta) { return; }
  var USER = meta.getAttribute("content");
  // The password page (a first login, or a reset) changes the session: nothing is fetched in
  // the background there, lest a request sent with the old session sign the user out.
  if (location.pathname === "/password") { return; }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      if (navigator.onLine !== false && reg.active) { reg.active.postMessage("warm"); }
    }).catch(function () {});
  }
  if (!("indexedDB" in window)) { return; }

  // ---- storage -------------------------------------------------------------------------
  var dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var open = indexedDB.open("closeloop-offline", 1);
        open.onupgradeneeded = function () {
          open.result.createObjectStore("outbox", { keyPath: "key" });
          open.result.createObjectStore("sent", { keyPath: "key" });
        };
        open.onsuccess = function () { resolve(open.result); };
        open.onerror = function () { reject(open.error); };
      });
    }
    return dbPromise;
  }
  function run(store, mode, work) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var tx = d.transaction(store, mode);
        var result;
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
        var req = work(tx.objectStore(store));
        if (req) { req.onsuccess = function () { result = req.result; }; }
      });
    });
  }
  function all(store) {
    return run(store, "readonly", function (s) { return s.getAll(); }).then(function (rows) {
      return (rows || []).filter(function (r) { return r.user === USER; })
        .sort(function (a, b) { return a.saved_at < b.saved_at ? -1 : 1; });
    });
  }
  function put(store, row) { return run(store, "readwrite", function (s) { return s.put(row); }); }
  function drop(store, key) { return run(store, "readwrite", function (s) { return s.delete(key); }); }
  function get(store, key) { return run(store, "readonly", function (s) { return s.get(key); }); }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return "offline-" + crypto.randomUUID(); }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return "offline-" + Array.prototype.map.call(b, function (x) {
      return (x + 256).toString(16).slice(1);
    }).join("");
  }

  // ---- photos --------------------------------------------------------------------------
  function needsShrink(file) {
    return createImageBitmap(file).then(function (bmp) {
      var big = Math.max(bmp.width, bmp.height) > MAX_EDGE;
      bmp.close();
      return big;
    }, function () { return false; });  // not a picture: the server says so
  }
  function shrink(file) {
    return createImageBitmap(file).then(function (bmp) {
      var long = Math.max(bmp.width, bmp.height);
      if (long <= MAX_EDGE) { bmp.close(); return file; }
      var scale = MAX_EDGE / long;
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bmp.width * scale);
      canvas.height = Math.round(bmp.height * scale);
      canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
      bmp.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob) { resolve(file); return; }
          var name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
          resolve(new File([blob], name, { type: "image/jpeg", lastModified: Date.now() }));
        }, "image/jpeg", QUALITY);
      });
    }, function () { return file; });
  }
  function shrinkAll(files) { return Promise.all(Array.prototype.map.call(files, shrink)); }

  // ---- the outbox on the page ----------------------------------------------------------
  var box = document.getElementById("outbox");
  function say(name) { return box ? box.getAttribute("data-t-" + name) || "" : ""; }
  function status(text) {
    if (!box) { return; }
    var p = box.querySelector("[data-testid=outbox-status]");
    p.textContent = text;
    p.hidden = !text;
  }
  function when(iso) {
    var d = new Date(iso);
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " +
      two(d.getHours()) + ":" + two(d.getMinutes());
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) { e.textContent = text; }
    return e;
  }
  function errorText(err) {
    if (!err) { return ""; }
    var lang = box ? box.getAttribute("data-lang") : "zh";
    return (lang === "en" ? err.en : err.zh) || err.zh || err.en || "";
  }
  function draw() {
    return Promise.all([all("outbox"), all("sent")]).then(function (lists) {
      var waiting = lists[0], sent = lists[1].reverse();
      var nav = document.querySelector("[data-testid=nav-outbox]");
      if (nav) {
        nav.hidden = waiting.length === 0;
        nav.querySelector("[data-testid=outbox-badge]").textContent = String(waiting.length);
      }
      if (!box) { return; }
      box.hidden = waiting.length === 0 && sent.length === 0 && !editingKey;
      box.querySelector("[data-testid=outbox-count]").textContent = String(waiting.length);
      var list = box.querySelector("[data-testid=outbox-list]");
      list.textContent = "";
      waiting.forEach(function (r) {
        var li = el("li", { "class": "row", "data-testid": "outbox-row", "data-key": r.key,
          "data-state": r.state });
        li.appendChild(el("strong", { "data-testid": "outbox-title" }, r.title));
        li.appendChild(el("div", { "class": "meta" }, say("saved-at") + " " + when(r.saved_at) +
          (r.photos.length ? " · " + r.photos.length + " " + say("photos") : "")));
        if (r.state === "rejected") {
          li.appendChild(el("p", { "class": "error", "data-testid": "outbox-error",
            "data-zh": r.error ? r.error.zh : "", "data-en": r.error ? r.error.en : "" },
            say("rejected") + ": " + errorText(r.error)));
          var edit = el("button", { type: "button", "data-testid": "outbox-edit" }, say("edit"));
          edit.addEventListener("click", function () { startEdit(r.key); });
          li.appendChild(edit);
        }
        var discard = el("button", { type: "button", "class": "danger",
          "data-testid": "outbox-discard" }, say("discard"));
        discard.addEventListener("click", function () {
          if (window.confirm(say("confirm"))) { drop("outbox", r.key).then(draw); }
        });
        li.appendChild(discard);
        list.appendChild(li);
      });
      var done = box.querySelector("[data-testid=sent-list]");
      done.textContent = "";
      sent.forEach(function (r) {
        var li = el("li", { "class": "row", "data-testid": "sent-row", "data-key": r.key,
          "data-number": r.number });
        var a = el("a", { href: r.url, "data-testid": "sent-number" }, r.number);
        li.appendChild(a);
        li.appendChild(document.createTextNode(" " + r.title));
        li.appendChild(el("div", { "class": "meta" }, say("saved-at") + " " + when(r.saved_at) +
          " · " + say("sent-at") + " " + when(r.sent_at)));
        done.appendChild(li);
      });
    });
  }

  // ---- sending -------------------------------------------------------------------------
  var sending = false;
  function freshToken() {
    return fetch("/report/offline/token", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        var json = (r.headers.get("content-type") || "").indexOf("application/json") === 0;
        if (!r.ok || r.redirected || !json) { return null; }
        return r.json();
      });
  }
  function sendOne(row, csrf) {
    var body = new FormData();
    body.append("csrf_token", csrf);
    Object.keys(row.fields).forEach(function (k) { body.append(k, row.fields[k]); });
    body.append("saved_at", row.saved_at);
    row.photos.forEach(function (p) { body.append("photos", p.blob, p.name); });
    return fetch("/report/offline", {
      method: "POST", body: body, credentials: "same-origin", cache: "no-store",
      headers: { "Idempotency-Key": row.key }
    }).then(function (r) {
      var json = (r.headers.get("content-type") || "").indexOf("application/json") === 0;
      if (r.status === 201 && json) {
        return r.json().then(function (j) {
          return put("sent", { key: row.key, user: USER, title: row.title, saved_at: row.saved_at,
            sent_at: new Date().toISOString(), number: j.number, url: j.url })
            .then(function () { return drop("outbox", row.key); })
            .then(function () { return true; });
        });
      }
      // Refused for what it says (not a passing trouble): kept, with the server's words.
      if (json && r.status >= 400 && r.status < 500 && [401, 408, 409, 429].indexOf(r.status) < 0) {
        return r.json().then(function (j) {
          row.state = "rejected";
          row.error = j.error || null;
          return put("outbox", row).then(function () { return true; });
        });
      }
      return false;  // a passing trouble (409 in progress, 5xx, a stale form token): later
    });
  }
  function pruneSent() {
    return all("sent").then(function (rows) {
      var old = rows.slice(0, Math.max(rows.length - KEEP_SENT, 0));
      return Promise.all(old.map(function (r) { return drop("sent", r.key); }));
    });
  }
  function sendAll() {
    if (sending) { return Promise.resolve(); }
    sending = true;
    var work = all("outbox").then(function (rows) {
      var waiting = rows.filter(function (r) { return r.state === "waiting"; });
      if (!waiting.length || navigator.onLine === false) { return null; }
      status(say("sending"));
      return freshToken().then(function (tok) {
        if (!tok || tok.username !== USER) { status(say("login")); return null; }
        var chain = Promise.resolve(true);
        waiting.forEach(function (row) {
          chain = chain.then(function (goOn) { return goOn ? sendOne(row, tok.csrf) : false; });
        });
        return chain.then(function () { status(""); return pruneSent(); });
      });
    }).catch(function () { status(""); });  // no network after all: the next chance
    var finish = function () { sending = false; return draw(); };
    var locked = navigator.locks ? navigator.locks.request("closeloop-outbox", function () {
      return work;
    }) : work;
    return locked.then(finish, finish);
  }

  // ---- the filing form -----------------------------------------------------------------
  var form = document.querySelector("[data-testid=report-form]");
  var editingKey = null;
  var editingPhotos = [];

  function value(name) {
    var f = form.elements.namedItem(name);
    return f && f.value ? String(f.value).trim() : "";
  }
  function missing() {
    var gaps = [];
    if (!value("category_code")) { gaps.push(say("item")); }
    if (!value("grid_code") && !value("enterprise_code") && !(value("lat") && value("lon"))) {
      gaps.push(say("grid"));
    }
    if (!value("title")) { gaps.push(say("title")); }
    return gaps;
  }
  function fieldsOf() {
    var out = {};
    var skip = { csrf_token: 1, form_token: 1, photos: 1 };
    Array.prototype.forEach.call(form.elements, function (f) {
      if (f.name && !skip[f.name] && !f.disabled && f.type !== "file" && f.type !== "submit") {
        out[f.name] = f.value;
      }
    });
    return out;
  }
  function release() {
    var button = form.querySelector("button[type=submit]");
    form.removeAttribute("data-sent");
    window.setTimeout(function () {
      if (button) {
        button.disabled = false;
        button.textContent = button.getAttribute("data-label") || button.textContent;
      }
    }, 0);
  }
  function save() {
    var gaps = missing();
    if (gaps.length) {
      status("");
      window.alert(say("required").replace("{what}", gaps.join(say("sep"))));
      release();
      return Promise.resolve();
    }
    var input = form.querySelector("input[type=file][name=photos]");
    return shrinkAll(input ? input.files : []).then(function (files) {
      var photos = editingPhotos.concat(files.map(function (f) {
        return { name: f.name, type: f.type, blob: f };
      }));
      var row = { key: newKey(), user: USER, saved_at: new Date().toISOString(),
        title: value("title"), fields: fieldsOf(), photos: photos, state: "waiting", error: null };
      var before = editingKey ? drop("outbox", editingKey) : Promise.resolve();
      return before.then(function () { return put("outbox", row); });
    }).then(function () {
      var kind = value("kind");
      form.reset();
      if (form.elements.namedItem("kind") && kind) { form.elements.namedItem("kind").value = kind; }
      editingKey = null;
      editingPhotos = [];
      form.removeAttribute("data-editing");
      release();
      status(say("saved"));
      return draw().then(function () { return sendAll(); }).then(function () {
        if (box) { box.scrollIntoView(); }
      });
    }, function () {
      release();
      status(say("no-storage"));
    });
  }
  function startEdit(key) {
    if (!form) { window.location.href = "/report/new#edit=" + encodeURIComponent(key); return; }
    get("outbox", key).then(function (row) {
      if (!row) { return; }
      Object.keys(row.fields).forEach(function (k) {
        var f = form.elements.namedItem(k);
        if (f && f.type !== "file") { f.value = row.fields[k]; }
      });
      var cls = form.elements.namedItem("category_class");
      if (cls) { cls.dispatchEvent(new Event("change")); }
      var item = form.elements.namedItem("category_code");
      if (item) { item.value = row.fields.category_code || ""; }
      editingKey = key;
      editingPhotos = row.photos;
      form.setAttribute("data-editing", key);
      status(say("editing"));
      form.scrollIntoView();
    });
  }

  if (form) {
    var submit = form.querySelector("button[type=submit]");
    if (submit) { submit.setAttribute("data-label", submit.textContent); }
    // A page shown from the phone's copy may carry a form token used before: a fresh one.
    var token = form.querySelector("input[name=form_token]");
    var refresh = function () { if (token) { token.value = "form-" + newKey().slice(8); } };
    if (navigator.onLine === false) { refresh(); }
    window.addEventListener("online", refresh);
    var shrunk = false;
    // Runs after app.js's once-only handler: a second tap is already refused there.
    form.addEventListener("submit", function (ev) {
      if (ev.defaultPrevented) { return; }
      if (editingKey || navigator.onLine === false) {
        ev.preventDefault();
        save();
        return;
      }
      // Online: the form is sent as it always was, with its big photos shrunk first.
      var input = form.querySelector("input[type=file][name=photos]");
      if (shrunk || !input || !input.files.length || typeof DataTransfer === "undefined") { return; }
      ev.preventDefault();
      Promise.all(Array.prototype.map.call(input.files, needsShrink)).then(function (big) {
        if (big.indexOf(true) < 0) { return null; }
        return shrinkAll(input.files).then(function (files) {
          var dt = new DataTransfer();
          files.forEach(function (f) { dt.items.add(f); });
          input.files = dt.files;
        });
      }).catch(function () { return null; }).then(function () {
        shrunk = true;
        form.submit();
      });
    });
    var edit = /^#edit=(.+)$/.exec(window.location.hash);
    if (edit) { startEdit(decodeURIComponent(edit[1])); }
  }

  window.addEventListener("online", function () { sendAll(); });
  window.setInterval(function () { if (navigator.onLine !== false) { sendAll(); } }, 30000);
  draw().then(sendAll);
})();
