// Status page: polls /api/status and updates the page in place (no full reload).
"use strict";
const csrf = document.querySelector('meta[name="csrf-token"]').content;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(child == null ? "" : String(child)));
  }
  return node;
}

function seconds(s) {
  if (s == null) return "–";
  if (s < 90) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 90 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function renderCurrent(current) {
  const box = document.getElementById("current");
  box.replaceChildren();
  if (!current.length) {
    box.append(el("p", { class: "muted" }, "Idle. Copy recordings into the inbox folder."));
    return;
  }
  for (const job of current) {
    const info = el("div", {},
      el("p", {}, el("a", { href: `/jobs/${job.id}` }, `#${job.id} ${job.name}`)),
      el("progress", { max: "1", value: String(job.progress) }),
      el("p", { class: "muted" },
        `${Math.round(job.progress * 100)} % · ${job.analysis_fps.toFixed(1)} frames/s analysed · ` +
        `${job.faces} tracks so far · about ${seconds(job.eta_s)} left`),
      el("p", { class: "muted scan" }, job.detail || ""));
    const preview = el("img", { alt: "frame being analysed", src: `${job.preview}?t=${Date.now()}` });
    box.append(el("div", { class: "job-now" }, info, preview));
  }
}

function renderGallery(items) {
  const box = document.getElementById("gallery");
  if (!items.length) { box.replaceChildren(el("p", { class: "muted" }, "Nobody yet.")); return; }
  const key = items.map(i => i.url).join("|");
  if (box.dataset.key === key) return;  // unchanged: keep the loaded images
  box.dataset.key = key;
  box.replaceChildren(...items.map(i => el("figure", {},
    el("a", { href: `/jobs/${i.job}` }, el("img", { src: i.url, alt: `person ${i.person} of ${i.name}` })),
    el("figcaption", {}, `${i.time_s.toFixed(1)} s · ${i.name}`))));
}

function retryButton(job) {
  const form = el("form", { method: "post", action: `/jobs/${job.id}/retry` },
    el("input", { type: "hidden", name: "csrf", value: csrf }), el("button", { type: "submit" }, "Retry"));
  return form;
}

function renderJobs(jobs) {
  const body = document.querySelector("#jobs tbody");
  body.replaceChildren(...jobs.map(job => el("tr", { "data-id": String(job.id) },
    el("td", {}, String(job.id)),
    el("td", {}, el("a", { href: `/jobs/${job.id}` }, job.name)),
    el("td", {}, el("span", { class: `badge ${job.state}` }, job.state)),
    el("td", {}, `${Math.round(job.progress * 100)} %`),
    el("td", {}, seconds(job.duration_s)),
    el("td", {}, String(job.faces)),
    el("td", { class: "error" }, job.error || ""),
    el("td", {}, job.state === "failed" ? retryButton(job) : ""))));
}

function renderWorkers(workers) {
  const body = document.querySelector("#workers tbody");
  if (!workers.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "6", class: "muted" }, "No worker has reported in the last minute.")));
    return;
  }
  body.replaceChildren(...workers.map(w => el("tr", { "data-worker": w.name },
    el("td", {}, w.name),
    el("td", {}, w.host),
    el("td", {}, el("span", { class: `badge ${w.state}` }, w.state)),
    el("td", {}, w.job ? el("a", { href: `/jobs/${w.job}` }, `#${w.job} ${w.job_name || ""}`) : "–"),
    el("td", {}, w.progress == null ? "–" : `${Math.round(w.progress * 100)} %`),
    el("td", {}, `${w.heartbeat_age_s.toFixed(0)} s ago`))));
}

function renderEvents(events) {
  document.getElementById("events").replaceChildren(...events.map(e =>
    el("li", {}, `${new Date(e.time * 1000).toLocaleString()} · ${e.kind}: ${e.message}`)));
}

function renderChannels(channels) {
  document.getElementById("channels-card").hidden = !channels.length;
  document.querySelector("#channels tbody").replaceChildren(...channels.map(c => el("tr", {},
    el("td", {}, c.name),
    el("td", {}, c.connected ? "connected" : "not connected"),
    el("td", {}, c.delivered_at ? new Date(c.delivered_at * 1000).toLocaleString() : "–"),
    el("td", {}, String(c.backlog)),
    el("td", { class: "error" }, c.error || ""))));
}

function renderProblems(health) {
  const box = document.getElementById("problems");
  box.hidden = !health.problems.length;
  box.replaceChildren(...health.problems.map(p => el("p", { class: "error" }, p)));
}

async function refresh() {
  try {
    const response = await fetch("/api/status", { headers: { Accept: "application/json" } });
    if (response.status === 401) { location.href = "/login"; return; }
    const data = await response.json();
    for (const node of document.querySelectorAll("[data-state]")) node.textContent = data.queue[node.dataset.state];
    renderCurrent(data.current);
    renderGallery(data.gallery);
    renderJobs(data.jobs);
    renderWorkers(data.workers.list);
    renderEvents(data.events);
    renderProblems(data.health);
    renderChannels(data.channels);
    document.body.dataset.updated = String(Date.now());
  } catch (err) {
    console.warn("status refresh failed", err);
  }
}

refresh();
setInterval(refresh, 2000);
