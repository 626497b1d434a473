/* Serving residents' pages (web/residents_pages.py): every form[data-post] is sent as JSON to
   its /api/v1 path (the resident's link is in the path; staff send their session cookie), then
   the page reloads to show what was stored. A refusal shows the API's problem detail. Inputs
   marked data-type="int" are sent as numbers, data-type="local-time" as ISO 8601 with the
   browser's offset; empty optional fields are left out. */
(function () {
  "use strict";
  var message = document.getElementById("gg-message");

  function localIso(value) {
    var d = new Date(value);
    var off = -d.getTimezoneOffset();
    var sign = off >= 0 ? "+" : "-";
    var pad = function (n) { return String(Math.floor(Math.abs(n))).padStart(2, "0"); };
    return value + ":00" + sign + pad(off / 60) + ":" + pad(off % 60);
  }

  function body(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.value === "") return;
      var kind = el.getAttribute("data-type");
      out[el.name] = kind === "int" ? parseInt(el.value, 10)
        : kind === "local-time" ? localIso(el.value) : el.value;
    });
    return out;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var path = form.getAttribute("data-post");
    if (!path) return;
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body(form))
    }).then(function (response) {
      if (response.ok) { window.location.reload(); return null; }
      return response.json().then(function (problem) {
        var detail = problem.detail;
        if (Array.isArray(detail)) detail = detail.map(function (d) { return d.msg; }).join("; ");
        message.textContent = detail || problem.title || String(response.status);
        if (button) button.disabled = false;
      });
    }).catch(function () {
      message.textContent = "网络错误，请重试 / Network error, try again";
      if (button) button.disabled = false;
    });
  });
})();
