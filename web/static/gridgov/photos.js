/* Photos on every page (docs/media.md): a picker that uploads each chosen photo to
 * POST /api/v1/media at once (a phone offers its camera or its gallery) and keeps the ids in
 * hidden inputs of its form, and thumbnails that open the full photo. The server checks the
 * type by content, strips EXIF and makes the thumbnails; the page only shows what it answers. */
(function () {
  "use strict";
  var gg = (window.gridgov = window.gridgov || {});

  /* The picker, to place inside a <form>: its hidden inputs are named `name` ("media" by
   * default, the field of a case step that attaches photos internally). */
  gg.photoPickerHtml = function (name) {
    return "<div class='gg-photo-picker' data-name='" + gg.esc(name || "media") + "'>" +
      "<label class='gg-photo-add'>" + gg.esc(gg.s("photo.add")) +
      "<input type='file' accept='image/*' multiple></label>" +
      "<ul class='gg-photos gg-photo-list'></ul><p class='gg-photo-status' role='status'></p></div>";
  };

  /* The ids of the uploaded photos of a form's picker (FormData of the form); a photo taken
   * offline is its outbox reference ("{ref:KEY}"), which the outbox resolves before sending. */
  gg.photoIds = function (data, name) {
    return data.getAll(name || "media").map(function (v) { return /^[0-9]+$/.test(v) ? Number(v) : String(v); })
      .filter(function (v) { return typeof v === "number" ? v > 0 : v.indexOf("{ref:") === 0; });
  };
  /* Whether photo ids include one still waiting in the outbox (the write must queue too). */
  gg.photosQueued = function (ids) { return ids.some(function (v) { return typeof v === "string"; }); };

  function thumb(photo) {
    return "<a class='gg-photo' href='" + gg.esc(photo.url) + "' target='_blank' rel='noopener' title='" + gg.esc(gg.s("photo.open")) + "'>" +
      "<img src='" + gg.esc(photo.thumbnail_url) + "' alt='" + gg.esc(gg.s("case.photo")) + "' loading='lazy'></a>";
  }

  /* Thumbnails of a history step's stored photos, and links for its other attachments. */
  gg.stepPhotosHtml = function (h) {
    var photos = (h.photos || []).concat(h.public_photos || []);
    var stored = photos.map(function (p) { return p.url; });
    var links = (h.attachments || []).concat(h.public_attachments || []).filter(function (u) { return stored.indexOf(u) < 0; });
    if (!photos.length && !links.length) return "";
    return "<div class='gg-photos'>" + photos.map(thumb).join("") + links.map(function (u) {
      return "<a href='" + gg.esc(u) + "' target='_blank' rel='noopener'>" + gg.esc(gg.s("case.photo")) + "</a>";
    }).join(" ") + "</div>";
  };

  /* Offline: the photo waits in the outbox (its bytes in IndexedDB) and the form names it by
   * reference; shown from the phone's own copy until it is uploaded. */
  function queue(picker, file) {
    var list = picker.querySelector(".gg-photo-list"), key = gg.outbox.newKey("photo");
    return gg.outbox.upload(key, file, gg.s("case.photo")).then(function (queued) {
      var item = document.createElement("li");
      item.setAttribute("data-queued", key);
      item.innerHTML = "<span class='gg-photo'><img src='" + gg.esc(URL.createObjectURL(file)) + "' alt='" + gg.esc(gg.s("case.photo")) + "'></span>" +
        "<input type='hidden' name='" + gg.esc(picker.getAttribute("data-name")) + "' value='" + gg.esc(gg.outbox.ref(key)) + "'>" +
        "<button type='button' class='gg-photo-remove' aria-label='" + gg.esc(gg.s("photo.remove")) + "'>×</button>";
      list.appendChild(item);
      picker.querySelector(".gg-photo-status").textContent = gg.s("photo.queued");
      queued.sent.then(function (json) { item.setAttribute("data-media-id", json.id); }).catch(function () {});
    });
  }

  /* Patrol findings with their photos (/field and the grid workbench), newest first. */
  gg.findingListHtml = function (findings) {
    if (!findings.length) return "<p class='gg-note'>" + gg.esc(gg.s("none")) + "</p>";
    return "<ol class='gg-list gg-findings'>" + findings.map(function (f) {
      return "<li class='gg-finding' data-finding='" + gg.esc(f.id) + "'><small>" + gg.esc(gg.fmtTime ? gg.fmtTime(f.at) : f.at) + "</small> " +
        gg.esc(f.description) + (f.incident_code ? " <span class='gg-field-case'>" + gg.esc(f.incident_code) + "</span>" : "") +
        gg.stepPhotosHtml({ photos: f.photos || [] }) + "</li>";
    }).join("") + "</ol>";
  };

  function upload(picker, file) {
    var form = picker.closest("form"), list = picker.querySelector(".gg-photo-list");
    var status = picker.querySelector(".gg-photo-status"), body = new FormData();
    body.append("file", file, file.name || "photo");
    var pending = +(picker.getAttribute("data-pending") || 0) + 1;
    picker.setAttribute("data-pending", pending);
    status.textContent = gg.s("photo.uploading");
    // A step sent before its photos arrived would go without them.
    if (form) form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    var offline = function () { return queue(picker, file); };
    var sending = navigator.onLine === false && gg.outbox ? offline() : fetch("/api/v1/media", { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (json) {
          if (!response.ok) throw new Error((json && (json.detail || json.title)) || String(response.status));
          var item = document.createElement("li");
          item.setAttribute("data-media-id", json.id);
          item.innerHTML = thumb(json) + "<input type='hidden' name='" + gg.esc(picker.getAttribute("data-name")) + "' value='" + gg.esc(json.id) + "'>" +
            "<button type='button' class='gg-photo-remove' aria-label='" + gg.esc(gg.s("photo.remove")) + "'>×</button>";
          list.appendChild(item);
          status.textContent = "";
        });
      }, function (err) {
        // The network dropped on the way: keep the photo for later like any offline write.
        if (err instanceof TypeError && gg.outbox) return offline();
        throw err;
      });
    return sending
      .catch(function (err) { status.textContent = gg.s("photo.failed") + "：" + (file.name || "") + " " + err.message; })
      .then(function () {
        var left = +picker.getAttribute("data-pending") - 1;
        picker.setAttribute("data-pending", left);
        if (!left && form) form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
      });
  }

  // Delegated, so a picker works in any form a page renders, whenever it renders it.
  document.addEventListener("change", function (e) {
    var input = e.target;
    if (!input.matches || !input.matches(".gg-photo-picker input[type=file]")) return;
    var picker = input.closest(".gg-photo-picker");
    Array.prototype.forEach.call(input.files || [], function (file) { upload(picker, file); });
    input.value = "";
  });
  document.addEventListener("click", function (e) {
    var remove = e.target.closest && e.target.closest(".gg-photo-remove");
    if (remove) remove.closest("li").remove();
  });
})();
