extension DashboardAssets {
    /// The page's script: asks for the credentials, calls the admin statistics routes every 10 s
    /// and draws each chart as SVG with DOM calls (text from the data only ever goes into text
    /// nodes). Every bar carries `data-label` and `data-value`, every chart `data-chart` and
    /// `data-state` (`ready` or `empty`), so a test can read the figures from the DOM.
    static let script = ##"""
        "use strict";
        (function () {
          const mode = document.body.dataset.auth === "none" ? "none" : "jwt";
          const $ = (id) => document.getElementById(id);
          // The SVG namespace, taken from the parser rather than spelled out here.
          const probe = document.createElement("div");
          probe.innerHTML = "<svg></svg>";
          const NS = probe.firstChild.namespaceURI;
          const COLORS = ["#2f6fde", "#f08c2e", "#2ca58d", "#d64545", "#8e5bd6", "#9a7d0a", "#1f9bb8", "#c2478f"];
          const STATUS_COLORS = { pending: "#98a2b3", running: "#1f9bb8", completed: "#2ca58d", failed: "#d64545", cancelled: "#f08c2e" };
          const REFRESH_MS = 10000;
          const store = window.sessionStorage;
          let credential = mode === "jwt" ? store.getItem("researchstore.dashboard.token") : store.getItem("researchstore.dashboard.user");
          let timer = null;
          let busy = false;
          let last = null;

          const number = (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: 2 }));
          const money = (v) => (v === null || v === undefined ? "–" : "$" + Number(v).toLocaleString("en-US", { maximumFractionDigits: 4 }));
          const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

          function el(tag, attrs, text) {
            const node = tag.startsWith("svg:") ? document.createElementNS(NS, tag.slice(4)) : document.createElement(tag);
            for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
            if (text !== undefined) node.textContent = String(text);
            return node;
          }

          function showMessage(text, kind, status) {
            const m = $("message");
            if (!text) { m.hidden = true; m.textContent = ""; delete m.dataset.status; return; }
            m.hidden = false;
            m.textContent = text;
            m.dataset.kind = kind || "info";
            if (status) m.dataset.status = String(status); else delete m.dataset.status;
          }

          function askForCredential(text, kind, status) {
            stop();
            credential = null;
            store.removeItem("researchstore.dashboard.token");
            $("charts").hidden = true;
            $("signout").hidden = true;
            $("auth").hidden = false;
            showMessage(text, kind, status);
            (mode === "jwt" ? $("token") : $("user")).focus();
          }

          async function api(path) {
            const headers = { Accept: "application/json" };
            if (mode === "jwt") headers.Authorization = "Bearer " + credential;
            else { headers["X-User-ID"] = credential; headers["X-User-Roles"] = "admin"; }
            const response = await fetch(path, { headers, cache: "no-store" });
            if (!response.ok) {
              let detail = "";
              try { const problem = await response.json(); detail = problem.detail || problem.title || ""; } catch (_) { /* not JSON */ }
              const error = new Error(detail || response.statusText || "HTTP " + response.status);
              error.status = response.status;
              throw error;
            }
            return response.json();
          }

          function window_() {
            const days = Number($("range").value) || 14;
            const today = new Date();
            const start = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
            const from = new Date(start - (days - 1) * 86400000);
            const to = new Date(start + 86400000);
            return "from=" + encodeURIComponent(iso(from)) + "&to=" + encodeURIComponent(iso(to));
          }

          async function load() {
            // A tab in the background does not poll (the statistics are not free for the database).
            if (busy || !credential || document.hidden) return;
            busy = true;
            try {
              const q = window_();
              const [activity, llm, feedback, telemetry] = await Promise.all([
                api("/db/admin/stats/activity?" + q), api("/db/admin/stats/llm?" + q),
                api("/db/admin/stats/feedback?" + q), api("/db/admin/stats/telemetry?" + q),
              ]);
              last = { activity, llm, feedback, telemetry };
              $("auth").hidden = true;
              $("charts").hidden = false;
              $("signout").hidden = false;
              showMessage(null);
              render();
              const now = new Date();
              const updated = $("updated");
              updated.dataset.updated = now.toISOString();
              updated.textContent = "Updated at " + now.toISOString().slice(11, 19) + " UTC · every " + REFRESH_MS / 1000 + " s";
              start();
            } catch (error) {
              if (error.status === 401) {
                askForCredential(mode === "jwt"
                  ? "The token was refused (401): it has expired or is not valid here. Paste a new admin token."
                  : "The user id was refused (401): " + error.message, "error", 401);
              } else if (error.status === 403) {
                askForCredential("This identity is not an admin (403): the dashboard needs " +
                  (mode === "jwt" ? "a token with the admin role." : "the admin role."), "error", 403);
              } else {
                showMessage("Could not load the statistics (" + (error.status || "network") + "): " + error.message + ". Retrying.", "error", error.status);
              }
            } finally {
              busy = false;
            }
          }

          function start() { if (!timer) timer = setInterval(load, REFRESH_MS); }
          function stop() { if (timer) { clearInterval(timer); timer = null; } }

          // ---- charts -------------------------------------------------------------------------

          function chart(id, items, draw, empty) {
            const section = document.querySelector('[data-chart="' + id + '"]');
            const plot = section.querySelector(".plot");
            plot.replaceChildren();
            const has = items.some((item) => Number(item.value) > 0);
            section.dataset.state = has ? "ready" : "empty";
            if (!has) { plot.append(el("p", { class: "empty" }, empty || "No data yet")); return; }
            draw(plot, items);
            const svg = plot.querySelector("svg");
            if (svg) svg.setAttribute("aria-label", section.querySelector("h2").textContent);
          }

          function legend(plot, entries) {
            const box = el("div", { class: "legend" });
            for (const [label, color] of entries) {
              const item = el("span");
              const swatch = el("i");
              swatch.style.background = color;
              item.append(swatch, document.createTextNode(label));
              box.append(item);
            }
            plot.append(box);
          }

          // Vertical bars, one per item (days, ratings); every bar is labelled on the x axis when
          // there is room, else every k-th.
          function columns(plot, items, format) {
            const width = Math.max(260, Math.floor(plot.clientWidth || 400));
            const height = 200, left = 44, right = 8, top = 18, bottom = 26;
            const values = items.map((i) => Number(i.value));
            const step = tickStep(Math.max(...values), values.every(Number.isInteger));
            const max = step * Math.ceil(Math.max(...values) / step);
            const svg = el("svg:svg", { viewBox: "0 0 " + width + " " + height, role: "img" });
            const inner = width - left - right, band = inner / items.length, barW = Math.max(2, band * 0.7);
            const scale = (v) => (height - top - bottom) * (v / max);
            for (let v = 0; v <= max + step / 2; v += step) {
              const y = height - bottom - scale(v);
              svg.append(el("svg:line", { class: "axis", x1: left, x2: width - right, y1: y, y2: y }));
              svg.append(el("svg:text", { x: left - 6, y: y + 4, "text-anchor": "end" }, number(v)));
            }
            const every = Math.max(1, Math.ceil(items.length / Math.floor(inner / 44)));
            items.forEach((item, index) => {
              const value = Number(item.value), x = left + index * band + (band - barW) / 2, h = scale(value);
              const rect = el("svg:rect", {
                class: "bar", x: x, y: height - bottom - h, width: barW, height: Math.max(h, value > 0 ? 1 : 0),
                fill: item.color || COLORS[0], "data-label": item.label, "data-value": value,
              });
              rect.append(el("svg:title", {}, item.label + ": " + (format || number)(value)));
              svg.append(rect);
              if (value > 0 && band >= 22) svg.append(el("svg:text", { x: x + barW / 2, y: height - bottom - h - 4, "text-anchor": "middle" }, (format || number)(value)));
              if (index % every === 0) svg.append(el("svg:text", { x: x + barW / 2, y: height - 8, "text-anchor": "middle" }, item.short || item.label));
            });
            plot.append(svg);
          }

          // Horizontal bars, one row per item (models, event types, statuses): long labels stay
          // readable at a phone's width.
          function rows(plot, items, format) {
            const width = Math.max(260, Math.floor(plot.clientWidth || 400));
            const row = 24, labelW = Math.min(200, Math.floor(width * 0.42)), valueW = 70;
            const height = items.length * row + 4;
            const max = Math.max(...items.map((i) => Number(i.value)));
            const svg = el("svg:svg", { viewBox: "0 0 " + width + " " + height, role: "img" });
            const inner = width - labelW - valueW;
            items.forEach((item, index) => {
              const value = Number(item.value), y = index * row + 2, w = max > 0 ? (inner * value) / max : 0;
              const label = el("svg:text", { x: labelW - 6, y: y + 15, "text-anchor": "end" }, fit(item.label, labelW));
              label.append(el("svg:title", {}, item.label));
              svg.append(label);
              const rect = el("svg:rect", {
                class: "bar", x: labelW, y: y + 3, width: Math.max(w, value > 0 ? 1 : 0), height: row - 8, rx: 2,
                fill: item.color || COLORS[0], "data-label": item.label, "data-value": value,
              });
              rect.append(el("svg:title", {}, item.label + ": " + (format || number)(value)));
              svg.append(rect);
              svg.append(el("svg:text", { x: labelW + w + 5, y: y + 15 }, (format || number)(value)));
            });
            plot.append(svg);
          }

          // A round step for about four gridlines: 1, 2 or 5 times a power of ten (whole for counts).
          function tickStep(max, whole) {
            const raw = max / 4, power = Math.pow(10, Math.floor(Math.log10(raw)));
            const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
            return whole ? Math.max(1, Math.round(step)) : step;
          }

          function fit(text, width) {
            const chars = Math.max(6, Math.floor(width / 7));
            return text.length > chars ? text.slice(0, chars - 1) + "…" : text;
          }

          function render() {
            if (!last) return;
            const { activity, llm, feedback, telemetry } = last;
            const days = activity.by_day || [];
            const sum = (key) => days.reduce((s, d) => s + d[key], 0);
            tile("sessions", sum("sessions"), number(sum("sessions")));
            tile("messages", sum("messages"), number(sum("messages")));
            tile("llm-calls", llm.totals.calls, number(llm.totals.calls));
            tile("llm-cost", llm.totals.cost_usd, money(llm.totals.cost_usd));
            tile("feedback", feedback.count, number(feedback.count) + (feedback.mean_rating === null ? "" : " · " + number(feedback.mean_rating)));
            tile("events", telemetry.total, number(telemetry.total));

            const perDay = (key, color) => days.map((d) => ({ label: d.day, short: d.day.slice(5), value: d[key], color }));
            chart("messages-per-day", perDay("messages", COLORS[0]), (p, i) => columns(p, i), "No messages in this window yet");
            chart("sessions-per-day", perDay("sessions", COLORS[2]), (p, i) => columns(p, i), "No sessions in this window yet");

            const models = llm.by_model || [];
            const name = (m) => m.provider + "/" + m.model;
            const colorOf = (index) => COLORS[index % COLORS.length];
            chart("llm-calls", models.map((m, k) => ({ label: name(m), value: m.calls, color: colorOf(k) })), (p, i) => rows(p, i), "No LLM calls yet");
            chart("llm-tokens", models.map((m, k) => ({ label: name(m), value: m.total_tokens, color: colorOf(k) })), (p, i) => rows(p, i), "No LLM calls yet");
            chart("llm-cost", models.map((m, k) => ({ label: name(m), value: m.cost_usd === null ? 0 : Number(m.cost_usd), color: colorOf(k) })),
              (p, i) => rows(p, i, money), "No LLM cost recorded yet");
            const latency = [];
            const series = [["p50", COLORS[0]], ["p95", COLORS[1]], ["p99", COLORS[3]]];
            for (const m of models) for (const [p, color] of series) latency.push({ label: name(m) + " " + p, value: m.duration_ms[p] || 0, color });
            chart("llm-latency", latency, (p, i) => { rows(p, i, (v) => number(Math.round(v)) + " ms"); legend(p, series); }, "No LLM calls yet");

            const ratings = [1, 2, 3, 4, 5].map((r) => ({ label: r + "★", value: feedback.distribution[String(r)] || 0, color: ["#d64545", "#f08c2e", "#e0b400", "#7cbf4f", "#2ca58d"][r - 1] }));
            chart("feedback", ratings, (p, i) => columns(p, i), "No feedback yet");

            const research = activity.research || {};
            const statuses = ["pending", "running", "completed", "failed", "cancelled"];
            chart("research-outcomes", statuses.map((s) => ({ label: s, value: (research[s] || {}).count || 0, color: STATUS_COLORS[s] })),
              (p, i) => rows(p, i), "No research requests yet");
            const durations = [];
            for (const s of ["completed", "failed"]) for (const f of ["mean", "p50", "p95", "max"]) {
              const v = ((research[s] || {}).duration_ms || {})[f];
              durations.push({ label: s + " " + f, value: v === null || v === undefined ? 0 : v, color: STATUS_COLORS[s] });
            }
            chart("research-durations", durations, (p, i) => rows(p, i, (v) => number(Math.round(v)) + " ms"), "No finished research requests yet");

            const events = (telemetry.by_event_type || []).slice(0, 10);
            chart("event-types", events.map((e, k) => ({ label: e.event_type, value: e.count, color: colorOf(k) })), (p, i) => rows(p, i), "No analytics events yet");
          }

          function tile(id, value, text) {
            const node = document.querySelector('[data-tile="' + id + '"]');
            node.dataset.value = value === null || value === undefined ? "" : String(value);
            node.querySelector(".v").textContent = text;
          }

          // ---- wiring -------------------------------------------------------------------------

          $("auth").addEventListener("submit", (event) => {
            event.preventDefault();
            const value = (mode === "jwt" ? $("token") : $("user")).value.trim();
            if (!value) { showMessage(mode === "jwt" ? "Paste a token first." : "Enter a user id first.", "error"); return; }
            credential = value;
            if (mode === "jwt") { store.setItem("researchstore.dashboard.token", value); $("token").value = ""; }
            else store.setItem("researchstore.dashboard.user", value);
            showMessage("Loading…", "info");
            load();
          });
          $("signout").addEventListener("click", () => askForCredential(mode === "jwt" ? "Paste an admin token." : "Enter an admin user id.", "info"));
          $("range").addEventListener("change", load);
          document.addEventListener("visibilitychange", () => { if (!document.hidden) load(); });
          let resizeTimer = null;
          window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(render, 150); });

          if (credential) { showMessage("Loading…", "info"); load(); }
          else askForCredential(mode === "jwt" ? "Paste an admin token to see the numbers." : "Enter the user id to call the admin routes as.", "info");
        })();
        """##
}
