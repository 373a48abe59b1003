// The Web Worker that runs the wasm module for wordlight.mjs, so the page
// never freezes. A classic worker: Emscripten's factory is a classic script
// (importScripts), and so are the pthread workers that load it again; the
// engine itself is an ES module, imported dynamically.
//
// Messages in:  { type: 'init', build, distUrl }
//               { type: 'call', id, op, args, flag?, progress }
// Messages out: { type: 'progress', id, done, total, token? }
//               { type: 'load-progress', id, progress }
//               { type: 'result', id, value } | { type: 'error', id, message, name, code }
/* eslint-env worker */
'use strict';

let enginePromise = null;
let dispatchFn = null;

function init(build, distUrl) {
  enginePromise = (async () => {
    const base = new URL(distUrl, self.location.href).href;
    // The factory first (synchronous), then the engine module.
    importScripts(base + build + '.js');
    const factory = self.WordlightModule;
    const mod = await import(new URL('./engine.mjs', self.location.href).href);
    dispatchFn = mod.dispatch;
    return mod.createEngine({ build, distUrl: base, factory });
  })();
  // An init failure is reported by the calls that wait on it.
  enginePromise.catch(() => {});
}

function transferables(value) {
  if (!value || typeof value !== 'object') return [];
  const out = [];
  for (const v of Object.values(value)) 
    if (ArrayBuffer.isView(v) && !(typeof SharedArrayBuffer !== 'undefined' && v.buffer instanceof SharedArrayBuffer))
      out.push(v.buffer);
  return out;
}

async function call(m) {
  const { id, op, args, flag, progress } = m;
  try {
    const engine = await enginePromise;
    const hooks = {
      onProgress: progress ? (done, total, token) => self.postMessage({ type: 'progress', id, done, total, token }) : undefined,
      onLoadProgress: (p) => self.postMessage({ type: 'load-progress', id, progress: p }),
      shouldCancel: flag ? () => Atomics.load(flag, 0) !== 0 : undefined,
    };
    const value = await dispatchFn(engine, op, args, hooks);
    self.postMessage({ type: 'result', id, value }, transferables(value));
  } catch (e) {
    self.postMessage({ type: 'error', id, message: String((e && e.message) || e), name: e && e.name, code: e && e.code });
  }
}

self.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === 'init') init(m.build, m.distUrl);
  else if (m.type === 'call') call(m);
};
