/* /admin/audit: who saw this person's data. Asks GET /api/v1/audit/disclosures with the
   session cookie and lists the rows; every text is escaped by textContent. */
(function () {
  "use strict";
  var form = document.getElementById("gg-audit-form");
  var input = document.getElementById("gg-audit-subject");
  var message = document.getElementById("gg-audit-message");
  var table = document.getElementById("gg-audit-table");
  var body = table.querySelector("tbody");

  function say(text) {
    message.textContent = text;
  }

  function cell(row, value) {
    var td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "" : String(value);
    row.appendChild(td);
  }

  function when(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? iso : d.toLocaleString(document.documentElement.lang || "zh-CN", { hour12: false });
  }

  function show(json) {
    body.textContent = "";
    if (!json.found) {
      table.hidden = true;
      say(message.dataset.unknown);
      return;
    }
    json.items.forEach(function (item) {
      var row = document.createElement("tr");
      [when(item.at), item.username, item.role, item.action, item.target, item.purpose, item.client, item.rows]
        .forEach(function (value) { cell(row, value); });
      body.appendChild(row);
    });
    table.hidden = json.items.length === 0;
    say(json.items.length ? message.dataset.matches + "：" + json.keys.join("，") : message.dataset.none);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var subject = input.value.trim();
    if (!subject) return;
    fetch("/api/v1/audit/disclosures?subject=" + encodeURIComponent(subject), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(show)
      .catch(function () {
        table.hidden = true;
        say(message.dataset.failed);
      });
  });
})();
