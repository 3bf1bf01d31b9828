// New source form: show the chosen provider's steps, keep the ingest URL in step with the token.
// Without this file every provider's steps are shown and the URL follows the token on submit.
"use strict";

function setUpProviderGuides(form) {
  var radios = form.querySelectorAll("input[name=provider]");
  var guides = document.querySelectorAll("[data-guide]");
  function show() {
    var chosen = form.querySelector("input[name=provider]:checked");
    guides.forEach(function (guide) {
      guide.hidden = !chosen || guide.getAttribute("data-guide") !== chosen.value;
    });
  }
  radios.forEach(function (radio) { radio.addEventListener("change", show); });
  show();
}

function setUpUrlPreview(form) {
  var token = form.querySelector("#token");
  var preview = document.getElementById("ingest-url");
  if (!token || !preview) { return; }
  var button = document.querySelector("[data-copy-target=ingest-url]");
  var prefix = preview.getAttribute("data-url-prefix");
  token.addEventListener("input", function () {
    preview.value = prefix + token.value.trim();
    if (button) {
      button.textContent = "Copy";
      button.classList.remove("is-done");
    }
  });
}

document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("source-form");
  if (!form) { return; }
  setUpProviderGuides(form);
  setUpUrlPreview(form);
});
