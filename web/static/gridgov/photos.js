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

  /* The ids of the uploaded photos of a form's picker (FormData of the form). */
  gg.photoIds = function (data, name) {
    return data.getAll(name || "media").map(Number).filter(function (n) { return n > 0; });
  };

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

  function upload(picker, file) {
    var form = picker.closest("form"), list = picker.querySelector(".gg-photo-list");
    var status = picker.querySelector(".gg-photo-status"), body = new FormData();
    body.append("file", file, file.name || "photo");
    var pending = +(picker.getAttribute("data-pending") || 0) + 1;
    picker.setAttribute("data-pending", pending);
    status.textContent = gg.s("photo.uploading");
    // A step sent before its photos arrived would go without them.
    if (form) form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    return fetch("/api/v1/media", { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
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
      })
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
