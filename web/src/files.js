// A user's own model from their disk: the files of a picked or dropped
// folder (only its top level; a checkpoint's sub-folders are not the model),
// checked for the files a model needs before the wasm module reads them.
import { responseBytes } from '../../wasm/bytes.mjs';

const TOKENIZER_SETS = [['tokenizer.json'], ['vocab.txt'], ['vocab.json', 'merges.txt']];

// -> null when the set of names can make a model, else what is missing, in words.
export function missingModelFiles(names) {
  const have = new Set(names);
  const missing = ['config.json', 'model.safetensors'].filter((n) => !have.has(n));
  const tokenizer = TOKENIZER_SETS.some((set) => set.every((n) => have.has(n)));
  if (!missing.length && tokenizer) return null;
  const parts = [];
  if (missing.length) parts.push(`${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing`);
  if (!tokenizer) parts.push('no tokenizer file was found (tokenizer.json, vocab.txt, or vocab.json with merges.txt)');
  let msg = parts.join('; ') + '.';
  if (!have.has('model.safetensors') && (have.has('pytorch_model.bin') || have.has('tf_model.h5')))
    msg += ' This checkpoint has only PyTorch/TensorFlow weights: save it with safetensors (model.save_pretrained(dir, safe_serialization=True)).';
  msg += ' A model folder holds config.json, model.safetensors and its tokenizer files, as Hugging Face saves them.';
  return msg;
}

// A FileList from <input type=file> (folder or files) -> { files: Map, name }.
export function filesFromInput(list) {
  const files = new Map();
  let name = '';
  for (const f of list) {
    const rel = f.webkitRelativePath || f.name;
    const parts = rel.split('/');
    if (parts.length > 2) continue; // inside a sub-folder
    if (parts.length === 2 && !name) name = parts[0];
    files.set(f.name, f);
  }
  return { files, name: name || 'your model' };
}

function readAll(reader) {
  return new Promise((resolve, reject) => {
    const out = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (!batch.length) return resolve(out);
        out.push(...batch);
        next();
      }, reject);
    next();
  });
}

const fileOf = (entry) => new Promise((resolve, reject) => entry.file(resolve, reject));

// A drop's DataTransfer -> { files: Map, name }: one folder, or loose files.
export async function filesFromDrop(dt) {
  const entries = [...(dt.items || [])].map((it) => it.webkitGetAsEntry?.()).filter(Boolean);
  const files = new Map();
  if (!entries.length) {
    for (const f of dt.files || []) files.set(f.name, f);
    return { files, name: 'your model' };
  }
  const dirs = entries.filter((e) => e.isDirectory);
  if (dirs.length > 1) throw new Error('Drop one model folder at a time.');
  if (dirs.length === 1) {
    for (const e of await readAll(dirs[0].createReader())) if (e.isFile) files.set(e.name, await fileOf(e));
    return { files, name: dirs[0].name };
  }
  for (const e of entries) if (e.isFile) files.set(e.name, await fileOf(e));
  return { files, name: 'your model' };
}

// The files of a shipped model (the manifest lists them), fetched from this
// page's own origin with byte progress: onProgress(done, total). Fetching
// them here rather than giving load() the folder's URL lets the download
// run while the wasm module compiles, and asks only for files that exist.
export async function fetchModelFiles(baseUrl, names, { onProgress, signal } = {}) {
  const wanted = names.filter((n) => n !== 'README.md');
  const done = new Map();
  const totals = new Map();
  const report = () => {
    let d = 0, t = 0;
    for (const v of done.values()) d += v;
    for (const v of totals.values()) t += v;
    onProgress?.(d, t);
  };
  const entries = await Promise.all(
    wanted.map(async (name) => {
      const url = new URL(encodeURIComponent(name), baseUrl);
      const res = await fetch(url, { signal });
      if (!res.ok) throw new Error(`${url.pathname}: HTTP ${res.status}`);
      const bytes = await responseBytes(res, (d, t) => {
        done.set(name, d);
        totals.set(name, t);
        report();
      });
      return [name, bytes];
    }),
  );
  return new Map(entries);
}
