// Integration Hub console: the little script the pages need. Everything
// works without it except "Test now" and the live events.
"use strict";
(function () {
  const main = document.getElementById("main");
  const csrf = main ? main.dataset.csrf : "";

  // Test now: POST to the console (which runs the API's test), then show
  // the three levels in the order they ran.
  const btn = document.getElementById("test-now");
  if (btn) {
    btn.addEventListener("click", async function () {
      const panel = document.getElementById("test-panel");
      const summary = document.getElementById("test-summary");
      const rows = panel.querySelectorAll("tbody tr");
      panel.hidden = false;
      btn.disabled = true;
      summary.textContent = "Testing…";
      rows.forEach(function (tr) {
        tr.querySelector(".st").textContent = "running";
        tr.querySelector(".lat").textContent = "";
        tr.querySelector(".code").textContent = "";
        tr.querySelector(".msg").textContent = "";
        tr.dataset.status = "";
      });
      try {
        const res = await fetch(btn.dataset.url, { method: "POST", headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }, credentials: "same-origin" });
        const body = await res.json();
        if (!res.ok) {
          summary.textContent = "Test failed: " + body.error.code + ": " + body.error.message;
          rows.forEach(function (tr) { tr.querySelector(".st").textContent = "not run"; });
          return;
        }
        for (const l of body.levels) {
          const tr = panel.querySelector('tr[data-level="' + l.level + '"]');
          if (!tr) continue;
          tr.dataset.status = l.status;
          tr.querySelector(".st").textContent = l.status;
          tr.querySelector(".lat").textContent = l.latencyMs + " ms";
          tr.querySelector(".code").textContent = l.errorCode || "";
          tr.querySelector(".msg").textContent = l.message || "";
          await new Promise(function (r) { setTimeout(r, 150); });
        }
        summary.textContent = body.success ? "All levels passed." : "The test failed.";
        summary.dataset.done = body.success ? "passed" : "failed";
      } catch (e) {
        summary.textContent = "The test could not be run: " + e;
      } finally {
        btn.disabled = false;
      }
    });
  }

  // Live events: the console's Server-Sent Events stream into the table.
  const table = document.getElementById("events");
  if (table && window.EventSource) {
    const state = document.getElementById("stream-state");
    const tbody = table.querySelector("tbody");
    const es = new EventSource(table.dataset.stream);
    es.onopen = function () { state.textContent = "Following new events."; state.dataset.open = "1"; };
    es.onerror = function () { state.textContent = "Disconnected; reconnecting…"; };
    es.onmessage = function (m) {
      let ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      const tr = document.createElement("tr");
      const data = ev.data !== undefined ? JSON.stringify(ev.data) : (ev.dataText || "");
      [String(ev.sequence), ev.time, ev.subject, data.length > 300 ? data.slice(0, 300) + "…" : data].forEach(function (v) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.appendChild(td);
      });
      tbody.insertBefore(tr, tbody.firstChild);
      while (tbody.children.length > 500) tbody.removeChild(tbody.lastChild);
    };
  }
})();
