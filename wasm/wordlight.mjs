// wordlight's JavaScript API: load a text classifier, predict, explain.
//
//   import * as wordlight from './wasm/wordlight.mjs';
//   const model = await wordlight.load('models/sst2-bilstm/', { onProgress });
//   await model.predict('a gripping, funny film');
//   const e = await model.explain('a gripping, funny film',
//                                 { method: 'integrated-gradients', steps: 32, signal, onProgress });
//   e.words.map((w) => [w.text, w.score]);
//   await model.dispose();
//
// In a browser the module runs in a Web Worker (worker.js) unless
// { worker: false }; in node it runs in the calling thread. The build is
// chosen at load time: the pthreads build when SharedArrayBuffer can be
// shared (a cross-origin isolated page, or node) and more than one thread
// is asked for, else the single-threaded one. Both need WebAssembly SIMD.
import { checkExplainRequest, checkGenerateRequest, checkMaxLength, checkText, checkTexts, createEngine, dispatch } from './engine.mjs';

const isNode = typeof process === 'object' && typeof process.versions === 'object' && !!process.versions.node;

// (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt))
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

// The pthreads build caps its pool at 5 threads (4 pre-started workers and
// the caller; see core/include/wordlight/thread_pool.h).
export const MAX_THREADS = 5;

export function simdSupported() {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

// Whether the pthreads build can run here: shared memory, which browsers
// give only to cross-origin isolated pages.
export function threadsSupported() {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  if (isNode) return true;
  return globalThis.crossOriginIsolated === true;
}

function requireSimd() {
  if (!simdSupported())
    throw new Error(
      'wordlight needs WebAssembly SIMD (128-bit), which this browser or runtime does not support ' +
        '(it is in Chrome/Edge 91+, Firefox 89+, Safari 16.4+ and node 16.4+)',
    );
}

async function hardwareThreads() {
  if (isNode) {
    const os = await import('node:os');
    return os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  }
  return (typeof navigator === 'object' && navigator.hardwareConcurrency) || 1;
}

const defaults = { distUrl: new URL('./dist/', import.meta.url).href };

// Where the built module lies (default: wasm/dist/ next to this file): a
// URL (relative to the page), or in node a directory path or file: URL.
export function configure({ distUrl } = {}) {
  if (!distUrl) return;
  defaults.distUrl = isNode ? String(distUrl) : new URL(distUrl, location.href).href;
}

// The hooks of a long call (op: its name in messages), checked: signal an
// AbortSignal, onProgress({ done, total }) a function (generate adds the
// token just generated: { done, total, token }); either may be absent.
function callHooks(op, signal, onProgress) {
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError(`wordlight: ${op}: onProgress must be a function`);
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal)))
    throw new TypeError(`wordlight: ${op}: signal must be an AbortSignal`);
  return { signal, onProgress: onProgress ? (done, total, token) => onProgress(token === undefined ? { done, total } : { done, total, token }) : undefined };
}

// The same error as a run the core cancelled; the signal's reason is its cause.
function abortError(signal) {
  const e = new Error('explanation cancelled', signal?.reason !== undefined ? { cause: signal.reason } : undefined);
  e.name = 'AbortError';
  e.code = 'cancelled';
  return e;
}

// ------------------------------------------------------------------ clients
// A client runs operations on one engine, one at a time, in order. Each
// model remembers the generation of the engine it was loaded into: a worker
// stopped to cancel a run (no shared memory to signal it otherwise) comes
// back as a new generation, and models reload into it when next used.

// What both clients share: one queue; task(send) runs when the tasks
// before it are done, with the client's own send(op, args, hooks).
class Client {
  constructor(build) {
    this.build = build;
    this.queue = Promise.resolve();
  }
  run(task) {
    const p = this.queue.then(() => task((op, args, hooks = {}) => this.send(op, args, hooks)));
    this.queue = p.catch(() => {});
    return p;
  }
}

class InThreadClient extends Client {
  constructor(build, distUrl) {
    super(build);
    this.generation = 1;
    this.engine = createEngine({ build, distUrl });
  }
  async send(op, args, hooks) {
    const engine = await this.engine;
    const signal = hooks.signal;
    if (signal?.aborted) throw abortError(signal);
    return dispatch(engine, op, args, {
      onProgress: hooks.onProgress,
      onLoadProgress: hooks.onLoadProgress,
      shouldCancel: signal ? () => signal.aborted : undefined,
    });
  }
  async terminate() {
    try {
      (await this.engine).shutdown();
    } catch {
      // an engine that never started has nothing to stop
    }
  }
}

class WorkerClient extends Client {
  constructor(build, distUrl) {
    super(build);
    this.distUrl = distUrl;
    this.generation = 0;
    this.worker = null;
    this.nextId = 1;
    this.pending = new Map();
  }
  spawn() {
    const w = new Worker(new URL('./worker.js', import.meta.url));
    w.onmessage = (ev) => this.onMessage(ev.data);
    w.onerror = (ev) => {
      ev.preventDefault?.();
      this.fail(new Error(`wordlight worker: ${ev.message || 'failed to start'}`));
    };
    w.postMessage({ type: 'init', build: this.build, distUrl: this.distUrl });
    this.worker = w;
  }
  onMessage(m) {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'progress') {
      p.hooks.onProgress?.(m.done, m.total, m.token);
      return;
    }
    if (m.type === 'load-progress') {
      p.hooks.onLoadProgress?.(m.progress);
      return;
    }
    this.pending.delete(m.id);
    p.cleanup();
    if (m.type === 'result') {
      p.resolve(m.value);
    } else {
      const e = new Error(m.message);
      if (m.name) e.name = m.name;
      if (m.code) e.code = m.code;
      p.reject(e);
    }
  }
  // Stops the worker: every pending call fails with err; the next call starts
  // a new worker.
  fail(err) {
    this.worker?.terminate();
    this.worker = null;
    // Models loaded into that worker are gone; they reload when next used.
    this.generation++;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      p.cleanup();
      p.reject(err);
    }
  }
  send(op, args, hooks) {
    const signal = hooks.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (!this.worker) this.spawn();
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      // With shared memory the worker reads this flag between batches;
      // without, cancelling stops the worker.
      const flag = signal && threadsSupported() ? new Int32Array(new SharedArrayBuffer(4)) : null;
      const onAbort = () => {
        if (flag) Atomics.store(flag, 0, 1);
        else this.fail(abortError(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve,
        reject,
        hooks,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      });
      this.worker.postMessage({ type: 'call', id, op, args, flag, progress: !!hooks.onProgress });
    });
  }
  async terminate() {
    this.fail(new Error('wordlight: shut down'));
  }
}

const clients = new Map();

async function resolveBuild({ threads, worker } = {}) {
  requireSimd();
  if (worker === undefined) worker = !isNode && typeof Worker === 'function';
  if (worker && isNode) throw new Error('wordlight: { worker: true } is for browsers; in node it runs in the calling thread');
  let n = threads === undefined ? Math.min(4, await hardwareThreads()) : Math.floor(Number(threads));
  if (!(n >= 1)) throw new RangeError(`wordlight: threads must be a whole number >= 1, got ${threads}`);
  n = Math.min(n, MAX_THREADS);
  const threaded = n > 1 && threadsSupported();
  return { build: threaded ? 'wordlight-simd-threads' : 'wordlight-simd', worker: !!worker, threads: threaded ? n : 1 };
}

function clientFor(build, worker) {
  const key = `${build}|${worker ? 'worker' : 'thread'}|${defaults.distUrl}`;
  let c = clients.get(key);
  if (!c) {
    c = worker ? new WorkerClient(build, defaults.distUrl) : new InThreadClient(build, defaults.distUrl);
    clients.set(key, c);
    // A module that failed to start (not built yet, not found) is tried
    // again by the next call rather than remembered.
    c.engine?.catch(() => clients.get(key) === c && clients.delete(key));
  }
  return c;
}

// ------------------------------------------------------------------ models

class Model {
  #client;
  #loadArgs;
  #id = 0;
  #generation = 0;
  #disposed = false;

  constructor(client, loadArgs, id, info) {
    this.#client = client;
    this.#loadArgs = loadArgs;
    this.#id = id;
    this.#generation = client.generation;
    // { name, architecture, model_type, head, num_labels, labels, max_length,
    //   vocab_size, embedding_dim, parameters, tokenizer, build, threads }
    this.info = info;
  }

  #call(op, args, hooks, maskedLm) {
    if (this.#disposed) return Promise.reject(new Error('wordlight: the model was disposed'));
    if (maskedLm?.#disposed) return Promise.reject(new Error('wordlight: the masked LM was disposed'));
    return this.#client.run(async (send) => {
      for (const m of maskedLm ? [this, maskedLm] : [this]) {
        if (m.#generation !== m.#client.generation) {
          // The worker was restarted (a cancelled run): load again.
          const r = await send('load', m.#loadArgs);
          m.#id = r.id;
          m.#generation = m.#client.generation;
        }
      }
      if (maskedLm) args = { ...args, request: { ...args.request, maskedLm: maskedLm.#id } };
      return send(op, { ...args, id: this.#id }, hooks);
    });
  }

  // The registry resolved for this model (what the page offers): each
  // method with `applicable` (and `why` when not), only the options that
  // apply to the model's architecture group, with its choices and defaults.
  methods() {
    return this.#call('methods', {});
  }

  // An operation on one text (predict, tokenize): the text and maxLength
  // checked here first (a rejected promise, before the module is asked).
  #textCall(op, text, maxLength) {
    try {
      checkText(text, op);
      checkMaxLength(maxLength, op);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#call(op, { text, maxLength });
  }

  // -> { label, label_name, logits, probabilities, num_tokens, truncated[, notice] }
  predict(text, { maxLength = -1 } = {}) {
    return this.#textCall('predict', text, maxLength);
  }

  // A transformer's attention weights (not an explanation of the prediction):
  // -> { layers, heads, tokens, texts, special, attention: [layer][head][query][key],
  // truncated[, notice] }; each real query's row sums to 1. Rejects models
  // without attention (CNN, BiLSTM).
  attention(text, { maxLength = -1 } = {}) {
    return this.#textCall('attention', text, maxLength);
  }

  // The tokenizer's view of a text: ids, tokens, offsets (string offsets;
  // byte_offsets in UTF-8 bytes), word_ids, special, words, truncated.
  tokenize(text, { maxLength = -1 } = {}) {
    return this.#textCall('tokenize', text, maxLength);
  }

  // options: { method, target, maxLength, signal, onProgress, maskedLm (a
  // second loaded model, the masked LM of input-marginalization), ...the
  // method's options (wordlight.methods() lists them; camelCase names are
  // accepted for kebab-case ones: batchSize = 'batch-size') }.
  explain(text, options = {}) {
    return this.#explainCall('explain', text, options);
  }

  // explain and explainBatch: the options split into the request (explainBatch
  // also takes documentVectors) and the hooks, all checked before the call.
  #explainCall(op, input, options) {
    const { method = 'gradient', target, maxLength = -1, signal, onProgress, maskedLm, ...rest } = options ?? {};
    const batch = op === 'explainBatch';
    const { documentVectors, ...methodOptions } = rest;
    const request = batch
      ? { method, target, maxLength, options: methodOptions, documentVectors: !!documentVectors }
      : { method, target, maxLength, options: rest };
    let hooks;
    try {
      this.#checkMaskedLm(op, maskedLm);
      (batch ? checkTexts : checkText)(input, op);
      checkExplainRequest(request);
      hooks = callHooks(op, signal, onProgress);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#call(op, batch ? { texts: input, request } : { text: input, request }, hooks, maskedLm);
  }

  // A masked LM given to a call must be a model of this instance.
  #checkMaskedLm(op, maskedLm) {
    if (maskedLm !== undefined && (!(maskedLm instanceof Model) || maskedLm.#client !== this.#client))
      throw new TypeError(`wordlight: ${op}: maskedLm must be a model loaded by the same wordlight instance`);
  }

  // Many texts in one call, for a data set: predictions run in padded
  // batches of batchSize (16), the texts sorted by length. options: {
  // maxLength, batchSize, signal, onProgress(done, total) in texts }.
  // -> one entry per text, in order: predict()'s object, or { error } (a
  // text without tokens).
  predictBatch(texts, options = {}) {
    const { maxLength = -1, batchSize = 16, signal, onProgress } = options ?? {};
    let hooks;
    try {
      checkTexts(texts, 'predictBatch');
      checkMaxLength(maxLength, 'predictBatch');
      hooks = callHooks('predictBatch', signal, onProgress);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#call('predictBatch', { texts, maxLength, batchSize }, hooks);
  }

  // Each text explained as explain(text, options) explains it, in one call
  // (no round trip per text); options as explain's, onProgress(done, total)
  // in texts; documentVectors: true adds each row's document_vector (sum
  // over its words of score x the word's embedding, as the evaluation's
  // docvectors). -> one entry per text: an explanation, or { error }.
  explainBatch(texts, options = {}) {
    return this.#explainCall('explainBatch', texts, options);
  }

  // Text from a causal language model (GPT2LMHeadModel) on the key/value
  // cache. options: { maxNewTokens (20), temperature, topK, topP, seed
  // (any of them samples; none: greedy), stop (strings), stopIds, bos
  // (true: the model's BOS token first), ignoreEos, explain: { method,
  // options, score ('log-prob' | 'logit' | 'prob-diff'), contrast (token id) },
  // signal, onProgress }. Resolves to { text, tokens: [{ id, token, text,
  // probability, logprob, entropy }], promptTokens, stoppedBy, explanation?:
  // { matrix (targets x sources, lower-triangular), sources, firstTokenShare,
  // ... } } (generation_to_json's names).
  generate(prompt, options = {}) {
    const { signal, onProgress, ...request } = options ?? {};
    let hooks;
    try {
      checkText(prompt, 'generate');
      checkGenerateRequest(request);
      hooks = callHooks('generate', signal, onProgress);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#call('generate', { prompt, request }, hooks);
  }

  // The smallest edits that flip the prediction. options: { generator
  // ('hotflip' | 'ablation-flip' | 'mlm-edits'), locked (word indices, as in
  // the result's words), maxLength, signal, onProgress, maskedLm (mlm-edits:
  // a loaded masked LM), ...the generator's options (generators() lists
  // them; camelCase accepted) }.
  counterfactuals(text, options = {}) {
    const { generator = 'hotflip', locked = [], maxLength = -1, signal, onProgress, maskedLm, ...genOptions } = options ?? {};
    let hooks;
    try {
      this.#checkMaskedLm('counterfactuals', maskedLm);
      checkText(text, 'counterfactuals');
      hooks = callHooks('counterfactuals', signal, onProgress);
    } catch (e) {
      return Promise.reject(e);
    }
    const request = { generator, locked, maxLength, options: genOptions };
    return this.#call('counterfactuals', { text, request }, hooks, maskedLm);
  }

  // The model on token ids, for tests and tools: ids (B*T) and mask (B*T,
  // 1 = token) as arrays, targets (B) to also get the gradient of
  // sum_b logits[b, targets[b]] with respect to the word embeddings.
  // -> { logits: Float32Array, shape, inputGradient: Float32Array | null }
  forward({ ids, mask, batch, length, targets }) {
    return this.#call('forward', {
      ids: Int32Array.from(ids),
      mask: Uint8Array.from(mask),
      B: batch,
      T: length,
      targets: targets ? Int32Array.from(targets) : undefined,
    });
  }

  // Frees the model's memory in the module. Further calls reject.
  async dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#client.run(async (send) => {
      if (this.#generation === this.#client.generation) await send('dispose', { id: this.#id });
    });
  }
}

// source: a URL of a model directory, a Map or object of file names to
// ArrayBuffer / typed array / Blob / File (or an array or FileList of
// Files), or in node a directory path.
// options: { threads, worker, name, onProgress({ stage, file, done, total }) }.
export async function load(source, options = {}) {
  const { threads, worker, name, onProgress } = options;
  const b = await resolveBuild({ threads, worker });
  if (b.worker && (typeof source === 'string' || source instanceof URL))
    source = new URL(String(source), location.href).href; // the worker's base URL differs
  const client = clientFor(b.build, b.worker);
  const loadArgs = { source, name, threads: b.threads };
  const r = await client.run((send) => send('load', loadArgs, { onLoadProgress: onProgress }));
  return new Model(client, loadArgs, r.id, r.info);
}

// The registry: [{ name, description, word_level, check, options: [{ name,
// type, default, min, max, choices, description }] }].
export async function methods(options = {}) {
  const b = await resolveBuild(options);
  return clientFor(b.build, b.worker).run((send) => send('methods', {}));
}

// The counterfactual generators with their options (model.counterfactuals).
export async function generators(options = {}) {
  const b = await resolveBuild(options);
  return clientFor(b.build, b.worker).run((send) => send('generators', {}));
}

// The module's memory: { heapSize (bytes of wasm memory; it never shrinks),
// heapMax (its cap), heapInUse (bytes allocated), models (loaded) }, for
// the build that load() with the same options would use.
export async function memory(options = {}) {
  const b = await resolveBuild(options);
  return clientFor(b.build, b.worker).run((send) => send('memory', {}));
}

// The engine that load() with the same options would use: { build,
// threads, gemmKernel: 'wasm-relaxed-simd' (the fused multiply-add kernel,
// picked where the JS engine validates relaxed SIMD: Chrome/Edge 114+) or
// 'wasm-simd128' (elsewhere), relaxedSimd: 'active' or why not }.
export async function engineInfo(options = {}) {
  const b = await resolveBuild(options);
  return clientFor(b.build, b.worker).run((send) => send('engineInfo', {}));
}

// Stops every worker and thread (node: lets the process exit). Models
// loaded before cannot be used afterwards.
export async function shutdown() {
  const cs = [...clients.values()];
  clients.clear();
  await Promise.all(cs.map((c) => c.terminate()));
}

export default { load, methods, generators, memory, engineInfo, shutdown, configure, simdSupported, threadsSupported, MAX_THREADS };
