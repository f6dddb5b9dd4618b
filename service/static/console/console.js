/* Progressive enhancement only: every page works without it. */
(function () {
  "use strict";

  /* A dispatch run: poll its status (GET /api/v1/dispatch-runs/{id}) and reload when it ends. */
  var run = document.getElementById("run");
  if (run && run.dataset.active === "true") {
    var url = run.dataset.statusUrl;
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) {
          if (body && (body.status === "succeeded" || body.status === "failed")) {
            window.location.reload();
          } else {
            window.setTimeout(poll, 1000);
          }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    };
    window.setTimeout(poll, 800);
  }

  /* An Excel import: post to the API with fetch and list every bad row and field. */
  var fill = function (text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; });
  };
  document.querySelectorAll("form[data-import]").forEach(function (form) {
    var out = form.nextElementSibling;
    var dryRun = "true";
    form.querySelectorAll("button[data-dry-run]").forEach(function (b) {
      b.addEventListener("click", function () { dryRun = b.dataset.dryRun; });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      var coordinates = data.get("coordinates") || "wgs84";
      data.delete("coordinates");
      var base = form.getAttribute("action").split("?")[0];
      var target = base + "?dry_run=" + dryRun + "&coordinates=" + encodeURIComponent(coordinates);
      out.textContent = form.dataset.busy;
      fetch(target, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRF-Token": data.get("csrf_token"), Accept: "application/json" }
      })
        .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
        .then(function (res) {
          var body = res.body || {};
          var errors = body.errors || {};
          var keys = Object.keys(errors);
          var count = body.error_count || keys.length;
          out.innerHTML = "";
          var p = document.createElement("p");
          if (keys.length) {
            p.className = "msg msg-error";
            p.textContent = fill(form.dataset.bad, { n: count });
          } else if (res.ok && body.dry_run) {
            p.className = "msg msg-success";
            p.textContent = fill(form.dataset.okDry, { good: body.count, rows: body.rows });
          } else if (res.ok) {
            p.className = "msg msg-success";
            p.textContent = fill(form.dataset.ok, { count: body.count });
          } else {
            p.className = "msg msg-error";
            p.textContent = body.message || String(body.code || "");
          }
          out.appendChild(p);
          if (keys.length) {
            var ul = document.createElement("ul");
            ul.className = "import-errors";
            keys.forEach(function (k) {
              var li = document.createElement("li");
              li.textContent = k + ": " + [].concat(errors[k]).join("; ");
              ul.appendChild(li);
            });
            out.appendChild(ul);
          }
          if (res.ok && !body.dry_run) { window.setTimeout(function () { window.location.reload(); }, 1500); }
        })
        .catch(function () { out.textContent = "Error"; });
    });
  });
})();
