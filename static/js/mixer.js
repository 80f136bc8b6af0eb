// Job results: a waveform per stem (wavesurfer.js, peaks from the worker) and a Web Audio mixer
// that plays every stem in sync with per-stem volume, pan, mute and solo, plus "export this mix".
// Initialised on page load and whenever HTMX swaps the results in (when a job completes).
(function () {
  "use strict";

  var Transport = window.StemTransport;
  var fmtTime = Transport.fmtTime;

  function normalisePeaks(peaks) {
    if (!peaks) return null;
    if (Array.isArray(peaks) && peaks.length && typeof peaks[0] === "number") return [peaks];
    if (Array.isArray(peaks) && peaks.length && Array.isArray(peaks[0])) return peaks;
    if (peaks.data) return normalisePeaks(peaks.data);
    return null;
  }

  function peaksFromBuffer(buffer, buckets) {
    var out = new Array(buckets).fill(0);
    var size = Math.max(1, Math.floor(buffer.length / buckets));
    for (var c = 0; c < buffer.numberOfChannels; c++) {
      var data = buffer.getChannelData(c);
      for (var i = 0; i < buckets; i++) {
        var max = 0, start = i * size, end = Math.min(buffer.length, start + size);
        for (var j = start; j < end; j += 16) {
          var v = Math.abs(data[j]);
          if (v > max) max = v;
        }
        if (max > out[i]) out[i] = max;
      }
    }
    return [out];
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function Mixer(root) {
    this.root = root;
    this.duration = parseFloat(root.getAttribute("data-duration")) || 0;
    this.status = root.querySelector("[data-mixer-status]");
    this.playButton = root.querySelector("[data-play]");
    this.timeLabel = root.querySelector("[data-time]");
    this.seek = root.querySelector("[data-seek]");
    this.ctx = null;
    this.master = null;
    var peaksNode = document.getElementById("stem-peaks");
    var peaks = peaksNode ? JSON.parse(peaksNode.textContent || "{}") || {} : {};
    var self = this;
    this.tracks = Array.prototype.map.call(root.querySelectorAll("[data-stem]"), function (el) {
      return {
        name: el.getAttribute("data-stem"),
        src: el.getAttribute("data-src"),
        color: el.getAttribute("data-color") || "#8b5cf6",
        el: el,
        waveEl: el.querySelector("[data-wave]"),
        playhead: el.querySelector("[data-playhead]"),
        peaks: normalisePeaks(peaks[el.getAttribute("data-stem")]),
        volume: 1, pan: 0, muted: false, solo: false,
        buffer: null, source: null, gain: null, panner: null, wave: null,
      };
    });
    this.transport = new Transport(this.tracks, this.duration);
    this.tracks.forEach(function (track) {
      var fallback = track.el.querySelector("[data-fallback-audio]");
      if (fallback) fallback.remove(); // the mixer replaces the plain players
      track.playhead.hidden = false;
      if (track.peaks) self.drawWave(track, track.peaks, self.duration);
      self.bindControls(track);
    });
    this.bindTransport();
    this.load();
  }

  Mixer.prototype.drawWave = function (track, peaks, duration) {
    if (!window.WaveSurfer || !duration) return;
    if (track.wave) track.wave.destroy();
    track.wave = window.WaveSurfer.create({
      container: track.waveEl,
      height: 64,
      waveColor: track.color,
      progressColor: track.color,
      cursorWidth: 0,
      barWidth: 2,
      barGap: 1,
      barRadius: 2,
      normalize: true,
      interact: false,
      peaks: peaks,
      duration: duration,
    });
  };

  Mixer.prototype.load = function () {
    var self = this;
    if (!Transport.supported()) {
      this.status.textContent = "This browser cannot play the mixer; use the download buttons.";
      return;
    }
    var loaded = 0;
    Promise.all(this.tracks.map(function (track) {
      return Transport.decode(track.src)
        .then(function (buffer) {
          track.buffer = buffer;
          loaded += 1;
          self.status.textContent = "Loading audio… " + loaded + "/" + self.tracks.length;
          if (buffer.duration > self.duration) {
            self.duration = self.transport.duration = buffer.duration;
          }
          if (!track.peaks) self.drawWave(track, peaksFromBuffer(buffer, 800), buffer.duration);
        });
    })).then(function () {
      self.status.textContent = "Ready";
      self.root.setAttribute("data-ready-audio", "true");
      self.playButton.disabled = false;
      if (self.seek) { self.seek.max = String(self.duration); self.seek.disabled = false; }
      self.render();
    }, function (error) {
      self.status.textContent = "Could not load the stems for playback (" + error.message + "). Downloads still work.";
    });
  };

  Mixer.prototype.ensureContext = function () {
    if (this.ctx) return;
    this.ctx = this.transport.context();
    this.master = this.ctx.createGain();
    this.master.connect(this.ctx.destination);
    var self = this;
    this.tracks.forEach(function (track) {
      track.gain = self.ctx.createGain();
      track.panner = self.ctx.createStereoPanner();
      track.gain.connect(track.panner);
      track.panner.connect(self.master);
    });
    this.applyMix();
  };

  Mixer.prototype.play = function () {
    this.ensureContext();
    this.transport.start();
    this.updateButton();
    this.tick();
  };

  Mixer.prototype.pause = function () {
    this.transport.pause();
    this.updateButton();
    this.render();
  };

  Mixer.prototype.seekTo = function (seconds) {
    this.transport.seekTo(seconds);
    this.render();
  };

  Mixer.prototype.tick = function () {
    var self = this;
    if (!this.transport.playing) return;
    if (this.transport.atEnd()) {
      this.transport.rewind();
      this.updateButton();
      this.render();
      return;
    }
    this.render();
    window.requestAnimationFrame(function () { self.tick(); });
  };

  Mixer.prototype.render = function () {
    var position = this.transport.position();
    var fraction = this.duration ? position / this.duration : 0;
    this.timeLabel.textContent = fmtTime(position) + " / " + fmtTime(Math.round(this.duration));
    if (this.seek && document.activeElement !== this.seek) this.seek.value = String(position);
    this.tracks.forEach(function (track) { track.playhead.style.left = (fraction * 100) + "%"; });
  };

  Mixer.prototype.updateButton = function () {
    var playing = this.transport.playing;
    this.playButton.setAttribute("aria-label", playing ? "Pause" : "Play all stems");
    this.playButton.querySelector("[data-icon-play]").toggleAttribute("hidden", playing);
    this.playButton.querySelector("[data-icon-pause]").toggleAttribute("hidden", !playing);
  };

  Mixer.prototype.effectiveMute = function (track) {
    var anySolo = this.tracks.some(function (t) { return t.solo; });
    return track.muted || (anySolo && !track.solo);
  };

  Mixer.prototype.applyMix = function () {
    var self = this;
    this.tracks.forEach(function (track) {
      var silent = self.effectiveMute(track);
      track.el.classList.toggle("is-muted", silent);
      if (!self.ctx) return;
      track.gain.gain.setTargetAtTime(silent ? 0 : track.volume, self.ctx.currentTime, 0.015);
      track.panner.pan.setTargetAtTime(track.pan, self.ctx.currentTime, 0.015);
    });
  };

  Mixer.prototype.bindControls = function (track) {
    var self = this;
    var mute = track.el.querySelector("[data-mute]");
    var solo = track.el.querySelector("[data-solo]");
    mute.addEventListener("click", function () {
      track.muted = !track.muted;
      mute.setAttribute("aria-pressed", String(track.muted));
      self.applyMix();
    });
    solo.addEventListener("click", function () {
      track.solo = !track.solo;
      solo.setAttribute("aria-pressed", String(track.solo));
      self.applyMix();
    });
    track.el.querySelector("[data-volume]").addEventListener("input", function (e) {
      track.volume = parseFloat(e.target.value);
      self.applyMix();
    });
    track.el.querySelector("[data-pan]").addEventListener("input", function (e) {
      track.pan = parseFloat(e.target.value);
      self.applyMix();
    });
    track.el.querySelector("[data-wave-box]").addEventListener("click", function (e) {
      var rect = e.currentTarget.getBoundingClientRect();
      self.seekTo(((e.clientX - rect.left) / rect.width) * self.duration);
    });
  };

  Mixer.prototype.bindTransport = function () {
    var self = this;
    this.playButton.addEventListener("click", function () {
      if (self.transport.playing) self.pause(); else self.play();
    });
    if (this.seek) {
      this.seek.addEventListener("input", function () { self.seekTo(parseFloat(self.seek.value)); });
    }
    var exportButton = this.root.querySelector("[data-export]");
    var result = this.root.querySelector("[data-export-result]");
    exportButton.addEventListener("click", function () {
      var format = self.root.querySelector("[data-export-format]").value;
      var tracks = self.tracks.map(function (track) {
        return { stem: track.name, volume: track.volume, pan: track.pan, mute: self.effectiveMute(track) };
      });
      exportButton.disabled = true;
      exportButton.textContent = "Mixing…";
      result.textContent = "";
      fetch(self.root.getAttribute("data-export-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ tracks: tracks, format: format, name: "mix" }),
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      }).then(function (reply) {
        if (!reply.ok) throw new Error((reply.data.error && reply.data.error.message) || "The mix failed.");
        var link = document.createElement("a");
        link.className = "btn";
        link.href = reply.data.url;
        link.setAttribute("download", "");
        link.setAttribute("data-mix-download", "");
        link.textContent = "Download your mix (" + reply.data.format.toUpperCase() + ")";
        var note = document.createElement("span");
        note.className = "muted small";
        note.textContent = " Mixed on the server with your volume, pan and mute settings.";
        result.className = "export-result alert alert-success";
        result.appendChild(link);
        result.appendChild(note);
      }).catch(function (error) {
        result.className = "export-result alert alert-error";
        result.textContent = error.message;
      }).then(function () {
        exportButton.disabled = false;
        exportButton.textContent = "Export this mix";
      });
    });
  };

  function init(scope) {
    (scope || document).querySelectorAll("[data-mixer]").forEach(function (root) {
      if (root.mixer) return;
      root.mixer = new Mixer(root);
    });
  }

  // Download buttons follow the chosen format.
  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-download-format]")) return;
    var format = event.target.value;
    document.querySelectorAll("[data-download-link]").forEach(function (link) {
      var base = link.getAttribute("data-base");
      // The job's own format is the default: only another one is named.
      link.href = format === event.target.getAttribute("data-default") ? base : base + "?format=" + encodeURIComponent(format);
    });
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
})();
