/**
 * The player page's own script and style, served as /_streamkit/player.js and /_streamkit/player.css
 * (kept in the module, so the bundled CLI and a global install carry them without a file lookup).
 * Plain browser JavaScript, no framework: hls.js plays the package; the page adds a rung selector
 * (Auto + each level), audio and subtitle selectors, live stats every 0.5 s, and a seek bar that
 * shows the thumbnails.vtt sprite region under the pointer. `window.streamkitPlayer` exposes the
 * state for tests and for a curious console.
 */

export const PLAYER_JS = String.raw`'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const root = $('player');
  const video = $('video');
  const state = { hls: null, video, errors: [], fragments: [], thumbnails: [], preview: null, stats: null, sprites: {} };
  window.streamkitPlayer = state;

  const message = (text) => {
    const m = $('message');
    m.textContent = text;
    m.hidden = false;
  };
  const clock = (s) => {
    if (!Number.isFinite(s)) return '-';
    const t = Math.max(0, Math.floor(s));
    const h = Math.floor(t / 3600);
    const m = Math.floor((t % 3600) / 60);
    const sec = String(t % 60).padStart(2, '0');
    return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + sec : m + ':' + sec;
  };
  const rate = (bps) => (Number.isFinite(bps) && bps > 0 ? (bps >= 1e6 ? (bps / 1e6).toFixed(2) + ' Mbit/s' : Math.round(bps / 1000) + ' kbit/s') : '-');
  const option = (value, text) => {
    const o = document.createElement('option');
    o.value = String(value);
    o.textContent = text;
    return o;
  };
  const bufferAhead = () => {
    const b = video.buffered;
    for (let i = 0; i < b.length; i++) if (b.start(i) <= video.currentTime + 0.1 && b.end(i) >= video.currentTime) return b.end(i) - video.currentTime;
    return 0;
  };

  // ---- seek bar and thumbnail previews
  const seek = $('seek');
  const fraction = (ev) => {
    const r = seek.getBoundingClientRect();
    return Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width));
  };
  const drawBar = () => {
    const d = video.duration;
    if (!Number.isFinite(d) || d <= 0) return;
    $('seek-played').style.width = (100 * video.currentTime) / d + '%';
    const end = video.buffered.length > 0 ? video.buffered.end(video.buffered.length - 1) : 0;
    $('seek-buffered').style.width = (100 * end) / d + '%';
  };
  video.addEventListener('timeupdate', drawBar);
  video.addEventListener('progress', drawBar);
  seek.addEventListener('click', (ev) => {
    if (Number.isFinite(video.duration)) video.currentTime = fraction(ev) * video.duration;
  });

  const parseTime = (s) => s.split(':').reduce((acc, v) => acc * 60 + Number(v), 0);
  const parseThumbnails = (text, base) => {
    const cues = [];
    for (const block of text.replace(/\r\n?/g, '\n').split(/\n{2,}/)) {
      const lines = block.split('\n');
      const i = lines.findIndex((l) => l.includes('-->'));
      if (i < 0) continue;
      const [a, b] = lines[i].split('-->').map((s) => parseTime(s.trim().split(/\s+/)[0]));
      const payload = lines.slice(i + 1).join('').trim();
      if (!payload || !Number.isFinite(a) || !Number.isFinite(b)) continue;
      const url = new URL(payload, base);
      const m = /^xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(url.hash.slice(1));
      url.hash = '';
      // the page's policy only loads images from this server anyway: do not even ask for others
      if (url.origin !== location.origin) continue;
      cues.push({ start: a, end: b, url: url.href, x: m ? +m[1] : 0, y: m ? +m[2] : 0, w: m ? +m[3] : 160, h: m ? +m[4] : 90, region: m !== null });
    }
    return cues;
  };
  const sprite = (url) => {
    let s = state.sprites[url];
    if (!s) {
      const img = new Image();
      s = state.sprites[url] = { img, loaded: false, failed: false };
      img.onload = () => {
        s.loaded = true;
      };
      img.onerror = () => {
        s.failed = true;
      };
      img.src = url;
    }
    return s;
  };
  const preview = $('preview');
  const previewImage = $('preview-image');
  seek.addEventListener('mousemove', (ev) => {
    const d = video.duration;
    if (!Number.isFinite(d) || d <= 0) return;
    const f = fraction(ev);
    const t = f * d;
    $('preview-time').textContent = clock(t);
    const cue = state.thumbnails.find((c) => t >= c.start && t < c.end) || (t >= d - 0.001 ? state.thumbnails[state.thumbnails.length - 1] : undefined);
    if (cue) {
      const s = sprite(cue.url);
      previewImage.hidden = false;
      previewImage.style.width = cue.w + 'px';
      previewImage.style.height = cue.h + 'px';
      previewImage.style.backgroundImage = 'url("' + cue.url.replace(/"/g, '%22') + '")';
      previewImage.style.backgroundPosition = -cue.x + 'px ' + -cue.y + 'px';
      state.preview = { time: t, url: cue.url, x: cue.x, y: cue.y, w: cue.w, h: cue.h, sprite: s };
    } else {
      previewImage.hidden = true;
      state.preview = { time: t, url: null };
    }
    preview.hidden = false;
    const r = seek.getBoundingClientRect();
    const w = preview.offsetWidth;
    preview.style.left = Math.min(Math.max(0, f * r.width - w / 2), Math.max(0, r.width - w)) + 'px';
  });
  seek.addEventListener('mouseleave', () => {
    preview.hidden = true;
  });
  if (root.dataset.thumbnails) {
    const url = new URL(root.dataset.thumbnails, location.href);
    fetch(url)
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error('HTTP ' + r.status))))
      .then((text) => {
        state.thumbnails = parseThumbnails(text, url.href);
      })
      .catch((e) => {
        state.errors.push({ type: 'thumbnails', details: String(e), fatal: false });
      });
  }

  // ---- playback
  const src = root.dataset.src;
  if (!window.Hls || !window.Hls.isSupported()) {
    if (video.canPlayType('application/vnd.apple.mpegurl')) video.src = src;
    else message('This browser has neither Media Source Extensions nor native HLS: it cannot play this package.');
    return;
  }
  const Hls = window.Hls;
  const hls = new Hls({ capLevelToPlayerSize: false });
  state.hls = hls;
  const rung = $('rung');
  const audio = $('audio');
  const subtitles = $('subtitles');

  hls.on(Hls.Events.ERROR, (_e, d) => {
    state.errors.push({ type: d.type, details: d.details, fatal: d.fatal });
    if (d.fatal) message('Playback error: ' + d.type + ' / ' + d.details);
  });
  hls.on(Hls.Events.FRAG_LOADED, (_e, d) => {
    state.fragments.push({ type: d.frag.type, level: d.frag.level, sn: d.frag.sn, url: d.frag.url });
    if (state.fragments.length > 1000) state.fragments.shift();
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    rung.replaceChildren(option(-1, 'Auto'));
    hls.levels.forEach((l, i) => {
      rung.append(option(i, (l.height ? l.height + 'p' : 'level ' + i) + (l.bitrate ? ' · ' + rate(l.bitrate) : '')));
    });
    rung.value = '-1';
  });
  hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, () => {
    audio.replaceChildren(...hls.audioTracks.map((t, i) => option(i, t.name || t.lang || 'track ' + (i + 1))));
    audio.disabled = hls.audioTracks.length < 2;
    audio.value = String(hls.audioTrack);
  });
  hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, () => {
    audio.value = String(hls.audioTrack);
  });
  hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, () => {
    subtitles.replaceChildren(option(-1, 'Off'), ...hls.subtitleTracks.map((t, i) => option(i, t.name || t.lang || 'track ' + (i + 1))));
    subtitles.disabled = hls.subtitleTracks.length === 0;
    subtitles.value = String(hls.subtitleTrack);
  });
  rung.addEventListener('change', () => {
    // -1: automatic selection again; a level: switch now (the buffer ahead is replaced)
    hls.currentLevel = Number(rung.value);
  });
  audio.addEventListener('change', () => {
    hls.audioTrack = Number(audio.value);
  });
  subtitles.addEventListener('change', () => {
    const i = Number(subtitles.value);
    hls.subtitleDisplay = i >= 0;
    hls.subtitleTrack = i;
  });

  const stats = () => {
    const level = hls.levels[hls.currentLevel];
    const q = typeof video.getVideoPlaybackQuality === 'function' ? video.getVideoPlaybackQuality() : null;
    state.stats = {
      level: hls.currentLevel,
      auto: hls.autoLevelEnabled,
      width: video.videoWidth,
      height: video.videoHeight,
      bitrate: level ? level.bitrate : null,
      bandwidthEstimate: hls.bandwidthEstimate,
      bufferAhead: bufferAhead(),
      droppedFrames: q ? q.droppedVideoFrames : null,
      totalFrames: q ? q.totalVideoFrames : null,
      currentTime: video.currentTime,
    };
    const s = state.stats;
    $('stat-rung').textContent = s.level < 0 ? '-' : (level && level.height ? level.height + 'p' : 'level ' + s.level) + (s.auto ? ' (auto)' : ' (fixed)');
    $('stat-resolution').textContent = s.width ? s.width + 'x' + s.height : '-';
    $('stat-bitrate').textContent = rate(s.bitrate);
    $('stat-bandwidth').textContent = rate(s.bandwidthEstimate);
    $('stat-buffer').textContent = s.bufferAhead.toFixed(1) + ' s';
    $('stat-dropped').textContent = q ? s.droppedFrames + ' of ' + s.totalFrames : '-';
  };
  setInterval(stats, 500);
  hls.loadSource(src);
  hls.attachMedia(video);
})();
`;

export const PLAYER_CSS = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0 auto; max-width: 1100px; padding: 1rem; }
header h1 { margin: 0.3rem 0; font-size: 1.4rem; }
header .facts, header .served { margin: 0; opacity: 0.75; }
table#packages { border-collapse: collapse; width: 100%; margin-top: 1rem; }
table#packages th, table#packages td { text-align: left; padding: 0.4rem 0.6rem; border-bottom: 1px solid #8884; vertical-align: middle; }
img.poster { width: 96px; height: auto; display: block; }
.stage { position: relative; margin-top: 1rem; }
video { width: 100%; max-height: 70vh; background: #000; display: block; }
.seek { position: relative; height: 12px; background: #8884; margin: 0.5rem 0; cursor: pointer; border-radius: 6px; }
.seek .bar { position: absolute; left: 0; top: 0; bottom: 0; width: 0; border-radius: 6px; pointer-events: none; }
.seek .buffered { background: #8888; }
.seek .played { background: #2a7de1; }
.preview { position: absolute; bottom: 18px; padding: 2px; background: #000c; color: #fff; border-radius: 4px; text-align: center; pointer-events: none; font-size: 0.8rem; }
.preview-image { background-repeat: no-repeat; margin: 0 auto 2px; }
.preview[hidden], .preview-image[hidden] { display: none; }
.controls { display: flex; gap: 1rem; flex-wrap: wrap; margin: 0.5rem 0; }
.stats { border-collapse: collapse; font-variant-numeric: tabular-nums; }
.stats th { text-align: left; padding-right: 1rem; font-weight: normal; opacity: 0.75; }
.message { color: #c33; }
`;
