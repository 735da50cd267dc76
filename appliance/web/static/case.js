// A person's export: started by the form, followed here until the zip can be downloaded.
(function () {
  "use strict";
  const form = document.getElementById("export");
  if (!form) return;
  const bar = document.getElementById("export-progress");
  const said = document.getElementById("export-status");
  const link = document.getElementById("export-download");

  function follow(url) {
    fetch(url, { headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((s) => {
        bar.hidden = false;
        bar.value = s.fraction || 0;
        said.textContent = s.message || s.state;
        if (s.state === "done" && s.download) {
          link.href = s.download;
          link.hidden = false;
          form.querySelector("button").disabled = false;
        } else if (s.state === "failed") {
          said.textContent = "Export failed: " + s.message;
          form.querySelector("button").disabled = false;
        } else {
          setTimeout(() => follow(url), 700);
        }
      })
      .catch(() => setTimeout(() => follow(url), 2000));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    form.querySelector("button").disabled = true;
    link.hidden = true;
    said.textContent = "starting";
    fetch(form.action, { method: "POST", body: new FormData(form), headers: { Accept: "application/json" } })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) {
          said.textContent = body.error || "the export could not start";
          form.querySelector("button").disabled = false;
          return;
        }
        follow(body.status);
      });
  });
  const running = form.dataset.case;
  if (running) follow(form.dataset.statusBase + running);
})();
