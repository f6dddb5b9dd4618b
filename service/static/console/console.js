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
})();
