// Upload with a progress bar per file. Without JavaScript the form posts all files at once.
(function () {
  "use strict";

  function sendOne(form, file, item) {
    return new Promise(function (resolve) {
      var data = new FormData();
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.name !== "files" && el.type !== "file" && el.type !== "submit") {
          data.append(el.name, el.value);
        }
      });
      data.append("files", file, file.name);
      var progress = item.querySelector("progress");
      var status = item.querySelector("[data-status]");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) {
          progress.value = Math.round((event.loaded / event.total) * 100);
        }
      });
      xhr.addEventListener("load", function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
        if (xhr.status === 201 && body.documents && body.documents.length) {
          progress.value = 100;
          status.textContent = "";
          var link = document.createElement("a");
          link.href = body.documents[0].url;
          link.textContent = "Gemt: " + body.documents[0].title;
          status.appendChild(link);
          resolve(true);
        } else {
          var error = body.error || {};
          var fields = (error.details && error.details.fields) || {};
          var messages = Object.keys(fields).map(function (k) { return fields[k]; });
          status.textContent = "Fejl: " + (messages.length ? messages.join(" ") : (error.message || "Filen kunne ikke gemmes."));
          item.classList.add("upload-failed");
          resolve(false);
        }
      });
      xhr.addEventListener("error", function () {
        status.textContent = "Fejl: forbindelsen blev afbrudt. Prøv igen.";
        item.classList.add("upload-failed");
        resolve(false);
      });
      xhr.send(data);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("[data-upload-form]");
    if (!form || !window.FormData || !window.XMLHttpRequest) { return; }
    var list = form.querySelector("[data-upload-list]");
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      if (!input.files.length) { return; }  // let the server explain what is missing
      event.preventDefault();
      list.innerHTML = "";
      var files = Array.prototype.slice.call(input.files);
      var chain = Promise.resolve();
      files.forEach(function (file, index) {
        var item = document.createElement("li");
        var label = document.createElement("label");
        label.htmlFor = "upload-progress-" + index;
        label.textContent = file.name + " ";
        var progress = document.createElement("progress");
        progress.id = "upload-progress-" + index;
        progress.max = 100;
        progress.value = 0;
        var status = document.createElement("span");
        status.setAttribute("data-status", "");
        item.appendChild(label);
        item.appendChild(progress);
        item.appendChild(status);
        list.appendChild(item);
        chain = chain.then(function () { return sendOne(form, file, item); });
      });
      chain.then(function () { input.value = ""; });
    });
  });
})();
