// The preview page: resize in the browser with the wasm image core, exactly as the edge would
// for the same URL, and list the folder's photos as the edge serves them.
const $ = (id) => document.getElementById(id);
// What Chromium sends for <img>: the edge negotiates f=auto from it.
const IMG_ACCEPT = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';

const state = { site: null, input: null, name: '', fromFolder: false, originalUrl: null, resultUrl: null, seq: 0 };
// For tests and the curious: the last result, bytes included.
window.scalefront = { last: null, error: null };

// --- the worker that runs the wasm ---------------------------------------------------------
let worker = null;
const waiting = new Map();
let nextId = 1;
function call(op, bytes, options) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, op, bytes, options });
  });
}
function startWorker() {
  worker = new Worker('/_scalefront/worker.js', { type: 'module' });
  worker.onmessage = (e) => {
    const w = waiting.get(e.data.id);
    if (!w) return;
    waiting.delete(e.data.id);
    e.data.ok ? w.resolve(e.data) : w.reject(new Error(e.data.error));
  };
  worker.onerror = (e) => {
    for (const w of waiting.values()) w.reject(new Error(e.message || 'the wasm worker failed to start'));
    waiting.clear();
  };
}

// --- helpers ---------------------------------------------------------------------------------
function kb(n) {
  if (n >= 1024 * 1024) return (n / 1024 / 1024).toFixed(2) + ' MB';
  if (n >= 1024) return (n / 1024).toFixed(1) + ' KB';
  return n + ' B';
}
function pathOf(key) {
  return '/' + key.split('/').map(encodeURIComponent).join('/');
}
function option(select, value, label) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label ?? value;
  select.append(o);
  return o;
}
function setStatus(text, cls) {
  const s = $('status');
  s.textContent = text;
  s.className = 'status' + (cls ? ' ' + cls : '');
}
async function getJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return r.json();
}

// --- the URL the page would use, and what the edge makes of it ---------------------------------
function query() {
  const p = new URLSearchParams();
  p.set('w', $('w').value);
  if ($('h').value) p.set('h', $('h').value);
  if ($('fit').value !== state.site.defaultFit) p.set('fit', $('fit').value);
  if (Number($('q').value) !== state.site.defaultQuality) p.set('q', $('q').value);
  if ($('f').value !== 'auto') p.set('f', $('f').value);
  return p.toString();
}

async function update() {
  if (!state.input || !state.site) return;
  const seq = ++state.seq;
  const url = pathOf(state.name) + '?' + query();
  $('url').textContent = url;
  $('url-open').href = url;
  $('url-open').hidden = !state.fromFolder;
  document.body.dataset.state = 'working';
  window.scalefront.error = null;
  try {
    const v = await getJson('/_scalefront/api/variant?url=' + encodeURIComponent(url) + '&accept=' + encodeURIComponent(IMG_ACCEPT));
    if (seq !== state.seq) return;
    // A signed spec: the edge signed the URL on the server (the page never holds a key).
    if (v.url) {
      $('url').textContent = v.url;
      $('url-open').href = v.url;
    }
    if (v.response) throw new Error(`the viewer function answers ${v.response.status}: ${v.response.body.trim()}`);
    $('rewritten').textContent = v.uri;
    if (!v.variant) throw new Error('that URL asks for the original');
    const opts = { fit: v.variant.fit, q: v.variant.quality, f: v.variant.format };
    if (v.variant.width) opts.w = v.variant.width;
    if (v.variant.height) opts.h = v.variant.height;
    setStatus('resizing in the browser…');
    const out = await call('resize', state.input.slice(), opts).catch((err) => {
      if (opts.f === 'avif' && /^unsupported/.test(err.message)) {
        throw new Error(`${err.message} — this browser build of the image core has no AVIF encoder; the edge makes AVIF natively (open the URL)`);
      }
      throw err;
    });
    if (seq !== state.seq) return;
    showResult(out, url, v);
  } catch (err) {
    if (seq !== state.seq) return;
    window.scalefront.error = String(err.message || err);
    setStatus(window.scalefront.error, 'error');
    document.body.dataset.state = 'error';
  }
  $('srcset').textContent = await (await fetch('/_scalefront/api/srcset?key=' + encodeURIComponent(state.name))).text();
}

function showResult(out, url, v) {
  if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
  state.resultUrl = URL.createObjectURL(new Blob([out.data], { type: out.contentType }));
  const img = $('result-img');
  const inBytes = state.input.length;
  const saved = inBytes - out.data.length;
  $('result-info').textContent = `${out.width}×${out.height} · ${out.contentType.replace('image/', '')} · ${kb(out.data.length)} · ${out.ms.toFixed(0)} ms`;
  setStatus(saved >= 0
    ? `${kb(saved)} saved (${(100 * saved / inBytes).toFixed(1)} % smaller than the original)`
    : `${kb(-saved)} larger than the original`, saved >= 0 ? 'saved' : '');
  img.onload = () => {
    window.scalefront.last = {
      url, uri: v.uri, variant: v.variant, width: out.width, height: out.height, contentType: out.contentType,
      bytes: out.data, ms: out.ms, inputBytes: inBytes,
      displayed: { width: img.naturalWidth, height: img.naturalHeight },
    };
    document.body.dataset.state = 'done';
  };
  img.src = state.resultUrl;
}

async function useInput(bytes, name, fromFolder) {
  state.input = bytes;
  state.name = name;
  state.fromFolder = fromFolder;
  if (state.originalUrl) URL.revokeObjectURL(state.originalUrl);
  state.originalUrl = URL.createObjectURL(new Blob([bytes]));
  $('orig-img').src = state.originalUrl;
  let dims = '';
  try {
    const p = await call('probe', bytes.slice());
    const o = p.info.orientation;
    dims = o > 1
      // probe reports the displayed (oriented) size; orientations 5–8 store it transposed.
      ? `${o >= 5 ? `${p.info.height}×${p.info.width}` : `${p.info.width}×${p.info.height}`} stored, EXIF orientation ${o} (shown ${p.info.width}×${p.info.height}) · ${p.info.format} · `
      : `${p.info.width}×${p.info.height} · ${p.info.format} · `;
  } catch (err) {
    dims = `(${err.message}) · `;
  }
  $('orig-info').textContent = dims + kb(bytes.length);
  await update();
}

// --- the folder's photos, through the edge -------------------------------------------------
async function listPhotos() {
  const box = $('photos');
  box.textContent = '';
  const ws = state.site.widths;
  const pick = [ws.find((w) => w >= 320) ?? ws[0], ws.find((w) => w >= 640) ?? ws[ws.length - 1], ws.find((w) => w >= 1200) ?? ws[ws.length - 1]];
  const widths = [...new Set(pick)];
  if (!state.site.photos.length) box.textContent = 'No photos here yet: add .jpg, .png or .webp files to the folder.';
  const rows = [];
  for (const p of state.site.photos) {
    const card = document.createElement('div');
    card.className = 'photo';
    card.innerHTML = `<img loading="lazy" alt=""><div class="body"><div class="key"></div>
      <div class="muted orig"></div><table><tbody></tbody></table>
      <details><summary class="muted">&lt;img srcset&gt;</summary><pre><code></code></pre></details></div>`;
    card.querySelector('img').src = `${p.path}?w=${widths[0]}`;
    card.querySelector('.key').textContent = p.key;
    card.querySelector('.orig').textContent = `original ${kb(p.bytes)}`;
    card.querySelector('code').textContent = p.srcset;
    box.append(card);
    for (const w of widths) rows.push({ tbody: card.querySelector('tbody'), url: `${p.path}?w=${w}`, w });
  }
  // One request at a time: the list shows each variant being made, then served from cache.
  for (const r of rows) {
    const tr = document.createElement('tr');
    r.tbody.append(tr);
    try {
      const t0 = performance.now();
      // The Accept an <img> sends, so the row shows the format a page's visitors get.
      const res = await fetch(r.url, { headers: { accept: IMG_ACCEPT } });
      const body = await res.arrayBuffer();
      const ms = performance.now() - t0;
      // What the origin side did on a miss (generated, stored…), else CloudFront's word (Hit, Miss, Error).
      const xc = res.headers.get('x-scalefront-origin') || (res.headers.get('x-cache') || '').split(' ')[0];
      tr.innerHTML = `<td><a target="_blank" rel="noopener"></a></td><td></td><td class="num"></td><td><span class="tag"></span></td><td class="num"></td>`;
      const a = tr.querySelector('a');
      a.href = r.url;
      a.textContent = `w=${r.w}`;
      tr.children[1].textContent = res.ok ? (res.headers.get('content-type') || '').replace('image/', '') : `${res.status}`;
      tr.children[2].textContent = kb(body.byteLength);
      tr.querySelector('.tag').textContent = xc;
      tr.querySelector('.tag').classList.add(xc);
      tr.children[4].textContent = `${ms.toFixed(0)} ms`;
    } catch (err) {
      tr.innerHTML = `<td colspan="5"></td>`;
      tr.firstChild.textContent = `${r.url}: ${err.message}`;
    }
  }
  refreshStats();
}

async function refreshStats() {
  try {
    const s = await getJson('/_scalefront/api/stats');
    $('stats').textContent = `edge: ${s.edge.requests} requests · ${s.edge.generated} variants generated · cache ${s.cache.entries} entries, ${kb(s.cache.bytes)} of ${kb(s.cache.max_bytes)} · ${s.cache.hits} hits, ${s.cache.misses} misses`;
  } catch (err) {
    $('stats').textContent = String(err.message || err);
  }
}

// --- start -----------------------------------------------------------------------------------
async function start() {
  const site = await getJson('/_scalefront/api/site');
  state.site = site;
  $('origin').textContent = `origin: ${site.origin} · variants under /${site.prefix}/ · widths ${site.widths.join(', ')}`;
  for (const w of site.widths) option($('w'), String(w));
  $('w').value = String(site.widths.find((w) => w >= 640) ?? site.widths[site.widths.length - 1]);
  for (const h of site.heights) option($('h'), String(h));
  for (const f of site.fits) option($('fit'), f);
  $('fit').value = site.defaultFit;
  $('q').value = String(site.defaultQuality);
  $('q-out').textContent = String(site.defaultQuality);
  if (site.negotiatesFormat) option($('f'), 'auto', 'auto (from Accept)');
  for (const f of site.formats) option($('f'), f);
  // WebP by default: every browser shows it, and the browser build may leave AVIF out (size).
  if (site.formats.includes('webp')) $('f').value = 'webp';
  for (const p of site.photos) option($('photo'), p.key);

  for (const id of ['w', 'h', 'fit', 'f']) $(id).addEventListener('change', update);
  $('q').addEventListener('input', () => { $('q-out').textContent = $('q').value; });
  $('q').addEventListener('change', update);
  $('photo').addEventListener('change', async () => {
    const key = $('photo').value;
    if (!key) return;
    const res = await fetch(pathOf(key));
    await useInput(new Uint8Array(await res.arrayBuffer()), key, true);
  });
  $('file').addEventListener('change', async () => {
    const file = $('file').files[0];
    if (file) {
      $('photo').value = '';
      await useInput(new Uint8Array(await file.arrayBuffer()), file.name, false);
    }
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer.files[0];
    if (file) {
      $('photo').value = '';
      await useInput(new Uint8Array(await file.arrayBuffer()), file.name, false);
    }
  });
  $('copy').addEventListener('click', () => navigator.clipboard.writeText($('srcset').textContent));

  if (!site.wasm) {
    $('wasm-missing').hidden = false;
    document.body.dataset.state = 'no-wasm';
  } else {
    startWorker();
    document.body.dataset.state = 'ready';
    if (site.photos.length) {
      $('photo').value = site.photos[0].key;
      $('photo').dispatchEvent(new Event('change'));
    }
  }
  listPhotos();
}

start().catch((err) => {
  setStatus(String(err.message || err), 'error');
  document.body.dataset.state = 'error';
});
