// The agreement editor: tell the others which section you are in (a heartbeat every 10 s),
// show who else is in each section, and add rows to a trappemodel table.
// Without JavaScript the form still works: one empty row is always there to fill in.
(function () {
  "use strict";

  var HEARTBEAT_MS = 10000;

  function startPresence(form) {
    var url = form.getAttribute("data-presence-url");
    var label = form.getAttribute("data-presence-label") || "";
    var token = form.querySelector("input[name=csrf_token]");
    var current = null;

    function show(sections) {
      Array.prototype.forEach.call(form.querySelectorAll("[data-presence-for]"), function (element) {
        var names = sections[element.getAttribute("data-presence-for")] || [];
        var text = names.length ? label + " " + names.join(", ") : "";
        if (element.textContent !== text) { element.textContent = text; }  // announce changes only
      });
    }

    function beat() {
      if (!current || !window.fetch) { return; }
      var data = new FormData();
      data.append("section_id", current);
      if (token) { data.append("csrf_token", token.value); }
      fetch(url, { method: "POST", body: data, credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) {
          if (!answer) { return; }
          var sections = answer.sections || {};
          sections[answer.section_id] = answer.editing || [];
          show(sections);
        })
        .catch(function () { /* the next beat tries again */ });
    }

    form.addEventListener("focusin", function (event) {
      var section = event.target.closest ? event.target.closest("[data-section]") : null;
      var id = section ? section.getAttribute("data-section") : null;
      if (id && id !== current) {
        current = id;
        beat();
      }
    });
    window.setInterval(beat, HEARTBEAT_MS);
  }

  function renumber(row, sectionId, index) {
    var pattern = new RegExp("step-" + sectionId + "-\\d+-");
    var replacement = "step-" + sectionId + "-" + index + "-";
    Array.prototype.forEach.call(row.querySelectorAll("[name], [id], [for], [aria-describedby]"), function (element) {
      ["name", "id", "for", "aria-describedby"].forEach(function (attribute) {
        var value = element.getAttribute(attribute);
        if (value) { element.setAttribute(attribute, value.replace(pattern, replacement)); }
      });
    });
    Array.prototype.forEach.call(row.querySelectorAll("[data-row-number]"), function (element) {
      element.textContent = String(index + 1);
    });
  }

  function startStepTable(button) {
    var sectionId = button.getAttribute("data-add-step");
    var table = document.querySelector("table[data-steps='" + sectionId + "']");
    if (!table) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var rows = table.querySelectorAll("tbody tr[data-step-row]");
      var last = rows[rows.length - 1];
      var row = last.cloneNode(true);
      Array.prototype.forEach.call(row.querySelectorAll("input, select, textarea"), function (element) {
        if (element.type === "checkbox") { element.checked = false; }
        else if (element.tagName === "SELECT") { element.selectedIndex = 0; }
        else { element.value = ""; }
        element.removeAttribute("aria-invalid");
        element.removeAttribute("aria-describedby");
      });
      Array.prototype.forEach.call(row.querySelectorAll(".form-error-message"), function (element) {
        element.parentNode.removeChild(element);
      });
      Array.prototype.forEach.call(row.querySelectorAll(".form-error"), function (element) {
        element.classList.remove("form-error");
      });
      renumber(row, sectionId, rows.length);
      last.parentNode.appendChild(row);
      var first = row.querySelector("select, input, textarea");
      if (first) { first.focus(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-presence-url]");
    if (form) { startPresence(form); }
    Array.prototype.forEach.call(document.querySelectorAll("[data-add-step]"), startStepTable);
  });
})();
