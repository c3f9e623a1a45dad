// Shared by the local edge's tests: start `scalefront serve` as a real process, read image sizes,
// make the fixture folder (sample photos + corrupt + huge files).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

export const ROOT = process.env.ROOT || path.resolve(import.meta.dirname, '../..');
export const BIN = process.env.SCALEFRONT_BIN || path.join(ROOT, 'target/debug/scalefront');
export const SAMPLE = path.join(ROOT, 'edge/sample/photos');

/** Starts `scalefront serve ARGS --port 0` and waits for its banner. */
export async function serve(args, { env = {}, timeoutMs = 20000 } = {}) {
  const proc = spawn(BIN, ['serve', ...args, '--port', '0'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`)), timeoutMs);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/local edge on (http:\/\/[0-9.:]+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited ${code}\nstdout: ${out}\nstderr: ${err}`)); });
  });
  return {
    base,
    proc,
    output: () => ({ out, err }),
    /** SIGINT (Ctrl-C), then the exit code. */
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGINT');
      const [code] = await once(proc, 'exit');
      return code;
    },
  };
}

export function tmpdir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sf-${name}-`));
}

/** A folder with the sample photos plus files that must fail: corrupt (415), huge (400). */
export function fixtureFolder(name) {
  const dir = tmpdir(name);
  fs.cpSync(SAMPLE, dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'corrupt.jpg'), corruptJpeg());
  fs.writeFileSync(path.join(dir, 'huge.png'), hugePng(30000, 30000));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image\n');
  return dir;
}

/** Starts like a JPEG, then garbage: the decoder must refuse it (415, corrupt). */
export function corruptJpeg() {
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0'), Buffer.alloc(2000, 0x5a)]);
}

/** A tiny PNG whose header claims WxH pixels (a decompression bomb's calling card). */
export function hugePng(w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(1000))), chunk('IEND', Buffer.alloc(0))]);
}

/** {format, width, height} from an image's header (JPEG, PNG, WebP). */
export function imageSize(buf) {
  const b = Buffer.from(buf);
  if (b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) { i++; continue; }
      const m = b[i + 1];
      if (m >= 0xc0 && m <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(m)) {
        return { format: 'jpeg', height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
      }
      if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { i += 2; continue; }
      i += 2 + b.readUInt16BE(i + 2);
    }
    throw new Error('JPEG without a frame header');
  }
  if (b.subarray(1, 4).toString() === 'PNG') return { format: 'png', width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  if (b.subarray(0, 4).toString() === 'RIFF' && b.subarray(8, 12).toString() === 'WEBP') {
    const kind = b.subarray(12, 16).toString();
    if (kind === 'VP8 ') return { format: 'webp', width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
    if (kind === 'VP8L') {
      const v = b.readUInt32LE(21);
      return { format: 'webp', width: (v & 0x3fff) + 1, height: ((v >> 14) & 0x3fff) + 1 };
    }
    if (kind === 'VP8X') return { format: 'webp', width: b.readUIntLE(24, 3) + 1, height: b.readUIntLE(27, 3) + 1 };
  }
  if (b.subarray(4, 12).toString() === 'ftypavif') return { format: 'avif' };
  throw new Error('unknown image format');
}

/** Every file under dir, relative, with '/' separators. */
export function walk(dir, base = dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, base));
    else out.push(path.relative(base, p).split(path.sep).join('/'));
  }
  return out.sort();
}
