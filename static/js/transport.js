// Several decoded tracks played from one AudioContext clock: they start, pause, seek and loop
// as one. The job page's mixer and the landing page's demo build on it; each track brings its
// own input node (track.gain), which the player wires into its own graph.
(function () {
  "use strict";

  function Transport(tracks, duration, options) {
    this.tracks = tracks; // objects with .buffer (once decoded) and .gain (an AudioNode)
    this.duration = duration;
    this.loop = !!(options && options.loop);
    this.ctx = null;
    this.playing = false;
    this.offset = 0; // seconds into the song while paused
    this.startedAt = 0; // ctx.currentTime of position 0 while playing
  }

  Transport.supported = function () {
    return !!(window.AudioContext || window.webkitAudioContext);
  };

  Transport.fmtTime = function (seconds) {
    seconds = Math.max(0, Math.floor(seconds || 0));
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  };

  // Fetch and decode one file. Decoding needs no running AudioContext (that one may only start
  // with a click), so one small offline context decodes for every player on the page.
  var decoder = null;
  Transport.decode = function (url) {
    var Offline = window.OfflineAudioContext || window.webkitOfflineAudioContext;
    if (!Offline) return Promise.reject(new Error("This browser cannot decode audio."));
    decoder = decoder || new Offline(2, 1, 44100);
    return fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.arrayBuffer();
      })
      .then(function (data) { return decoder.decodeAudioData(data); });
  };

  // The context, created on first use (inside a click: browsers only let a gesture start audio).
  Transport.prototype.context = function () {
    if (!this.ctx) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      this.ctx = new Ctx();
    }
    return this.ctx;
  };

  Transport.prototype.position = function () {
    if (!this.playing) return this.offset;
    var elapsed = Math.max(0, this.ctx.currentTime - this.startedAt);
    if (this.loop) return this.duration ? elapsed % this.duration : 0;
    return Math.min(this.duration, elapsed);
  };

  // True once a non-looping song has played to its end (the caller then calls rewind()).
  Transport.prototype.atEnd = function () {
    return !this.loop && this.playing && this.position() >= this.duration - 0.01;
  };

  Transport.prototype.start = function () {
    var self = this;
    var ctx = this.context();
    var when = ctx.currentTime + 0.05;
    var offset = this.loop && this.duration ? this.offset % this.duration : this.offset;
    ctx.resume();
    this.tracks.forEach(function (track) {
      if (!track.buffer) return;
      var source = ctx.createBufferSource();
      source.buffer = track.buffer;
      if (self.loop) {
        source.loop = true;
        source.loopEnd = self.duration;
      }
      source.connect(track.gain);
      source.start(when, Math.min(offset, track.buffer.duration));
      track.source = source;
    });
    this.startedAt = when - offset;
    this.playing = true;
  };

  Transport.prototype.stopSources = function () {
    this.tracks.forEach(function (track) {
      if (!track.source) return;
      try { track.source.stop(); } catch (e) { /* not started yet */ }
      track.source.disconnect();
      track.source = null;
    });
  };

  Transport.prototype.pause = function () {
    if (!this.playing) return;
    this.offset = this.position();
    this.stopSources();
    this.playing = false;
  };

  Transport.prototype.rewind = function () {
    this.stopSources();
    this.playing = false;
    this.offset = 0;
  };

  Transport.prototype.seekTo = function (seconds) {
    var wasPlaying = this.playing;
    if (wasPlaying) { this.stopSources(); this.playing = false; }
    this.offset = Math.max(0, Math.min(this.duration, seconds));
    if (wasPlaying) this.start();
  };

  window.StemTransport = Transport;
})();
