/* crampwatch page behaviour (no inline scripts): charts, local times, what-if form safety, report form. */
(function () {
  "use strict";

  // Elements matching `selector` in `root`, `root` itself included: htmx hands over each swapped-in top-level
  // element, which may be the chart or the time element itself.
  function within(root, selector) {
    var found = root.querySelectorAll ? Array.prototype.slice.call(root.querySelectorAll(selector)) : [];
    if (root.matches && root.matches(selector)) { found.unshift(root); }
    return found;
  }

  // A trace whose meta names a moment ({datetime: ISO, label: its UTC date}) shows that date in the viewer's zone.
  // A figure whose layout.meta is {local_x: true} has UTC moments (ISO 8601 with offset) on its x axes:
  // traces, axis ranges, shapes and annotations are drawn at the viewer's wall-clock time.
  function wallClock(iso) {
    if (typeof iso !== "string") { return iso; }
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return iso; }
    return localDate(d) + " " + localClock(d) + ":" + two(d.getSeconds());
  }
  function localLabels(traces) {
    traces.forEach(function (tr) {
      var meta = tr.meta;
      if (!meta || !meta.datetime || !meta.label) { return; }
      var d = new Date(meta.datetime);
      if (isNaN(d.getTime())) { return; }
      var local = localDate(d);
      if (tr.name) { tr.name = tr.name.split(meta.label).join(local); }
      if (tr.hovertemplate) { tr.hovertemplate = tr.hovertemplate.split(meta.label).join(local); }
    });
  }

  function onDateAxis(ref) { return /^x\d*$/.test(ref || "x"); }
  function localFigure(fig) {
    var layout = fig.layout || {};
    if (!layout.meta || !layout.meta.local_x) { return; }
    (fig.data || []).forEach(function (tr) { if (tr.x) { tr.x = tr.x.map(wallClock); } });
    Object.keys(layout).forEach(function (key) {
      if (/^xaxis\d*$/.test(key) && layout[key].range) { layout[key].range = layout[key].range.map(wallClock); }
    });
    (layout.shapes || []).forEach(function (s) {
      if (onDateAxis(s.xref)) { s.x0 = wallClock(s.x0); s.x1 = wallClock(s.x1); }
    });
    (layout.annotations || []).forEach(function (a) { if (onDateAxis(a.xref)) { a.x = wallClock(a.x); } });
  }

  // ---- charts: <div class="plot"><script type="application/json" class="plot-figure">{...}</script></div>
  function drawPlots(root) {
    if (typeof Plotly === "undefined") { return; }
    within(root, "div.plot").forEach(function (box) {
      if (box.dataset.drawn) { return; }
      var block = box.querySelector("script.plot-figure");
      if (!block) { return; }
      var fig = JSON.parse(block.textContent);
      localLabels(fig.data || []);
      localFigure(fig);
      var target = document.createElement("div");
      box.appendChild(target);
      box.dataset.drawn = "1";
      Plotly.newPlot(target, fig.data, fig.layout, fig.config);
    });
  }

  // ---- times: <time datetime="ISO" data-format="datetime|date|time"> shown in the viewer's zone, zone named
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function localDate(d) { return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()); }
  function localClock(d) { return two(d.getHours()) + ":" + two(d.getMinutes()); }
  function zoneName(d) {
    try {
      var parts = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(d);
      for (var i = 0; i < parts.length; i++) { if (parts[i].type === "timeZoneName") { return parts[i].value; } }
    } catch (e) { /* old browser: fall back to the offset */ }
    var off = -d.getTimezoneOffset();
    return "UTC" + (off >= 0 ? "+" : "-") + two(Math.floor(Math.abs(off) / 60)) + ":" + two(Math.abs(off) % 60);
  }
  function localTimes(root) {
    within(root, "time[datetime], option[data-datetime]").forEach(function (el) {
      if (el.dataset.local) { return; }
      var d = new Date(el.getAttribute("datetime") || el.dataset.datetime);
      if (isNaN(d.getTime())) { return; }
      var date = localDate(d);
      var time = localClock(d);
      var fmt = el.dataset.format || "datetime";
      var days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
      var text = fmt === "date" ? date : fmt === "weekday" ? days[d.getDay()] + " " + date
        : date + " " + time + " " + zoneName(d);
      el.title = el.textContent.trim();
      el.textContent = (el.dataset.prefix || "") + text;
      el.dataset.local = "1";
    });
    document.querySelectorAll(".tz-name").forEach(function (el) { el.textContent = zoneName(new Date()); });
    localTitle();
  }
  // A heading <h1 data-title-prefix="Session "> whose <time> was localized names the page by the local date.
  function localTitle() {
    var heading = document.querySelector("h1[data-title-prefix]");
    var moment = heading && heading.querySelector("time[datetime]");
    if (!moment) { return; }
    var d = new Date(moment.getAttribute("datetime"));
    if (isNaN(d.getTime())) { return; }
    var date = localDate(d);
    document.title = heading.dataset.titlePrefix + date + " · crampwatch";
  }

  // ---- what-if panel: clear a result as soon as the inputs change; errors replace the result
  function clearResult(form, message) {
    var target = document.querySelector(form.getAttribute("hx-target"));
    if (target) {
      target.innerHTML = "";
      if (message) {
        var p = document.createElement("p");
        p.className = "muted stale-note";
        p.textContent = message;
        target.appendChild(p);
      }
    }
  }
  function setupWhatIf(root) {
    root.querySelectorAll("form.whatif-form").forEach(function (form) {
      if (form.dataset.ready) { return; }
      form.dataset.ready = "1";
      var onEdit = function (ev) {
        if (ev.target && ev.target.name === "dialysate_na_mmol_l" && form.dialysate_na_profile) {
          form.dialysate_na_profile.value = "";  // a typed Na replaces a suggested Na profile
        }
        clearResult(form, "Inputs changed: press Simulate to see the result for these values.");
      };
      form.addEventListener("input", onEdit);
      form.addEventListener("change", onEdit);
    });
    root.querySelectorAll("button[data-whatif]").forEach(function (button) {
      if (button.dataset.ready) { return; }
      button.dataset.ready = "1";
      button.addEventListener("click", function () { fillWhatIf(JSON.parse(button.dataset.whatif), button.dataset.label); });
    });
  }
  function fillWhatIf(settings, label) {
    var form = document.querySelector("form.whatif-form");
    if (!form) { return; }
    if (form.dialysate_na_profile) { form.dialysate_na_profile.value = ""; }
    Object.keys(settings).forEach(function (name) {
      var field = form.elements[name];
      if (!field) { return; }
      var value = settings[name];
      var text = typeof value === "object" ? JSON.stringify(value) : String(value);
      if (field.tagName === "SELECT") {
        var option = Array.prototype.find.call(field.options, function (o) { return o.value === text; });
        if (!option) {
          option = new Option("custom profile (suggested)", text);
          field.add(option);
        }
        field.value = text;
      } else {
        field.value = text;
      }
    });
    var note = form.querySelector(".filled-note");
    if (note) { note.textContent = "Form filled with " + (label || "the suggestion") + "."; }
    clearResult(form, "");
    form.scrollIntoView({ block: "start" });
    form.requestSubmit();
  }

  // ---- patient report form: local time pre-filled, offset and zone sent with it
  var SENT_REPORT_KEY = "crampwatch.sentReportKey";
  function setupReportForm(root) {
    var f = root.querySelector ? root.querySelector("#report-form") : null;
    if (!f || f.dataset.ready) { return; }
    f.dataset.ready = "1";
    var d = new Date();
    f.tz_offset_min.value = d.getTimezoneOffset();
    if (f.tz_name) { try { f.tz_name.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* none */ } }
    if (!f.reported_at.value) {
      f.reported_at.value = new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
    }
    // A report sent from this tab keeps its idempotency key: going Back to the form (a fresh page, as pages
    // are not cached) and sending again names the same report, which the server stores once.
    var navigation = window.performance && performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
    var sent = null;
    try { sent = window.sessionStorage.getItem(SENT_REPORT_KEY); } catch (e) { /* storage off: no reuse */ }
    if (sent && navigation && navigation.type === "back_forward") { f.idempotency_key.value = sent; }
    var button = f.querySelector("button[type=submit]");
    f.addEventListener("submit", function () {
      try { window.sessionStorage.setItem(SENT_REPORT_KEY, f.idempotency_key.value); } catch (e) { /* none */ }
      button.disabled = true;
    });
    // restored from the back-forward cache: the same form and key, sendable again (stored once)
    window.addEventListener("pageshow", function (ev) { if (ev.persisted) { button.disabled = false; } });
  }

  function setup(root) {
    drawPlots(root);
    localTimes(root);
    setupWhatIf(root);
    setupReportForm(root);
  }

  document.addEventListener("DOMContentLoaded", function () { setup(document); });
  document.addEventListener("htmx:load", function (ev) { setup(ev.detail.elt); });
  // A failed request (500, 403, network) clears the panel and says so: no stale result under new inputs.
  function failed(ev) {
    var target = ev.detail.target;
    if (!target) { return; }
    var status = ev.detail.xhr ? ev.detail.xhr.status : 0;
    target.innerHTML = "";
    var p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    var retry = ev.detail.xhr ? ev.detail.xhr.getResponseHeader("Retry-After") : null;
    if (status === 429 && retry) {
      p.textContent = "The server is busy with other computations. Try again in " + retry + " s.";
    } else {
      p.textContent = status ? "The server could not answer (HTTP " + status + "). No result is shown for these inputs."
        : "The server could not be reached. No result is shown for these inputs.";
    }
    target.appendChild(p);
  }
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);
  // Before each request the previous result goes: it belongs to other inputs.
  document.addEventListener("htmx:beforeRequest", function (ev) {
    var form = ev.detail.elt;
    if (form && form.classList && form.classList.contains("whatif-form")) { clearResult(form, ""); }
  });
})();
