/**
 * The two HTML pages `streamkit serve` makes: the index of the packages under the served folder, and
 * one player page per package. Pure: data in, HTML out. No inline script or style: the pages load
 * /_streamkit/player.js, /_streamkit/player.css and hls.js from this server only, and the
 * Content-Security-Policy they are sent with (PAGE_CSP) makes the browser hold them to that.
 */
import type { PackageInfo } from './packages.js';

/** Everything a page loads comes from this origin; hls.js runs its transmuxer in a blob: worker and feeds MSE through blob: URLs; Chromium also reported a media data: URL during hls.js playback (test/integration/player-page.test.ts), allowed since neither is a request to anyone. */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "media-src 'self' blob: data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The reserved prefix for the pages and their scripts (a package folder may not be called `_streamkit`). */
export const RESERVED = '_streamkit';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** URL path of `file` inside the package at `segments` (each segment percent-encoded). */
export function packageUrl(segments: readonly string[], file = ''): string {
  const dir = segments.map(encodeURIComponent).join('/');
  return `/${dir}${dir === '' ? '' : '/'}${file}`;
}

/** The player page of the package at `segments`. */
export function playerUrl(segments: readonly string[]): string {
  return `/${RESERVED}/play${packageUrl(segments)}`;
}

function duration(seconds: number | null): string {
  if (seconds === null) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

function rungText(p: PackageInfo): string {
  return p.rungs.map((r) => `${r.resolution ?? '?'}${r.bandwidth ? ` ${Math.round(r.bandwidth / 1000)}k` : ''}`).join(', ');
}

function head(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/${RESERVED}/player.css">
</head>`;
}

export function indexPage(packages: readonly PackageInfo[], served: string): string {
  const rows = packages
    .map((p) => {
      const links = [
        `<a href="${escapeHtml(packageUrl(p.path, 'master.m3u8'))}">master.m3u8</a>`,
        ...(p.mpd ? [`<a href="${escapeHtml(packageUrl(p.path, 'manifest.mpd'))}">manifest.mpd</a>`] : []),
        ...(p.thumbnails ? [`<a href="${escapeHtml(packageUrl(p.path, 'thumbnails.vtt'))}">thumbnails.vtt</a>`] : []),
      ].join(' ');
      const poster = p.poster ? `<img class="poster" alt="" src="${escapeHtml(packageUrl(p.path, 'poster.jpg'))}">` : '';
      return `<tr class="package" data-path="${escapeHtml(p.path.join('/'))}">
<td>${poster}</td>
<td><a class="play" href="${escapeHtml(playerUrl(p.path))}">${escapeHtml(p.name)}</a>${p.manifestNote ? `<br><small>${escapeHtml(p.manifestNote)}</small>` : ''}</td>
<td>${escapeHtml(p.preset ?? '-')}</td>
<td>${escapeHtml(duration(p.durationSeconds))}</td>
<td>${escapeHtml(rungText(p))}</td>
<td>${links}</td>
</tr>`;
    })
    .join('\n');
  const body =
    packages.length === 0
      ? `<p id="empty">No packages under ${escapeHtml(served)}: a package is a folder with a master.m3u8 (streamkit transcode ... -o DIR/NAME).</p>`
      : `<table id="packages">
<thead><tr><th></th><th>Package</th><th>Preset</th><th>Duration</th><th>Rungs</th><th>Files</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
  return `${head('streamkit serve')}
<body>
<header><h1>Packages</h1><p class="served">${escapeHtml(served)}</p></header>
<main>
${body}
</main>
</body>
</html>
`;
}

export function playerPage(p: PackageInfo): string {
  const data = [
    `data-src="${escapeHtml(packageUrl(p.path, 'master.m3u8'))}"`,
    ...(p.thumbnails ? [`data-thumbnails="${escapeHtml(packageUrl(p.path, 'thumbnails.vtt'))}"`] : []),
  ].join(' ');
  const poster = p.poster ? ` poster="${escapeHtml(packageUrl(p.path, 'poster.jpg'))}"` : '';
  const facts = [p.preset ? `preset ${p.preset}` : null, `${duration(p.durationSeconds)}`, rungText(p)].filter((x) => x !== null).join(' · ');
  return `${head(`${p.name} - streamkit`)}
<body>
<header><a href="/">All packages</a><h1>${escapeHtml(p.name)}</h1><p class="facts">${escapeHtml(facts)}</p></header>
<main id="player" ${data}>
<div class="stage">
<video id="video" controls muted autoplay playsinline${poster}></video>
<div id="seek" class="seek" title="seek"><div id="seek-buffered" class="bar buffered"></div><div id="seek-played" class="bar played"></div>
<div id="preview" class="preview" hidden><div id="preview-image" class="preview-image"></div><span id="preview-time"></span></div></div>
</div>
<div class="controls">
<label>Rung <select id="rung"><option value="-1">Auto</option></select></label>
<label>Audio <select id="audio" disabled></select></label>
<label>Subtitles <select id="subtitles" disabled><option value="-1">Off</option></select></label>
</div>
<table id="stats" class="stats">
<tr><th>Rung</th><td id="stat-rung">-</td></tr>
<tr><th>Resolution</th><td id="stat-resolution">-</td></tr>
<tr><th>Bitrate</th><td id="stat-bitrate">-</td></tr>
<tr><th>Bandwidth estimate</th><td id="stat-bandwidth">-</td></tr>
<tr><th>Buffer ahead</th><td id="stat-buffer">-</td></tr>
<tr><th>Dropped frames</th><td id="stat-dropped">-</td></tr>
</table>
<p id="message" class="message" hidden></p>
</main>
<script src="/${RESERVED}/hls.min.js"></script>
<script src="/${RESERVED}/player.js"></script>
</body>
</html>
`;
}
