// Landing page demo: the synthesised song and its two stems, decoded with the Web Audio API and
// played in sync. "Original", "Vocals" and "Accompaniment" only move gains, so switching keeps
// the position; the waveform (wavesurfer.js, peaks from the server) follows the choice. The audio
// loads on the first sign of interest (hover, focus or a click), not with the page.
(function () {
  "use strict";

  var FADE = 0.02; // seconds: the time constant of a switch, short but without a click

  var Transport = window.StemTransport;
  var fmtTime = Transport.fmtTime;

  // An opaque colour part way from the waveform's background to `hex`. (Not a transparent one:
  // wavesurfer paints the progress through the waveform's own alpha, which would dim it too.)
  function dim(hex, amount) {
    var background = [14, 18, 26]; // #0e121a, .demo-wave's background
    var n = parseInt(hex.slice(1), 16);
    var rgb = [n >> 16, (n >> 8) & 255, n & 255].map(function (value, i) {
      return Math.round(background[i] + (value - background[i]) * amount);
    });
    return "rgb(" + rgb.join(",") + ")";
  }

  function show(element, visible) {
    element.toggleAttribute("hidden", !visible); // SVG elements have no .hidden property
  }

  function DemoPlayer(root) {
    var self = this;
    this.root = root;
    this.duration = parseFloat(root.getAttribute("data-duration")) || 0;
    this.playButton = root.querySelector("[data-demo-play]");
    this.seek = root.querySelector("[data-demo-seek]");
    this.timeLabel = root.querySelector("[data-demo-time]");
    this.status = root.querySelector("[data-demo-status]");
    this.waveEl = root.querySelector("[data-demo-wave]");
    this.ctx = null;
    this.loading = null; // the promise of decoded buffers, once asked for
    this.wantsToPlay = false;
    this.peaks = null;
    this.wave = null;
    this.waveReady = false;
    this.frame = 0;
    this.tracks = Array.prototype.map.call(root.querySelectorAll("[data-demo-track]"), function (button) {
      return {
        name: button.getAttribute("data-demo-track"),
        src: button.getAttribute("data-src"),
        color: button.getAttribute("data-color") || "#c4b5fd",
        button: button,
        buffer: null, gain: null, source: null,
      };
    });
    this.transport = new Transport(this.tracks, this.duration, { loop: true });
    this.current = this.tracks.filter(function (t) {
      return t.button.getAttribute("aria-pressed") === "true";
    })[0] || this.tracks[0];
    this.bind();
    this.loadPeaks();
    this.render();
    root.demoPlayer = this;
    root.setAttribute("data-ready", "true");
    // Start fetching when someone shows interest: the click that follows then plays at once.
    ["pointerenter", "focusin", "touchstart"].forEach(function (type) {
      root.addEventListener(type, function () { self.load(); }, { once: true, passive: true });
    });
  }

  DemoPlayer.prototype.bind = function () {
    var self = this;
    this.playButton.addEventListener("click", function () {
      if (self.transport.playing || self.wantsToPlay) self.pause(); else self.play();
    });
    this.tracks.forEach(function (track) {
      track.button.addEventListener("click", function () { self.select(track); });
    });
    this.seek.addEventListener("input", function () { self.seekTo(parseFloat(self.seek.value)); });
  };

  DemoPlayer.prototype.loadPeaks = function () {
    var self = this;
    fetch(this.root.getAttribute("data-peaks"))
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        self.peaks = data.peaks || {};
        if (data.duration && !self.buffersReady()) self.setDuration(data.duration);
        self.drawWave();
      })
      .catch(function () { /* the controls work without a waveform */ });
  };

  DemoPlayer.prototype.drawWave = function () {
    var peaks = this.peaks && this.peaks[this.current.name];
    if (!window.WaveSurfer || !peaks || !this.duration) return;
    if (this.wave) this.wave.destroy();
    this.waveReady = false;
    var self = this;
    var wave = this.wave = window.WaveSurfer.create({
      container: this.waveEl,
      height: 56,
      waveColor: dim(this.current.color, 0.4),
      progressColor: this.current.color,
      cursorColor: "#ffffff",
      cursorWidth: 2,
      barWidth: 2,
      barGap: 1,
      barRadius: 2,
      barHeight: 1.1,
      interact: false,
      peaks: [peaks],
      duration: this.duration,
    });
    wave.on("ready", function () {
      if (wave !== self.wave) return;
      self.waveReady = true;
      wave.setTime(self.transport.position());
    });
  };

  DemoPlayer.prototype.buffersReady = function () {
    return this.tracks.every(function (track) { return track.buffer; });
  };

  DemoPlayer.prototype.load = function () {
    if (this.loading) return this.loading;
    var self = this;
    this.loading = Promise.all(this.tracks.map(function (track) {
      return Transport.decode(track.src).then(function (buffer) { track.buffer = buffer; });
    })).then(function () {
      // Loop on the shortest buffer: mp3 padding may differ by a few samples between files.
      self.setDuration(Math.min.apply(null, self.tracks.map(function (t) { return t.buffer.duration; })));
      self.seek.max = String(self.duration);
      self.root.setAttribute("data-ready-audio", "true");
    });
    this.loading.catch(function () {});
    return this.loading;
  };

  DemoPlayer.prototype.setDuration = function (seconds) {
    this.duration = this.transport.duration = seconds;
  };

  DemoPlayer.prototype.ensureContext = function () {
    if (this.ctx) return;
    this.ctx = this.transport.context();
    var self = this;
    this.tracks.forEach(function (track) {
      track.gain = self.ctx.createGain();
      track.gain.gain.value = track === self.current ? 1 : 0;
      track.gain.connect(self.ctx.destination);
    });
  };

  DemoPlayer.prototype.play = function () {
    var self = this;
    if (!Transport.supported()) {
      this.setStatus("This browser cannot play the demo.");
      return;
    }
    this.ensureContext(); // inside the click: browsers only let a user gesture start audio
    this.ctx.resume();
    if (this.buffersReady()) {
      this.start();
      return;
    }
    this.wantsToPlay = true;
    this.setState("loading");
    this.setStatus("Loading the demo…");
    this.load().then(function () {
      self.setStatus("");
      if (self.wantsToPlay) self.start();
    }, function (error) {
      self.loading = null; // the next click tries again
      self.wantsToPlay = false;
      self.setState("idle");
      self.setStatus("Could not load the demo (" + error.message + ").");
    });
  };

  DemoPlayer.prototype.start = function () {
    this.transport.start();
    this.wantsToPlay = false;
    this.setState("playing");
    this.tick();
  };

  DemoPlayer.prototype.pause = function () {
    this.wantsToPlay = false;
    this.transport.pause();
    this.setState(this.buffersReady() ? "paused" : "idle");
    this.setStatus("");
    this.render();
  };

  DemoPlayer.prototype.seekTo = function (seconds) {
    this.transport.seekTo(seconds);
    this.render();
  };

  DemoPlayer.prototype.select = function (track) {
    var self = this;
    this.current = track;
    this.tracks.forEach(function (t) {
      t.button.setAttribute("aria-pressed", String(t === track));
      if (self.ctx) t.gain.gain.setTargetAtTime(t === track ? 1 : 0, self.ctx.currentTime, FADE);
    });
    this.root.setAttribute("data-track", track.name);
    this.drawWave();
    this.load();
  };

  DemoPlayer.prototype.setState = function (state) {
    this.root.setAttribute("data-state", state);
    var busy = state === "loading";
    var active = state === "playing" || busy;
    this.playButton.setAttribute("aria-label", active ? "Pause the demo" : "Play the demo");
    this.playButton.setAttribute("aria-busy", String(busy));
    show(this.playButton.querySelector("[data-icon-play]"), !active);
    show(this.playButton.querySelector("[data-icon-pause]"), state === "playing");
    show(this.playButton.querySelector("[data-icon-loading]"), busy);
  };

  DemoPlayer.prototype.setStatus = function (text) {
    if (this.status.textContent !== text) this.status.textContent = text;
  };

  DemoPlayer.prototype.tick = function () {
    var self = this;
    window.cancelAnimationFrame(this.frame); // one loop, however often playback restarts
    if (!this.transport.playing) return;
    this.render();
    this.frame = window.requestAnimationFrame(function () { self.tick(); });
  };

  DemoPlayer.prototype.render = function () {
    var position = this.transport.position();
    var total = fmtTime(Math.round(this.duration));
    this.timeLabel.textContent = fmtTime(position) + " / " + total;
    if (document.activeElement !== this.seek) this.seek.value = String(position);
    this.seek.setAttribute("aria-valuetext", fmtTime(position) + " of " + total);
    if (this.waveReady) this.wave.setTime(position);
  };

  function init() {
    document.querySelectorAll("[data-demo]").forEach(function (root) {
      if (!root.demoPlayer) new DemoPlayer(root);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
