// Where a model's files come from: a URL of a model directory, a map or
// object of file names to bytes (ArrayBuffer, typed array, Blob/File,
// string), a list of Files (a dropped folder), or in node a directory path.
// Only the files the loader reads (fileNames) are kept.
import { responseBytes } from './bytes.mjs';

const isNode = typeof process === 'object' && typeof process.versions === 'object' && !!process.versions.node;

function baseName(p) {
  return String(p).split(/[\\/]/).pop();
}

async function toBytes(v, name) {
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer) return new Uint8Array(v);
  if (typeof Blob !== 'undefined' && v instanceof Blob) return new Uint8Array(await v.arrayBuffer());
  if (typeof v === 'string') return new TextEncoder().encode(v);
  throw new TypeError(`wordlight: file '${name}' must be an ArrayBuffer, a typed array, a Blob/File or a string`);
}

function isUrlLike(s) {
  return /^(https?:|blob:|data:)/i.test(s);
}

// -> { files: Map<string, Uint8Array>, name }
export async function readModelFiles(source, { fileNames, onProgress } = {}) {
  const wanted = new Set(fileNames);
  const report = (file, done, total) => onProgress?.({ stage: 'files', file, done, total });

  // A map or object of name -> bytes, or a list of Files.
  const entries = [];
  const isMapLike = source instanceof Map || Array.isArray(source) ||
    (typeof FileList !== 'undefined' && source instanceof FileList) ||
    (!!source && typeof source === 'object' && !(source instanceof URL));
  if (source instanceof Map) {
    for (const [k, v] of source) entries.push([k, v]);
  } else if (
    Array.isArray(source) ||
    (typeof FileList !== 'undefined' && source instanceof FileList)
  ) {
    for (const f of source) entries.push([f.webkitRelativePath || f.name, f]);
  } else if (source && typeof source === 'object' && !(source instanceof URL)) {
    for (const k of Object.keys(source)) entries.push([k, source[k]]);
  }
  if (isMapLike) {
    const files = new Map();
    let dir = '';
    for (const [path, v] of entries) {
      const n = baseName(path);
      if (!wanted.has(n)) continue;
      if (files.has(n)) throw new Error(`wordlight: two files are named '${n}'`);
      if (!dir && /[\\/]/.test(path)) dir = String(path).split(/[\\/]/).slice(-2, -1)[0];
      files.set(n, await toBytes(v, n));
      report(n, files.size, wanted.size);
    }
    return { files, name: dir || 'model' };
  }

  if (typeof source !== 'string' && !(source instanceof URL))
    throw new TypeError('wordlight.load: source must be a URL, a directory path (node), or a map of file names to bytes');
  const s = String(source);

  // A directory on disk (node).
  if (isNode && !isUrlLike(s)) {
    const { readFile, stat } = await import('node:fs/promises');
    const path = await import('node:path');
    const { fileURLToPath } = await import('node:url');
    const dir = s.startsWith('file:') ? fileURLToPath(s) : s;
    let st;
    try {
      st = await stat(dir);
    } catch {
      throw new Error(`wordlight: ${dir}: no such model directory`);
    }
    if (!st.isDirectory()) throw new Error(`wordlight: ${dir} is not a directory`);
    const files = new Map();
    for (const n of fileNames) {
      try {
        files.set(n, new Uint8Array(await readFile(path.join(dir, n))));
      } catch (e) {
        if (e.code !== 'ENOENT') throw new Error(`wordlight: ${path.join(dir, n)}: ${e.message}`);
      }
      report(n, files.size, fileNames.length);
    }
    return { files, name: dir };
  }

  // A URL of a model directory: fetch the files that exist (404: absent).
  const base = s.endsWith('/') ? s : s + '/';
  const baseUrl = new URL(base, typeof location === 'object' ? location.href : undefined);
  const files = new Map();
  const totals = new Map();
  const loaded = new Map();
  const progress = (n) => {
    let done = 0, total = 0;
    for (const v of loaded.values()) done += v;
    for (const v of totals.values()) total += v;
    report(n, done, total);
  };
  await Promise.all(
    fileNames.map(async (n) => {
      const url = new URL(n, baseUrl);
      let res;
      try {
        res = await fetch(url);
      } catch (e) {
        throw new Error(`wordlight: could not fetch ${url}: ${e.message}`);
      }
      if (res.status === 404) return;
      // A single-page app's server (Vite's default, most static hosts'
      // fallback) answers a missing file with its index.html: no model
      // file is HTML, so that is an absent file too.
      if (res.ok && /^text\/html\b/i.test(res.headers.get('content-type') || '')) return;
      if (!res.ok) throw new Error(`wordlight: ${url}: HTTP ${res.status} ${res.statusText}`);
      files.set(
        n,
        await responseBytes(res, (done, total) => {
          loaded.set(n, done);
          totals.set(n, total);
          progress(n);
        }),
      );
    }),
  );
  return { files, name: s };
}
