// Chairside view: tiles updated from the server-sent event stream /api/chairs/stream (no polling);
// acknowledge in two taps (Acknowledge, then a reason); optional sound when a chair enters alert.
(function () {
  "use strict";
  var grid = document.getElementById("chairs");
  var timeline = document.getElementById("timeline");
  if (!grid && !timeline) return;
  var csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
  var LEVEL_TEXT = { alert: "ALERT", watch: "Watch", none: "No warning" };

  function num(v) {
    if (v === null || v === undefined || isNaN(v)) return "–";
    var a = Math.abs(v);
    return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  }
  function latest(c, name) { return c.latest && c.latest[name] ? c.latest[name][1] : null; }
  function pct(v) { return v === null || v === undefined ? "–" : Math.round(v * 100) + " %"; }

  function beep() {
    if (!document.getElementById("sound") || !document.getElementById("sound").checked) return;
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator();
      osc.frequency.value = 880; osc.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.4);
    } catch (e) { /* no audio */ }
  }

  function setField(tile, field, text) {
    var el = tile.querySelector('[data-field="' + field + '"]');
    if (el) el.textContent = text;
  }

  // The latest measured value of each signal on a tile (signal -> [t_min, value]): from the measured values
  // of each stored message (at once) and from the engine's updates (which may come later), newest wins.
  function merged(tile, values) {
    var have = tile._latest || (tile._latest = {});
    Object.keys(values || {}).forEach(function (k) {
      if (!have[k] || values[k][0] >= have[k][0]) have[k] = values[k];
    });
    return { latest: have };
  }

  function showMeasured(tile, t, values) {
    var m = merged(tile, values);
    var shownT = parseFloat(tile.getAttribute("data-t-min"));
    if (isNaN(shownT) || t >= shownT) {
      tile.setAttribute("data-t-min", t);
      setField(tile, "t_min", num(t) + " min");
    }
    if (m.latest.rbv_pct) setField(tile, "rbv", num(latest(m, "rbv_pct")));
    if (m.latest.sbp_mmhg) setField(tile, "bp", num(latest(m, "sbp_mmhg")) + "/" + num(latest(m, "dbp_mmhg")));
    if (m.latest.uf_rate_ml_h) setField(tile, "uf", num(latest(m, "uf_rate_ml_h")));
  }

  // The tile's patient: name (else id), linked to the chair's live timeline.
  function setWho(tile, c) {
    var who = tile.querySelector(".who");
    who.textContent = c.patient_name || c.patient_id;
    who.setAttribute("href", "/chairs/" + c.session_id);
  }

  function fill(tile, c) {
    var before = tile.getAttribute("data-level");
    tile.className = "chair level-" + (c.level || "none");
    tile.setAttribute("data-level", c.level || "none");
    tile.setAttribute("data-seq", c.seq === undefined || c.seq === null ? "" : c.seq);
    setWho(tile, c);
    setField(tile, "level", LEVEL_TEXT[c.level] || c.level);
    setField(tile, "risk", pct(c.cramp_risk_30min));
    var f = c.forecast_30min;
    setField(tile, "rbv_band", f ? num(f.rbv_pct) + " (" + num(f.rbv_pct_lo) + "–" + num(f.rbv_pct_hi) + ")" : "–");
    tile.setAttribute("data-forecast-t-min", c.t_min);
    showMeasured(tile, c.t_min, c.latest);
    setField(tile, "cause", c.cause_label || "none identified");
    setField(tile, "action", c.action || "–");
    setField(tile, "effect", c.action_effect ? String(c.action_effect.text || c.action_effect) : "");
    if (c.level === "alert" && before !== "alert") beep();
  }

  function tileFor(c) {
    var tile = grid.querySelector('[data-session="' + c.session_id + '"]');
    if (!tile) {
      tile = document.getElementById("chair-template").content.firstElementChild.cloneNode(true);
      tile.setAttribute("data-session", c.session_id);
      grid.appendChild(tile);
      document.getElementById("no-chairs").hidden = true;
    }
    return tile;
  }

  function acknowledge(tile, reason, snooze) {
    var id = tile.getAttribute("data-session");
    fetch("/api/chairs/" + encodeURIComponent(id) + "/acknowledge", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ reason: reason, snooze_min: snooze })
    }).then(function (r) { tile.setAttribute("data-acknowledged", r.ok ? "yes" : "failed"); });
    tile.querySelector(".ack-reasons").hidden = true;
  }

  if (grid) {
    grid.addEventListener("click", function (ev) {
      var tile = ev.target.closest(".chair");
      if (!tile) return;
      if (ev.target.classList.contains("ack-open")) {
        tile.querySelector(".ack-reasons").hidden = false;   // first tap
      } else if (ev.target.classList.contains("ack-reason")) { // second tap
        acknowledge(tile, ev.target.getAttribute("data-reason"), parseFloat(ev.target.getAttribute("data-snooze")));
      }
    });
    Array.prototype.forEach.call(grid.querySelectorAll(".chair"), function (t) {
      t.setAttribute("data-level", (t.className.match(/level-(\w+)/) || [])[1] || "none");
    });
  }

  function addRow(c) {
    var tr = document.createElement("tr");
    tr.className = "level-" + (c.level || "none");
    [num(c.t_min), c.cramp_risk_30min === null || c.cramp_risk_30min === undefined ? "–" : Math.round(c.cramp_risk_30min * 100),
     c.level, num(latest(c, "rbv_pct")), num(latest(c, "sbp_mmhg")), num(latest(c, "uf_rate_ml_h")),
     c.cause_label || "–", c.action || "–"].forEach(function (text) {
      var td = document.createElement("td"); td.textContent = String(text); tr.appendChild(td);
    });
    timeline.querySelector("tbody").appendChild(tr);
  }

  var state = document.getElementById("stream-state");
  var source = new EventSource("/api/chairs/stream");
  source.onopen = function () { if (state) { state.textContent = "live"; state.setAttribute("data-state", "live"); } };
  source.onerror = function () { if (state) { state.textContent = "reconnecting…"; state.setAttribute("data-state", "reconnecting"); } };
  source.addEventListener("update", function (ev) {
    var c = JSON.parse(ev.data);
    if (grid) {
      var tile = tileFor(c);
      var seq = parseInt(tile.getAttribute("data-seq"), 10);
      if (!isNaN(seq) && c.seq !== undefined && c.seq <= seq) return;
      fill(tile, c);
    } else if (timeline.getAttribute("data-session") === c.session_id) {
      addRow(c);
    }
  });
  source.addEventListener("measured", function (ev) {
    if (!grid) return;
    var c = JSON.parse(ev.data);
    var tile = tileFor(c);
    if (!tile.getAttribute("data-seq") && !tile.querySelector(".who").textContent) setWho(tile, c);
    var seq = parseInt(tile.getAttribute("data-measured-seq"), 10);
    if (!isNaN(seq) && c.seq <= seq) return;
    tile.setAttribute("data-measured-seq", c.seq);
    showMeasured(tile, c.t_min, c.values);
  });
  source.addEventListener("closed", function (ev) {
    var id = JSON.parse(ev.data).session_id;
    if (grid) {
      var tile = grid.querySelector('[data-session="' + id + '"]');
      if (tile) tile.remove();
      document.getElementById("no-chairs").hidden = grid.children.length > 0;
    }
  });
})();
