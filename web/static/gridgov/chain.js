/* /party/chain: the chain from the street's committee down to the 党员中心户, as a tree.
   Strings from the page's data block; the tree from /api/v1/party/chain (public). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("gg-chain-data").textContent);
  var S = data.strings;
  var form = document.getElementById("gg-chain-form");
  var box = document.getElementById("gg-chain");
  var message = document.getElementById("gg-message");

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function fmt(template, n) { return template.replace("{n}", String(n)); }

  function tree(nodes) {
    var ul = el("ul", null, "gg-tree");
    nodes.forEach(function (n) {
      var li = el("li");
      li.dataset.level = n.level;
      li.dataset.code = n.code;
      li.appendChild(el("span", n.kind, "gg-kind"));
      li.appendChild(el("span", n.name));
      var count = n.level === "household" ? fmt(S.serves, n.serves) : fmt(S.members, n.members);
      li.appendChild(el("span", count, "gg-count"));
      if (n.children.length) li.appendChild(tree(n.children));
      ul.appendChild(li);
    });
    return ul;
  }

  function load(within) {
    message.textContent = "";
    fetch("/api/v1/party/chain?within=" + encodeURIComponent(within), { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (body) { box.textContent = ""; box.appendChild(tree(body.items)); })
      .catch(function () { message.textContent = S.load_failed; });
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); load(form.elements.within.value.trim()); });
  var initial = new URLSearchParams(window.location.search).get("within");
  if (initial) { form.elements.within.value = initial; load(initial); }
})();
