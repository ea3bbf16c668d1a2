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
    if (button) {
      button.dataset.idle = button.textContent;
      button.disabled = true;
      button.textContent = button.dataset.busy;
    }
  });

  function refreshStopped(element, text) {
    if (element.querySelector("[data-refresh-stopped]")) return;
    var notice = document.createElement("p");
    notice.className = "notice";
    notice.setAttribute("role", "alert");
    notice.setAttribute("data-refresh-stopped", "");
    notice.textContent = text;
    element.insertBefore(notice, element.firstChild);
  }

  // What had focus inside the fragment, found again in the fresh copy by its label.
  function focusKey(element) {
    var active = document.activeElement;
    if (!active || !element.contains(active)) return null;
    return active.getAttribute("aria-label") || active.textContent.trim();
  }

  function refocus(fresh, key) {
    if (!key) return;
    var candidates = fresh.querySelectorAll("button, a, input, select, textarea");
    for (var i = 0; i < candidates.length; i++) {
      var c = candidates[i];
      if ((c.getAttribute("aria-label") || c.textContent.trim()) === key) { c.focus(); return; }
    }
  }

  function scheduleRefresh(element, failures) {
    var url = element.dataset.refreshUrl;
    if (!url) return;
    failures = failures || 0;
    var seconds = parseFloat(element.dataset.refreshSeconds || "5") * Math.pow(2, Math.min(failures, 4));
    window.setTimeout(function () {
      if (!element.isConnected) return;
      if (document.hidden) { scheduleRefresh(element, failures); return; }
      fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin", redirect: "manual" })
        .then(function (response) {
          if (response.status === 401 || response.status === 403 || response.status === 404 || response.type === "opaqueredirect") {
            refreshStopped(element, "This page stopped updating (signed out, or the item is gone). Reload the page.");
            return null;
          }
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          if (html === null) return;
          var holder = document.createElement("div");
          holder.innerHTML = html.trim();
          var fresh = holder.firstElementChild;
          if (!fresh || fresh.id !== element.id) throw new Error("not the expected fragment");
          if (fresh.innerHTML === element.innerHTML) { scheduleRefresh(element, 0); return; }
          var key = focusKey(element);
          element.replaceWith(fresh);
          refocus(fresh, key);
          scheduleRefresh(fresh, 0);
        })
        .catch(function () { scheduleRefresh(element, failures + 1); });
    }, seconds * 1000);
  }

  // Back to a page from the browser's cache: its busy buttons are not busy any more.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("button[data-busy][disabled]").forEach(function (button) {
      button.disabled = false;
      if (button.dataset.idle) button.textContent = button.dataset.idle;
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh-url]").forEach(function (element) { scheduleRefresh(element, 0); });
  });
})();
