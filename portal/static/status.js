// While a document's text is being extracted and indexed, show the progress, then reload once it is done.
(function () {
  "use strict";
  var labels = {
    pending: "Gøres søgbar…", extracted: "Søgbar", needs_ocr: "Venter på tekstgenkendelse",
    failed: "Kunne ikke læses", unsupported: "Ikke søgbar"
  };
  document.addEventListener("DOMContentLoaded", function () {
    var element = document.querySelector("[data-status-url]");
    if (!element || element.getAttribute("data-status") !== "pending" || !window.fetch) { return; }
    var delay = 1500;
    function poll() {
      fetch(element.getAttribute("data-status-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          if (!state) { return; }
          if (state.status !== "pending") { window.location.reload(); return; }
          var job = state.job || {};
          var text = labels.pending;
          if (job.status === "running") { text = "Teksten udtrækkes nu…"; }
          else if (job.attempts > 0) { text = "Venter på nyt forsøg (forsøg " + job.attempts + ")…"; }
          element.textContent = text;
          delay = Math.min(delay * 1.5, 15000);
          window.setTimeout(poll, delay);
        })
        .catch(function () { window.setTimeout(poll, 15000); });
    }
    window.setTimeout(poll, delay);
  });
})();
