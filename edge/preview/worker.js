// Runs the image core (wasm `web` build) off the main thread so the page stays responsive.
import init, { resize, probe } from '/_scalefront/pkg/image_core.js';

const ready = init({ module_or_path: '/_scalefront/pkg/image_core_bg.wasm' });

self.onmessage = async (e) => {
  const { id, op, bytes, options } = e.data;
  try {
    await ready;
    if (op === 'probe') {
      const info = probe(bytes);
      self.postMessage({ id, ok: true, info: { format: info.format, width: info.width, height: info.height, orientation: info.orientation } });
      return;
    }
    const t0 = performance.now();
    const out = resize(bytes, options);
    const ms = performance.now() - t0;
    const data = out.data;
    self.postMessage({ id, ok: true, ms, data, contentType: out.contentType, width: out.width, height: out.height }, [data.buffer]);
  } catch (err) {
    self.postMessage({ id, ok: false, error: String(err && err.message || err) });
  }
};
