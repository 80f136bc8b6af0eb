// Upload page: drag and drop, checks the browser can make before sending (size, type, and the
// length against the plan and its minutes left), and an XMLHttpRequest upload with a progress
// bar and speed. The server's errors land next to their field. Without JavaScript the form posts normally and the server renders the same errors.
(function () {
  "use strict";

  var form = document.getElementById("upload-form");
  if (!form) return;
  var input = form.querySelector("#id_file");
  var zone = form.querySelector("[data-dropzone]");
  var nameBox = form.querySelector("[data-file-name]");
  var submit = form.querySelector("[data-submit]");
  var progressBox = form.querySelector("[data-upload-progress]");
  var bar = progressBox.querySelector(".progress");
  var pct = progressBox.querySelector("[data-upload-pct]");
  var speed = progressBox.querySelector("[data-upload-speed]");
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
  var maxMb = form.getAttribute("data-max-mb");
  var plan = form.getAttribute("data-plan");
  var maxSeconds = parseInt(form.getAttribute("data-max-seconds"), 10) || 0;
  var leftAttr = form.getAttribute("data-left-seconds");
  var leftSeconds = leftAttr ? parseInt(leftAttr, 10) : null; // null: the plan allows overage
  var duration = Promise.resolve(null); // the chosen file's length in seconds, once known
  var AUDIO_EXT = /\.(mp3|wav|wave|flac|m4a|mp4|aac|ogg|oga|opus|aif|aiff|aifc|wma|webm|mka|wv|ape|caf|ac3|amr|au)$/i;

  function formatBytes(bytes) {
    if (bytes >= 1024 * 1024 * 1024) return (bytes / 1024 / 1024 / 1024).toFixed(2) + " GB";
    if (bytes >= 1024 * 1024) return (bytes / 1024 / 1024).toFixed(1) + " MB";
    if (bytes >= 1024) return Math.round(bytes / 1024) + " KB";
    return bytes + " B";
  }

  function clearErrors() {
    form.querySelectorAll("[data-error-for]").forEach(function (box) {
      box.hidden = true;
      box.textContent = "";
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function showError(field, messages) {
    var box = form.querySelector('[data-error-for="' + field + '"]') ||
      form.querySelector('[data-error-for="__all__"]');
    box.textContent = "";
    [].concat(messages).forEach(function (message) {
      var line = document.createElement("div");
      line.textContent = message;
      box.appendChild(line);
    });
    box.hidden = false;
    var control = form.querySelector('[name="' + field + '"]');
    if (control) control.setAttribute("aria-invalid", "true");
  }

  // What the browser can tell before sending anything.
  function checkFile(file) {
    if (!file) return "Choose an audio file to split.";
    if (file.size === 0) return file.name + " is empty.";
    var looksAudio = (file.type && file.type.indexOf("audio/") === 0) || AUDIO_EXT.test(file.name);
    if (!looksAudio) return file.name + " does not look like an audio file. Choose an MP3, WAV, FLAC, M4A or OGG file.";
    if (maxBytes && file.size > maxBytes) {
      return file.name + " is " + formatBytes(file.size) + "; the largest file " +
        (plan ? "your " + plan + " plan" : "this server") + " accepts is " + maxMb + " MB.";
    }
    return null;
  }

  // The length, read by the browser's own decoder; null when it cannot tell (the server checks).
  function readDuration(file) {
    return new Promise(function (resolve) {
      var url = URL.createObjectURL(file);
      var probe = document.createElement("audio");
      var settled = false;
      function done(value) {
        if (settled) return;
        settled = true;
        URL.revokeObjectURL(url);
        resolve(value);
      }
      probe.preload = "metadata";
      probe.addEventListener("loadedmetadata", function () {
        done(isFinite(probe.duration) ? probe.duration : null);
      });
      probe.addEventListener("error", function () { done(null); });
      setTimeout(function () { done(null); }, 4000);
      probe.src = url;
    });
  }

  function minutes(seconds) { return (seconds / 60).toFixed(1); }

  function numberField(name) {
    var field = form.querySelector('[name="' + name + '"]');
    return field ? parseFloat(field.value) || 0 : 0;
  }

  // The plan's length and minutes limits, as the server will apply them.
  function checkLength(file, seconds) {
    if (seconds === null) return null;
    var whole = Math.ceil(seconds);
    var yours = plan ? "your " + plan + " plan" : "this server";
    if (maxSeconds && whole > maxSeconds) {
      return file.name + " is " + Math.floor(whole / 60) + " min " + (whole % 60) + " s long; " +
        yours + " accepts files up to " + Math.floor(maxSeconds / 60) + " minutes.";
    }
    if (leftSeconds !== null) {
      var start = numberField("section_start");
      var length = numberField("section_duration");
      var needed = Math.ceil(Math.max(0, length ? Math.min(length, seconds - start) : seconds - start));
      if (needed > leftSeconds) {
        return "This song needs " + minutes(needed) + " minutes but only " + minutes(leftSeconds) +
          " of " + yours + "'s minutes are left this period. Upgrade on the Billing page for more.";
      }
    }
    return null;
  }

  function fileChosen() {
    clearErrors();
    var file = input.files[0];
    zone.classList.toggle("has-file", !!file);
    nameBox.textContent = file ? file.name + " · " + formatBytes(file.size) : "";
    var problem = file && checkFile(file);
    duration = file && !problem ? readDuration(file) : Promise.resolve(null);
    if (problem) {
      showError("file", problem);
      return;
    }
    duration.then(function (seconds) {
      if (input.files[0] !== file) return; // another file was chosen meanwhile
      var tooLong = checkLength(file, seconds);
      if (tooLong) showError("file", tooLong);
    });
  }

  input.addEventListener("change", fileChosen);
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("is-over");
    });
  });
  ["dragleave", "dragend", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("is-over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      fileChosen();
    }
  });

  function setProgress(loaded, total, startedAt) {
    var percent = total ? Math.floor((loaded / total) * 100) : 0;
    bar.firstElementChild.style.width = percent + "%";
    bar.setAttribute("aria-valuenow", String(percent));
    pct.textContent = percent + "% · " + formatBytes(loaded) + " of " + formatBytes(total);
    var seconds = (performance.now() - startedAt) / 1000;
    if (seconds > 0.2) {
      var rate = loaded / seconds;
      var left = rate > 0 ? Math.ceil((total - loaded) / rate) : 0;
      speed.textContent = formatBytes(rate) + "/s" + (loaded < total ? " · " + left + " s left" : "");
    }
  }

  function busy(on, label) {
    submit.disabled = on;
    submit.textContent = label || "Split into stems";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearErrors();
    var file = input.files[0];
    var problem = checkFile(file);
    if (problem) {
      showError("file", problem);
      input.focus();
      return;
    }
    busy(true, "Checking your file…");
    duration.then(function (seconds) {
      var tooLong = checkLength(file, seconds);
      if (tooLong) {
        busy(false);
        showError("file", tooLong);
        input.focus();
        return;
      }
      send();
    });
  });

  function send() {
    var xhr = new XMLHttpRequest();
    var startedAt = performance.now();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    progressBox.hidden = false;
    bar.classList.remove("is-done", "is-failed");
    busy(true, "Uploading…");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) setProgress(e.loaded, e.total, startedAt);
    });
    xhr.upload.addEventListener("load", function () {
      bar.classList.add("is-done");
      busy(true, "Checking your file…");
    });
    xhr.addEventListener("load", function () {
      var data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: handled below */ }
      if (xhr.status === 201 && data.redirect) {
        busy(true, "Starting…");
        window.location.assign(data.redirect);
        return;
      }
      busy(false);
      progressBox.hidden = true;
      if (data.errors) {
        Object.keys(data.errors).forEach(function (field) { showError(field, data.errors[field]); });
        var first = form.querySelector("[aria-invalid=true]");
        if (first) first.focus();
      } else if (xhr.status === 413) {
        showError("file", "The file is larger than this server accepts.");
      } else {
        showError("__all__", "The upload failed (" + (xhr.status || "network error") + "). Please try again.");
      }
    });
    xhr.addEventListener("error", function () {
      busy(false);
      progressBox.hidden = true;
      showError("__all__", "The connection was lost during the upload. Please try again.");
    });
    xhr.send(new FormData(form));
  }
})();
