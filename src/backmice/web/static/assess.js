// Assessment form: as it is filled, post the answers so far to /api/v1/interview/next
// and show the result (red flags, triage, differential with intervals and evidence) and
// the next best question, highlighted in the form and announced politely. Nothing is
// stored until the form is saved. Without this script, "Update result" does the same.
(function () {
  "use strict";
  var form = document.getElementById("assess-form");
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (!form || !meta || !window.fetch || !document.getElementById("live-flags")) { return; }
  var url = form.getAttribute("data-interview-url");
  var token = meta.getAttribute("content");
  var fields = Array.prototype.slice.call(form.querySelectorAll("[data-finding]"));
  var labels = {};
  fields.forEach(function (f) { labels[f.getAttribute("data-finding")] = f.getAttribute("data-label"); });
  var box = {
    errors: document.getElementById("live-errors"),
    flags: document.getElementById("live-flags"),
    triage: document.getElementById("live-triage"),
    next: document.getElementById("live-next"),
    status: document.getElementById("live-status"),
    differential: document.getElementById("live-differential"),
    summary: document.getElementById("live-summary")
  };
  var timer = null;
  var sent = 0;
  var shownFlags = null;
  var shownNext = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function percent(p) {
    if (p < 0.005) { return "<1%"; }
    if (p > 0.995) { return ">99%"; }
    return Math.round(p * 100) + "%";
  }

  function words(value) {
    if (value === true) { return "yes"; }
    if (value === false) { return "no"; }
    return String(value).replace(/_/g, " ");
  }

  function state() {
    var answers = {};
    var skipped = [];
    fields.forEach(function (f) {
      var id = f.getAttribute("data-finding");
      var type = f.getAttribute("data-type");
      var raw = "";
      if (type === "boolean") {
        var checked = f.querySelector("input:checked");
        raw = checked ? checked.value : "";
      } else {
        var input = f.querySelector("select, input");
        raw = input ? input.value.trim() : "";
      }
      if (raw === "") { return; }
      if (raw === "unknown") { skipped.push(id); return; }
      if (type === "boolean") { answers[id] = raw === "yes"; }
      else if (type === "enum") { answers[id] = raw; }
      else if (isFinite(Number(raw))) { answers[id] = Number(raw); }
    });
    return { setting: form.elements.namedItem("setting").value, answers: answers, skipped: skipped };
  }

  function showErrors(problems) {
    clear(box.errors);
    if (!problems.length) { return; }
    var alert = el("div", "alert");
    alert.appendChild(el("p", "", "Please check:"));
    var list = el("ul");
    problems.forEach(function (p) { list.appendChild(el("li", "", (p.field ? p.field + ": " : "") + p.message)); });
    alert.appendChild(list);
    box.errors.appendChild(alert);
  }

  function showFlags(flags) {
    var key = flags.map(function (f) { return f.id; }).join(" ");
    if (key === shownFlags) { return; }
    shownFlags = key;
    clear(box.flags);
    flags.forEach(function (f) {
      var div = el("div", "flag");
      var p = el("p");
      p.appendChild(el("strong", "", f.severity.toUpperCase() + ":"));
      p.appendChild(document.createTextNode(" " + f.message));
      div.appendChild(p);
      box.flags.appendChild(div);
    });
  }

  function showTriage(level, flags) {
    clear(box.triage);
    box.triage.appendChild(el("span", "badge triage-" + level, words(level)));
    if (box.summary) {
      var n = flags.length;
      box.summary.textContent = "Triage " + words(level) + " · " + (n || "no") + " red flag" +
        (n === 1 ? "" : "s") + " — see the result";
      box.summary.classList.toggle("has-flags", n > 0);
    }
  }

  function evidenceItem(e) {
    var li = el("li", "", (labels[e.finding] || words(e.finding)) + ": " + words(e.value) +
      " · LR " + Number(e.likelihood_ratio.toPrecision(2)) + " ");
    if (e.basis === "published") {
      var text = "published" + (e.sources && e.sources.length ? ": " + e.sources.map(words).join(", ") : "");
      li.appendChild(el("span", "basis published", text));
    } else {
      li.appendChild(el("span", "basis estimate", "expert estimate"));
    }
    return li;
  }

  function showDifferential(rows) {
    var list = el("ol", "differential");
    rows.slice(0, 5).forEach(function (d) {
      var li = el("li");
      var line = el("div", "line");
      line.appendChild(el("span", "name", d.name));
      line.appendChild(el("strong", "", percent(d.probability)));
      li.appendChild(line);
      var meter = el("div", "bar-meter");
      meter.setAttribute("aria-hidden", "true");
      meter.appendChild(el("span", "w" + Math.round(d.probability * 20) * 5));
      li.appendChild(meter);
      li.appendChild(el("p", "interval", "5–95% interval: " + percent(d.interval[0]) + " to " + percent(d.interval[1])));
      if (d.evidence && d.evidence.length) {
        var ul = el("ul", "evidence");
        d.evidence.slice(0, 3).forEach(function (e) { ul.appendChild(evidenceItem(e)); });
        li.appendChild(ul);
      }
      list.appendChild(li);
    });
    clear(box.differential);
    box.differential.appendChild(list);
  }

  function showNext(finding, text, firm) {
    fields.forEach(function (f) {
      f.classList.toggle("next-best", f.getAttribute("data-finding") === finding);
    });
    clear(box.next);
    var p = el("p");
    if (finding) {
      p.appendChild(el("strong", "", "Next best question:"));
      p.appendChild(document.createTextNode(" "));
      var link = el("a", "", text);
      link.href = "#f-" + finding;
      link.addEventListener("click", function () {
        var target = document.getElementById("f-" + finding);
        var input = target && target.querySelector("input, select");
        if (input) { window.setTimeout(function () { input.focus(); }, 0); }
      });
      p.appendChild(link);
    } else if (firm) {
      p.appendChild(el("strong", "", "The result is firm:"));
      p.appendChild(document.createTextNode(" no further question is likely to change the leading condition."));
    }
    box.next.appendChild(p);
    var said = finding ? "Next best question: " + text : "The result is firm.";
    if (said !== shownNext) {
      shownNext = said;
      box.status.textContent = said;
    }
  }

  function update() {
    var mine = ++sent;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify(state())
    }).then(function (response) {
      return response.json().then(function (body) { return { status: response.status, body: body }; });
    }).then(function (answer) {
      if (mine !== sent) { return; } // a newer answer is on its way
      if (answer.status === 200) {
        var data = answer.body;
        showErrors([]);
        showFlags(data.result.red_flags);
        showTriage(data.result.triage, data.result.red_flags);
        showDifferential(data.result.differential);
        showNext(data.finding, data.text, data.firm);
      } else if (answer.status === 422) {
        showErrors(answer.body.errors || []);
      } else {
        showErrors([{ field: "", message: "The result could not be updated (your session may have ended): reload the page." }]);
      }
    }).catch(function () {
      if (mine === sent) {
        showErrors([{ field: "", message: "The result could not be updated: check the connection, or use “Update result”." }]);
      }
    });
  }

  function schedule() {
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(update, 250);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  shownFlags = box.flags.getAttribute("data-ids") || "";
})();
