// The dashboard's few behaviours, no build step:
//   <button data-copy="text">      copies the exact text, then says so
//   <div data-refresh-url="..." data-refresh-seconds="5">   swaps itself for a fresh copy
//        of the fragment until the fragment arrives without data-refresh-url (e.g. verified)
//   <select data-autosubmit>        submits its form when changed
//   <form data-confirm="question">  asks before submitting
(function () {
  "use strict";

  function announce(button, text) {
    var original = button.dataset.label || button.textContent;
    button.dataset.label = original;
    button.textContent = text;
    var status = button.parentNode.querySelector("[data-copy-status]");
    if (status) status.textContent = text;
    window.setTimeout(function () { button.textContent = original; if (status) status.textContent = ""; }, 2000);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    // Plain http on a LAN address has no async clipboard: the old way still works there.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    event.preventDefault();
    copyText(button.dataset.copy).then(
      function () { announce(button, "Copied"); },
      function () { announce(button, "Press Ctrl+C"); }
    );
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    var button = form.querySelector("button[type=submit][data-busy]");
    if (button) { button.disabled = true; button.textContent = button.dataset.busy; }
  });

  function scheduleRefresh(element) {
    var url = element.dataset.refreshUrl;
    if (!url) return;
    var seconds = parseFloat(element.dataset.refreshSeconds || "5");
    window.setTimeout(function () {
      if (!element.isConnected) return;
      if (document.hidden) { scheduleRefresh(element); return; }
      fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html.trim();
          var fresh = holder.firstElementChild;
          if (!fresh) return;
          element.replaceWith(fresh);
          scheduleRefresh(fresh);
        })
        .catch(function () { scheduleRefresh(element); });
    }, seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh-url]").forEach(scheduleRefresh);
  });
})();
