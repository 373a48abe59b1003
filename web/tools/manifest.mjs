// The list of shipped models the page offers, read at build time (and by the
// dev server on each request) from models/*/config.json and the front
// matter of each model's README.md (the model card).
import fs from 'node:fs';
import path from 'node:path';

// The model the page opens on: the first of these that exists.
export const DEFAULT_ORDER = ['sst2-bert', 'sst2-bilstm', '20news-cnn'];

// Example texts by the task a model's card names (its eval spec); the
// first is the one the page opens with.
const EXAMPLES = {
  sst2: [
    'A gripping, funny and beautifully acted film, though the ending drags a little.',
    'The plot is thin and the jokes fall flat, but the lead actress is wonderful.',
    'Not bad at all: I expected a dull sequel and got a clever, moving story.',
    'Two hours of my life I will never get back.',
  ],
  newsgroups: [
    'The shuttle launch was delayed by a problem with the engines.',
    'My new graphics card crashes whenever I open a large image in the viewer.',
    'The goalie made forty saves and the team finally won in overtime.',
    'Does anyone know a good mechanic for an old motorcycle with a leaking carburetor?',
  ],
};

// --- front matter: `key: value` lines between two `---` lines.
export function parseFrontMatter(markdown) {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(markdown);
  const fields = {};
  if (!m) return { fields, body: markdown };
  for (const line of m[1].split(/\r?\n/)) {
    const kv = /^([A-Za-z0-9_-]+):\s*(.*)$/.exec(line);
    if (!kv) continue;
    const [, k, v] = kv;
    if (k in fields) fields[k] = [].concat(fields[k], v);
    else fields[k] = v;
  }
  return { fields, body: markdown.slice(m[0].length) };
}

// The first paragraph after the title, as plain text (markdown marks dropped).
export function firstParagraph(body) {
  const paras = body.split(/\r?\n\s*\r?\n/).map((p) => p.trim()).filter(Boolean);
  const p = paras.find((x) => !x.startsWith('#') && !x.startsWith('|') && !x.startsWith('-')) || '';
  return p
    .replace(/\s+/g, ' ')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*`_]/g, '');
}

// eval lines: "sst2:{DATA}/sst/stsa.binary.test accuracy=0.860516 n=1821"
export function parseEval(line) {
  const m = /^(\S+)\s+accuracy=([\d.]+)\s+n=(\d+)/.exec(String(line).trim());
  if (!m) return null;
  const spec = m[1];
  return { data: spec.replace(/\{[A-Z0-9_]+\}\//, ''), task: spec.split(':')[0], accuracy: Number(m[2]), n: Number(m[3]) };
}

function isClassifier(config) {
  const arch = [].concat(config.architectures || []).join(' ');
  return !/MaskedLM|ForPreTraining|CausalLM/.test(arch);
}

export function modelEntry(dir, name) {
  const cfgPath = path.join(dir, 'config.json');
  if (!fs.existsSync(cfgPath) || !fs.existsSync(path.join(dir, 'model.safetensors'))) return null;
  let config;
  try {
    config = JSON.parse(fs.readFileSync(cfgPath, 'utf8'));
  } catch {
    return null;
  }
  if (!isClassifier(config)) return null;
  let card = { fields: {}, body: '' };
  const readme = path.join(dir, 'README.md');
  if (fs.existsSync(readme)) card = parseFrontMatter(fs.readFileSync(readme, 'utf8'));
  const evals = [].concat(card.fields.eval || []).map(parseEval).filter(Boolean);
  const test = evals.find((e) => /test/.test(e.data)) || evals[0] || null;
  const labels = config.id2label
    ? Object.keys(config.id2label).sort((a, b) => a - b).map((k) => config.id2label[k])
    : [];
  const task = test?.task || '';
  const examples =
    EXAMPLES[task === 'sst2' || task === 'sst' ? 'sst2' : task.startsWith('newsgroups') || task.startsWith('20news') ? 'newsgroups' : ''] ||
    (labels.length === 20 ? EXAMPLES.newsgroups : EXAMPLES.sst2);
  const files = fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile());
  const bytes = files.reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
  return {
    name,
    architecture: card.fields.architecture || config.model_type || [].concat(config.architectures || [])[0] || '',
    description: firstParagraph(card.body),
    labels,
    accuracy: test ? { value: test.accuracy, n: test.n, data: test.data } : null,
    examples,
    example: examples[0],
    files,
    bytes,
  };
}

// -> { default, models: [...] } for the models/ folder.
export function buildManifest(modelsDir) {
  const models = [];
  if (fs.existsSync(modelsDir)) {
    for (const name of fs.readdirSync(modelsDir).sort()) {
      const dir = path.join(modelsDir, name);
      if (!fs.statSync(dir).isDirectory()) continue;
      const e = modelEntry(dir, name);
      if (e) models.push(e);
    }
  }
  const rank = (n) => (DEFAULT_ORDER.includes(n) ? DEFAULT_ORDER.indexOf(n) : DEFAULT_ORDER.length);
  models.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
  return { default: models[0]?.name || null, models };
}
