// HookSentry console: small progressive enhancements. Every page works without this file.
"use strict";

document.documentElement.classList.add("js");

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  return new Promise(function (resolve, reject) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    document.body.removeChild(area);
    if (ok) { resolve(); } else { reject(new Error("copy refused")); }
  });
}

function setUpCopyButtons() {
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    // A page with several copy buttons names each one's status line and what it copies.
    var status = document.getElementById(button.getAttribute("data-copy-status") || "copy-status");
    var what = button.getAttribute("data-copy-what") || "The key";
    source.addEventListener("focus", function () { source.select(); });
    button.addEventListener("click", function () {
      copyText(source.value).then(function () {
        button.textContent = "Copied";
        button.classList.add("is-done");
        if (status) { status.textContent = what + " is on your clipboard."; }
      }, function () {
        source.focus();
        source.select();
        if (status) { status.textContent = "Copying was blocked: " + what.charAt(0).toLowerCase() + what.slice(1) + " is selected, press Ctrl+C (⌘C)."; }
      });
    });
  });
}

function setUpAutoSubmit() {
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", function () { form.submit(); });
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  setUpCopyButtons();
  setUpAutoSubmit();
});
