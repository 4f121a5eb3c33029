// Makes the page nicer with JavaScript; everything works without it (plain forms, see intake.html).
(function () {
  "use strict";
  var base = document.body.getAttribute("data-base") || "";

  // Show only the contact fields that fit the chosen identity; hidden fields are disabled, so not sent.
  function showGroup(id, shown) {
    var element = document.getElementById(id);
    if (!element) { return; }
    element.hidden = !shown;
    element.querySelectorAll("input").forEach(function (input) { input.disabled = !shown; });
  }
  function showContactFields() {
    var chosen = document.querySelector("input[name=who]:checked");
    var who = chosen ? chosen.value : "anonymous";
    showGroup("contact", who !== "anonymous");  // first: the two groups below are inside it
    showGroup("person-fields", who === "person");
    showGroup("enterprise-fields", who === "enterprise");
  }
  document.querySelectorAll("input[name=who]").forEach(function (radio) {
    radio.addEventListener("change", showContactFields);
  });
  showContactFields();

  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  // Uploads: ask the intake API for a presigned POST per file, then send the file straight to S3.
  var picker = document.getElementById("file-input");
  var form = document.getElementById("complaint-form");
  var list = document.getElementById("attachment-list");
  var problem = document.getElementById("upload-error");
  if (!picker || !form) { return; }
  document.getElementById("js-upload").hidden = false;
  var maxFiles = parseInt(picker.getAttribute("data-max-files"), 10);

  function say(message) {
    problem.textContent = message;
    problem.hidden = !message;
  }

  function attached() { return form.querySelectorAll("input[name=attachment]").length; }

  function upload(file) {
    return fetch(base + "/uploads", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ filename: file.name, content_type: file.type || "application/octet-stream", size: file.size })
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          var error = body.error || {};
          var first = (error.fields || [])[0];
          throw new Error(file.name + "：" + ((first && first.message) || error.message || "无法上传"));
        }
        return body;
      });
    }).then(function (slot) {
      var data = new FormData();
      Object.keys(slot.fields).forEach(function (name) { data.append(name, slot.fields[name]); });
      data.append("file", file);
      return fetch(slot.url, { method: "POST", body: data }).then(function (response) {
        if (!response.ok) { throw new Error(file.name + "：上传失败，请重试"); }
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = "attachment";
        hidden.value = slot.key;
        form.appendChild(hidden);
        var item = document.createElement("li");
        item.textContent = "已上传：" + file.name;
        list.appendChild(item);
      });
    });
  }

  picker.addEventListener("change", function () {
    say("");
    var files = Array.prototype.slice.call(picker.files);
    if (attached() + files.length > maxFiles) {
      say("最多上传 " + maxFiles + " 个附件");
      files = files.slice(0, Math.max(0, maxFiles - attached()));
    }
    var submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    files.reduce(function (previous, file) {
      return previous.then(function () { return upload(file); });
    }, Promise.resolve()).catch(function (error) {
      say(error.message);
    }).then(function () {
      submit.disabled = false;
      picker.value = "";
    });
  });
})();
