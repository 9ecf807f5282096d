// Lindung portal: live parts of a page, fed by the portal's server-sent events. Values are
// written with textContent only (never parsed as HTML).
"use strict";
(function () {
  const live = document.querySelector("[data-live]");
  if (!live || !window.EventSource) return;
  const labels = JSON.parse(live.dataset.labels || "{}");
  const set = (id, value) => { const el = document.getElementById(id); if (el) el.textContent = value; };
  const source = new EventSource(live.dataset.live);
  source.addEventListener("occupancy", (event) => {
    const d = JSON.parse(event.data);
    set("present", d.present === null ? "–" : String(d.present));
    set("effective-capacity", String(d.effective_capacity));
    set("level", d.level === null ? "–" : String(d.level));
    set("state", labels[d.state] || d.state);
    const gauge = document.getElementById("gauge");
    if (gauge) gauge.className = "gauge state-" + d.state;
    let most = 1;
    for (const kind of ["admitted", "refused"]) {
      for (const [colour, n] of Object.entries(d[kind] || {})) {
        set(kind + "-" + colour, String(n));
        most = Math.max(most, n);
      }
      set(kind + "-total", String(d[kind + "_total"]));
    }
    document.querySelectorAll("#chart .bar").forEach((bar) => {
      const n = (d[bar.dataset.kind] || {})[bar.dataset.colour] || 0;
      const h = (100 * n) / most;
      bar.setAttribute("height", String(h));
      bar.setAttribute("y", String(110 - h));
    });
  });
  source.addEventListener("alert", (event) => {
    const a = JSON.parse(event.data);
    const list = document.getElementById("alerts");
    if (!list) return;
    const item = document.createElement("li");
    item.className = "alert kind-" + String(a.kind || "").replace(/\./g, "-");
    const title = document.createElement("strong");
    title.textContent = a.kind === "zone.level" ? labels.level + ": " + a.level : a.title;
    item.appendChild(title);
    if (a.body) item.appendChild(document.createTextNode(" " + a.body));
    list.prepend(item);
    const none = document.getElementById("no-alerts");
    if (none) none.remove();
  });
})();
