// The engine: one instance of the wasm module (one build) and the models
// loaded into it, driven synchronously. wordlight.mjs runs it in the
// calling thread (node, or a page that asks for no worker); worker.js runs
// it in a Web Worker. Both go through dispatch(), so the two paths share
// every line that touches the module.
import { readModelFiles } from './sources.mjs';

export const BUILDS = ['wordlight-simd', 'wordlight-simd-threads'];

const isNode = typeof process === 'object' && typeof process.versions === 'object' && !!process.versions.node;

// An Error from the module's last failure: message = the C++ message; code:
// 'cancelled' (name AbortError), 'out-of-memory' or 'error'.
// A run cancelled before it started, as the core reports one it stopped.
function throwIfCancelled(hooks) {
  if (!hooks.shouldCancel?.()) return;
  const e = new Error('explanation cancelled');
  e.name = 'AbortError';
  e.code = 'cancelled';
  throw e;
}

function moduleError(M) {
  const kind = M.lastErrorKind();
  const err = new Error(M.lastError() || 'wordlight: unknown error');
  M.clearError();
  if (kind === 'cancelled') {
    err.name = 'AbortError';
    err.code = 'cancelled';
  } else {
    err.code = kind === 'memory' ? 'out-of-memory' : 'error';
  }
  return err;
}

// UTF-8 byte offsets -> UTF-16 (JS string) offsets of `text`. A byte offset
// inside a character (byte-level BPE can split one) maps to the start of
// that character for a begin and to its end for an end.
export function utf16Offsets(text) {
  const bytes = [];
  let nbytes = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i);
    const u16 = cp > 0xffff ? 2 : 1;
    // Lone surrogates are sent as U+FFFD (TextEncoder), 3 bytes.
    const u8 = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    bytes.push([nbytes, u8, i, u16]);
    nbytes += u8;
    i += u16;
  }
  const floor = new Int32Array(nbytes + 1);
  const ceil = new Int32Array(nbytes + 1);
  for (const [b, u8, i, u16] of bytes) {
    for (let k = 0; k < u8; ++k) {
      floor[b + k] = i;
      ceil[b + k] = k === 0 ? i : i + u16;
    }
  }
  floor[nbytes] = ceil[nbytes] = text.length;
  const clamp = (b) => Math.max(0, Math.min(nbytes, b));
  return { begin: (b) => floor[clamp(b)], end: (b) => ceil[clamp(b)], bytes: nbytes };
}

// The C++ JSON uses byte offsets (begin, end); JS gets string offsets there
// and the bytes as byte_begin, byte_end.
function addStringOffsets(text, items) {
  const map = utf16Offsets(text);
  for (const it of items) {
    const b = it.begin, e = it.end;
    it.byte_begin = b;
    it.byte_end = e;
    it.begin = map.begin(b);
    it.end = b === e ? it.begin : map.end(e);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function kebab(name) {
  return name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

// ------------------------------------------------------------------ argument checks
// The JS API type-checks what it is given as the C++ API and the CLI do:
// a text that is not a string, or an option of the wrong type, is a
// TypeError naming it, never coerced ("undefined", NaN -> 0) or ignored.
function describe(v) {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`;
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

export function checkText(text, op) {
  if (typeof text !== 'string') throw new TypeError(`wordlight: ${op}(text): text must be a string, got ${describe(text)}`);
}

// predictBatch / explainBatch: an array of strings.
export function checkTexts(texts, op) {
  if (!Array.isArray(texts)) throw new TypeError(`wordlight: ${op}(texts): texts must be an array of strings, got ${describe(texts)}`);
  texts.forEach((t, i) => {
    if (typeof t !== 'string') throw new TypeError(`wordlight: ${op}(texts): texts[${i}] must be a string, got ${describe(t)}`);
  });
}

// The texts as the module reads them: UTF-8 of a JSON array, each lone
// surrogate as U+FFFD (what TextEncoder sends for one text).
function textsBytes(texts) {
  return encoder.encode(JSON.stringify(texts.map((t) => decoder.decode(encoder.encode(t)))));
}

// An explanation from the module, for the caller's `text`: the text as the
// caller's string, offsets as string offsets (byte_* keep the UTF-8 ones).
function explanationFor(text, e) {
  e.text = text;
  addStringOffsets(text, e.tokens);
  addStringOffsets(text, e.words);
  return e;
}

// maxLength: tokens, special ones included; -1 (the default) for the
// model's maximum, 0 for no limit where the call allows it.
export function checkMaxLength(maxLength, op) {
  if (maxLength === undefined) return;
  if (!Number.isInteger(maxLength) || maxLength < -1 || maxLength > 0x7fffffff)
    throw new TypeError(`wordlight: ${op}: maxLength must be a whole number >= -1, got ${describe(maxLength)}`);
}

export function checkExplainRequest({ method, target, maxLength, options } = {}) {
  if (method !== undefined && typeof method !== 'string')
    throw new TypeError(`wordlight: explain: method must be a string, got ${describe(method)}`);
  if (target !== undefined && target !== null && typeof target !== 'string' && !(Number.isInteger(target) && target >= 0))
    throw new TypeError(`wordlight: explain: target must be a label name or a class id (a whole number >= 0), got ${describe(target)}`);
  checkMaxLength(maxLength, 'explain');
  for (const [k, v] of Object.entries(options || {})) {
    if (v === undefined) continue;
    const ok = typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
    if (!ok)
      throw new TypeError(`wordlight: explain: option '${k}' must be a finite number, a boolean or a string, got ${describe(v)}`);
  }
}

// generate()'s options, checked before the module sees them.
export function checkGenerateRequest(r = {}) {
  const int = (k, lo) => {
    if (r[k] !== undefined && (!Number.isInteger(r[k]) || r[k] < lo))
      throw new TypeError(`wordlight: generate: ${k} must be a whole number >= ${lo}, got ${describe(r[k])}`);
  };
  int('maxNewTokens', 0);
  int('topK', 0);
  int('seed', 0);
  if (r.temperature !== undefined && !(typeof r.temperature === 'number' && r.temperature > 0 && Number.isFinite(r.temperature)))
    throw new TypeError(`wordlight: generate: temperature must be a positive number, got ${describe(r.temperature)}`);
  if (r.topP !== undefined && !(typeof r.topP === 'number' && r.topP > 0 && r.topP <= 1))
    throw new TypeError(`wordlight: generate: topP must be in (0, 1], got ${describe(r.topP)}`);
  if (r.stop !== undefined && !(Array.isArray(r.stop) && r.stop.every((s) => typeof s === 'string' && s.length > 0)))
    throw new TypeError(`wordlight: generate: stop must be an array of non-empty strings, got ${describe(r.stop)}`);
  if (r.stopIds !== undefined && !(Array.isArray(r.stopIds) && r.stopIds.every((s) => Number.isInteger(s) && s >= 0)))
    throw new TypeError(`wordlight: generate: stopIds must be an array of token ids, got ${describe(r.stopIds)}`);
  const e = r.explain;
  if (e !== undefined && e !== null) {
    if (typeof e !== 'object') throw new TypeError(`wordlight: generate: explain must be an object, got ${describe(e)}`);
    checkExplainRequest({ method: e.method, options: e.options });
    if (e.contrast !== undefined && !(Number.isInteger(e.contrast) && e.contrast >= 0))
      throw new TypeError(`wordlight: generate: explain.contrast must be a token id, got ${describe(e.contrast)}`);
  }
}

// Option values of explain() as the JSON the core reads.
export function optionsJson(options) {
  const out = {};
  for (const [k, v] of Object.entries(options || {})) {
    if (v === undefined) continue;
    out[kebab(k)] = v;
  }
  return JSON.stringify(out);
}

export class Engine {
  constructor(Module, build) {
    this.M = Module;
    this.build = build;
    this.models = new Map();
    this.nextId = 1;
    this._methods = null;
  }

  get threaded() {
    return this.M.threadedBuild();
  }

  methods() {
    if (!this._methods) this._methods = JSON.parse(this.M.methodsJson());
    return this._methods;
  }

  // The registry resolved for a loaded model (its architecture group and
  // the learned parts it carries): each method with `applicable` (and
  // `why`), only the options that apply, with that group's choices and
  // defaults.
  modelMethods(id) {
    const s = this.model(id).h.methods();
    if (!s) throw moduleError(this.M);
    return JSON.parse(s);
  }

  fileNames() {
    return JSON.parse(this.M.modelFileNamesJson());
  }

  // files: Map name -> Uint8Array. Returns { id, info }.
  loadFiles(files, name, threads) {
    const M = this.M;
    const h = new M.ModelHandle();
    let ok = false;
    try {
      for (const [fname, bytes] of files) {
        const view = h.stage(fname, bytes.length);
        if (!view) throw moduleError(M);
        view.set(bytes);
      }
      if (!h.load(name)) throw moduleError(M);
      const infoText = h.info();
      if (!infoText) throw moduleError(M);
      const id = this.nextId++;
      const info = JSON.parse(infoText);
      info.name = name;
      info.build = this.build;
      info.threads = this.threaded ? threads : 1;
      this.models.set(id, { h, threads: info.threads, info });
      ok = true;
      return { id, info };
    } finally {
      if (!ok) h.delete();
    }
  }

  async load(source, { name, threads = 1, onProgress } = {}) {
    const { files, name: resolved } = await readModelFiles(source, { fileNames: this.fileNames(), onProgress });
    onProgress?.({ stage: 'model', done: 0, total: 1 });
    const r = this.loadFiles(files, name || resolved, threads);
    files.clear();
    onProgress?.({ stage: 'model', done: 1, total: 1 });
    return r;
  }

  model(id) {
    const m = this.models.get(id);
    if (!m) throw new Error('wordlight: the model was disposed');
    if (this.threaded && this.M.getThreads() !== m.threads && !this.M.setThreads(m.threads)) throw moduleError(this.M);
    return m;
  }

  // The model handle's `op` (predict, tokenize) on one text, the text and
  // maxLength checked first -> the parsed JSON.
  textOp(op, id, text, maxLength) {
    checkText(text, op);
    checkMaxLength(maxLength, op);
    const m = this.model(id);
    const r = m.h[op](encoder.encode(text), maxLength);
    if (!r) throw moduleError(this.M);
    return JSON.parse(r);
  }

  predict(id, text, { maxLength = -1 } = {}) {
    return this.textOp('predict', id, text, maxLength);
  }

  attention(id, text, { maxLength = -1 } = {}) {
    return this.textOp('attention', id, text, maxLength);
  }

  tokenize(id, text, { maxLength = -1 } = {}) {
    const j = this.textOp('tokenize', id, text, maxLength);
    const map = utf16Offsets(text);
    const conv = ([b, e]) => (b === e ? [map.begin(b), map.begin(b)] : [map.begin(b), map.end(e)]);
    j.byte_offsets = j.offsets;
    j.offsets = j.offsets.map(conv);
    j.byte_words = j.words;
    j.words = j.words.map(conv);
    return j;
  }

  // A long module call: call(progress) with progress(done, total) -> whether
  // to cancel, from the caller's hooks ({ onProgress, shouldCancel }; a
  // throwing onProgress cancels and its error is rethrown here), and the
  // masked LM `maskedLm` (a loaded model's id, or none) set on `m` for this
  // call only -> the module's JSON text.
  hooked(m, hooks, maskedLm, call) {
    let hookError = null;
    // generate's progress carries the new token (JSON text) as a third argument.
    const progress = (done, total, token) => {
      try {
        if (token === undefined) hooks.onProgress?.(done, total);
        else hooks.onProgress?.(done, total, JSON.parse(token));
        return !!hooks.shouldCancel?.();
      } catch (e) {
        hookError = e;
        return true;
      }
    };
    const mlm = maskedLm === undefined || maskedLm === null ? null : this.model(maskedLm).h;
    if (mlm) m.h.setMaskedLm(mlm);
    let r;
    try {
      r = call(progress);
    } finally {
      if (mlm) m.h.setMaskedLm(null);
    }
    if (hookError) throw hookError;
    if (!r) throw moduleError(this.M);
    return r;
  }

  // request: { method, target, maxLength, options }; hooks: { onProgress(done,
  // total), shouldCancel() -> bool }. Neither hook may throw into the module:
  // a throwing onProgress cancels the run and its error is rethrown here.
  explain(id, text, request = {}, hooks = {}) {
    checkText(text, 'explain');
    checkExplainRequest(request);
    const m = this.model(id);
    const { method = 'gradient', target, maxLength = -1, options = {}, maskedLm } = request;
    throwIfCancelled(hooks);
    const t = target === undefined || target === null ? '' : String(target);
    const e = JSON.parse(
      this.hooked(m, hooks, maskedLm, (progress) => m.h.explain(encoder.encode(text), String(method), optionsJson(options), t, maxLength, progress)),
    );
    // The text comes back as the core saw it; JS keeps the caller's string.
    return explanationFor(text, e);
  }

  // Many texts in one module call (the data-set view): predictions in
  // padded batches of batchSize, the texts sorted by length. -> one entry
  // per text: predict()'s object, or { error } for a text without one.
  predictBatch(id, texts, { maxLength = -1, batchSize = 16 } = {}, hooks = {}) {
    checkTexts(texts, 'predictBatch');
    checkMaxLength(maxLength, 'predictBatch');
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 4096)
      throw new TypeError(`wordlight: predictBatch: batchSize must be a whole number in [1, 4096], got ${describe(batchSize)}`);
    const m = this.model(id);
    throwIfCancelled(hooks);
    return JSON.parse(this.hooked(m, hooks, null, (progress) => m.h.predictBatch(textsBytes(texts), maxLength, batchSize, progress)));
  }

  // Each text explained as explain() explains it, in one module call;
  // progress in texts; request.documentVectors: each explanation also gets
  // document_vector (sum over words of score x the word's mean token
  // embedding). -> one entry per text: an explanation, or { error }.
  explainBatch(id, texts, request = {}, hooks = {}) {
    checkTexts(texts, 'explainBatch');
    checkExplainRequest(request);
    const m = this.model(id);
    const { method = 'gradient', target, maxLength = -1, options = {}, maskedLm, documentVectors = false } = request;
    throwIfCancelled(hooks);
    const t = target === undefined || target === null ? '' : String(target);
    const out = JSON.parse(
      this.hooked(m, hooks, maskedLm, (progress) =>
        m.h.explainBatch(textsBytes(texts), String(method), optionsJson(options), t, maxLength, !!documentVectors, progress),
      ),
    );
    return out.map((e, i) => (e.error !== undefined ? e : explanationFor(texts[i], e)));
  }

  // Generation with a causal LM (GPT2LMHeadModel). request: { maxNewTokens,
  // sample, temperature, topK, topP, seed, stop, stopIds, bos, ignoreEos,
  // explain: { method, options, score, contrast } }; hooks as for explain
  // (progress over the generated tokens, then over the explained ones).
  generate(id, prompt, request = {}, hooks = {}) {
    checkText(prompt, 'generate');
    checkGenerateRequest(request);
    const m = this.model(id);
    const r = { ...request };
    if (r.explain) r.explain = { ...r.explain, options: JSON.parse(optionsJson(r.explain.options)) };
    const g = JSON.parse(this.hooked(m, hooks, null, (progress) => m.h.generate(encoder.encode(prompt), JSON.stringify(r), progress)));
    g.prompt = prompt;
    return g;
  }

  // Counterfactuals (core/src/counterfactual). request: { generator,
  // options, locked (word indices), maxLength, maskedLm (mlm-edits: a loaded
  // masked LM's id) }; hooks as for explain. Offsets of words and edits
  // become string offsets (byte_* keep the UTF-8 ones); new_begin/new_end
  // those of each counterfactual's own text.
  counterfactuals(id, text, request = {}, hooks = {}) {
    checkText(text, 'counterfactuals');
    const { generator = 'hotflip', options = {}, locked = [], maxLength = -1, maskedLm } = request;
    if (typeof generator !== 'string')
      throw new TypeError(`wordlight: counterfactuals: generator must be a string, got ${describe(generator)}`);
    if (!Array.isArray(locked) || !locked.every((w) => Number.isInteger(w) && w >= 0 && w <= 0x7fffffff))
      throw new TypeError(`wordlight: counterfactuals: locked must be an array of word indices, got ${describe(locked)}`);
    checkExplainRequest({ maxLength, options });
    const m = this.model(id);
    throwIfCancelled(hooks);
    const out = JSON.parse(
      this.hooked(m, hooks, maskedLm, (progress) =>
        m.h.counterfactuals(encoder.encode(text), generator, optionsJson(options), JSON.stringify(locked), maxLength, progress),
      ),
    );
    out.text = text;
    addStringOffsets(text, out.words);
    for (const c of out.counterfactuals) {
      addStringOffsets(text, c.edits);
      const map = utf16Offsets(c.text);
      for (const e of c.edits) {
        const b = e.new_begin, en = e.new_end;
        e.new_byte_begin = b;
        e.new_byte_end = en;
        e.new_begin = map.begin(b);
        e.new_end = b === en ? e.new_begin : map.end(en);
      }
    }
    return out;
  }

  generators() {
    if (!this._generators) this._generators = JSON.parse(this.M.counterfactualGeneratorsJson());
    return this._generators;
  }

  // The model on token ids: ids Int32Array (B*T), mask Uint8Array (B*T),
  // targets Int32Array (B) or undefined -> { logits, shape, inputGradient }.
  forward(id, ids, mask, B, T, targets) {
    const m = this.model(id);
    if (!m.h.forward(ids, mask, B, T, targets)) throw moduleError(this.M);
    const out = {
      logits: m.h.logitsView().slice(),
      shape: JSON.parse(m.h.logitsShape()),
      inputGradient: targets ? m.h.inputGradientView().slice() : null,
    };
    m.h.releaseForward();
    return out;
  }

  dispose(id) {
    const m = this.models.get(id);
    if (!m) return false;
    this.models.delete(id);
    m.h.delete();
    return true;
  }

  memory() {
    const M = this.M;
    return { heapSize: M.heapSize(), heapMax: M.heapMax(), heapInUse: M.heapInUse(), models: this.models.size };
  }

  // Which build and GEMM kernel run here: { build, threads, gemmKernel
  // ('wasm-relaxed-simd' where this JS engine validates relaxed SIMD, else
  // 'wasm-simd128'), relaxedSimd ('active' or why not) }.
  info() {
    const M = this.M;
    return { build: this.build, threads: M.getThreads(), gemmKernel: M.gemmKernel(), relaxedSimd: M.relaxedSimdStatus() };
  }

  shutdown() {
    for (const id of [...this.models.keys()]) this.dispose(id);
    if (this.M.PThread) this.M.PThread.terminateAllThreads();
  }
}

// Instantiates a build. distUrl: where the build's files are (a URL string
// ending in '/', or in node a directory path). factory: the Emscripten
// factory when the caller has already loaded the script (a worker's
// importScripts); otherwise it is loaded here.
export async function createEngine({ build, distUrl, factory }) {
  if (!BUILDS.includes(build)) throw new Error(`wordlight: unknown build '${build}' (known: ${BUILDS.join(', ')})`);
  let Module;
  if (isNode && !factory) {
    const { createRequire } = await import('node:module');
    const { readFileSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const path = await import('node:path');
    const dir = distUrl.startsWith('file:') ? fileURLToPath(distUrl) : distUrl;
    const js = path.join(dir, build + '.js');
    let wasmBinary;
    try {
      wasmBinary = readFileSync(path.join(dir, build + '.wasm'));
    } catch (e) {
      throw new Error(`wordlight: ${path.join(dir, build + '.wasm')} is missing; build it with ./build.sh wasm`);
    }
    const f = createRequire(import.meta.url)(js);
    // wasmBinary: Emscripten 3.1.6 would try fetch() on a path under node 20.
    Module = await f({ wasmBinary, locateFile: (p) => path.join(dir, p) });
  } else {
    const base = new URL(distUrl, typeof location === 'object' ? location.href : undefined).href;
    if (!factory) {
      if (typeof importScripts === 'function') {
        importScripts(base + build + '.js');
        factory = self.WordlightModule;
      } else {
        factory = await loadScriptGlobal(base + build + '.js');
      }
    }
    Module = await factory({
      locateFile: (p) => base + p,
      // pthread workers load the factory from here (it was not loaded by a
      // <script> they could find).
      mainScriptUrlOrBlob: base + build + '.js',
    });
  }
  return new Engine(Module, build);
}

// The page's main thread (no worker): a <script> defines WordlightModule.
function loadScriptGlobal(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => {
      // A `var` of a classic script: it stays on the global object (not
      // deletable); each build's script sets it again before its onload.
      const f = globalThis.WordlightModule;
      f ? resolve(f) : reject(new Error(`wordlight: ${src} did not define WordlightModule`));
    };
    s.onerror = () => reject(new Error(`wordlight: could not load ${src}`));
    document.head.appendChild(s);
  });
}

// One request to an engine, by name: the worker's message handler and the
// in-thread client both call this. hooks as for Engine.explain, plus
// onLoadProgress for 'load'.
export async function dispatch(engine, op, args, hooks = {}) {
  switch (op) {
    case 'methods':
      return args.id !== undefined ? engine.modelMethods(args.id) : engine.methods();
    case 'load':
      return engine.load(args.source, { name: args.name, threads: args.threads, onProgress: hooks.onLoadProgress });
    case 'predict':
      return engine.predict(args.id, args.text, args);
    case 'tokenize':
      return engine.tokenize(args.id, args.text, args);
    case 'attention':
      return engine.attention(args.id, args.text, args);
    case 'explain':
      return engine.explain(args.id, args.text, args.request, hooks);
    case 'predictBatch':
      return engine.predictBatch(args.id, args.texts, args, hooks);
    case 'explainBatch':
      return engine.explainBatch(args.id, args.texts, args.request, hooks);
    case 'counterfactuals':
      return engine.counterfactuals(args.id, args.text, args.request, hooks);
    case 'generate':
      return engine.generate(args.id, args.prompt, args.request, hooks);
    case 'generators':
      return engine.generators();
    case 'forward':
      return engine.forward(args.id, args.ids, args.mask, args.B, args.T, args.targets);
    case 'dispose':
      return engine.dispose(args.id);
    case 'memory':
      return engine.memory();
    case 'engineInfo':
      return engine.info();
    case 'shutdown':
      return engine.shutdown();
    default:
      throw new Error(`wordlight: unknown operation '${op}'`);
  }
}
