// The list of shipped models the page offers, read at build time (and by the
// dev server on each request) from models/*/config.json and the front
// matter of each model's README.md (the model card).
import fs from 'node:fs';
import path from 'node:path';

// The page opens on the most accurate model of DEFAULT_TASK, compared on
// a test set every such model's card reports (defaultModel below); these
// order the rest, and pick the default when no common set is reported.
export const DEFAULT_TASK = 'sst2';
export const DEFAULT_ORDER = ['sst2-bilstm', 'sst2-bert', '20news-cnn', 'agnews-distilbert'];

// Example texts by the task a model's card names (its eval spec), each
// with the label a reader would give it (tests/js/web_examples.test.mjs
// checks that the default model agrees); the first is the one the page
// opens with. The second SST example was "The plot is thin and the jokes
// fall flat, but the lead actress is wonderful.", which has no honest
// single label (sst2-bilstm: positive, sst2-bert: negative): in this order
// the "but" clause makes it plainly negative.
const EXAMPLES = {
  sst2: [
    { text: 'A gripping, funny and beautifully acted film, though the ending drags a little.', label: 'positive' },
    { text: 'The lead actress is wonderful, but the plot is thin and the jokes fall flat.', label: 'negative' },
    { text: 'Not bad at all: I expected a dull sequel and got a clever, moving story.', label: 'positive' },
    { text: 'Two hours of my life I will never get back.', label: 'negative' },
  ],
  newsgroups: [
    { text: 'The shuttle launch was delayed by a problem with the engines.', label: 'sci.space' },
    { text: 'My new graphics card crashes whenever I open a large image in the viewer.', label: 'comp.graphics' },
    { text: 'The goalie made forty saves and the team finally won in overtime.', label: 'rec.sport.hockey' },
    { text: 'Does anyone know a good mechanic for an old motorcycle with a leaking carburetor?', label: 'rec.motorcycles' },
  ],
  // AG News (models/agnews-distilbert): one per class, in the data's order.
  agnews: [
    { text: 'Rebels attacked a government convoy near the capital as peace talks stalled in Geneva.', label: 'World' },
    { text: 'The striker scored twice as the home team won the championship final.', label: 'Sports' },
    { text: 'Shares of the oil company fell sharply after it reported lower quarterly profits.', label: 'Business' },
    { text: 'The software maker released a security update for its web browser.', label: 'Sci/Tech' },
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

// Prompts the page offers for a causal language model (its Generate tab).
const PROMPTS = ['This movie was', 'I loved this film because', 'The worst part of the story is'];

// 'classifier', 'causal-lm' (GPT2LMHeadModel: the page's Generate tab), or
// null for what the page does not offer (a masked LM, a pre-training head).
export function modelKind(config) {
  const arch = [].concat(config.architectures || []).join(' ');
  if (/CausalLM|LMHeadModel/.test(arch)) return 'causal-lm';
  return /MaskedLM|ForPreTraining/.test(arch) ? null : 'classifier';
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
  const kind = modelKind(config);
  if (!kind) return null;
  let card = { fields: {}, body: '' };
  const readme = path.join(dir, 'README.md');
  if (fs.existsSync(readme)) card = parseFrontMatter(fs.readFileSync(readme, 'utf8'));
  const evals = [].concat(card.fields.eval || []).map(parseEval).filter(Boolean);
  // The largest test set the card reports (two models' numbers on the page
  // then come from the same sentences where their cards allow it).
  const test = evals.filter((e) => /test/.test(e.data)).sort((a, b) => b.n - a.n)[0] || evals[0] || null;
  const labels = config.id2label
    ? Object.keys(config.id2label).sort((a, b) => a - b).map((k) => config.id2label[k])
    : [];
  // A language model's card measures it on SST text too: its task is
  // 'generate', so that it never competes for the default classifier.
  const task = kind === 'causal-lm' ? 'generate' : test?.task || '';
  const exampleKey = task === 'sst2' || task === 'sst' ? 'sst2' : task.startsWith('newsgroups') || task.startsWith('20news') ? 'newsgroups' : task;
  const examples =
    kind === 'causal-lm'
      ? PROMPTS.map((text) => ({ text }))
      : (Object.hasOwn(EXAMPLES, exampleKey) && EXAMPLES[exampleKey]) ||
        (labels.length === 20 ? EXAMPLES.newsgroups : EXAMPLES.sst2);
  const files = fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile());
  const bytes = files.reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
  return {
    name,
    kind,
    architecture: card.fields.architecture || config.model_type || [].concat(config.architectures || [])[0] || '',
    description: firstParagraph(card.body),
    labels: kind === 'causal-lm' ? [] : labels,
    // A language model's "accuracy" is next-token accuracy: not shown as a classifier's.
    accuracy: test && kind === 'classifier' ? { value: test.accuracy, n: test.n, data: test.data } : null,
    evals,
    task: task === 'sst' ? 'sst2' : task,
    examples,
    example: examples[0].text,
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
  const best = defaultModel(models);
  const rank = (n) => (n === best ? -1 : DEFAULT_ORDER.includes(n) ? DEFAULT_ORDER.indexOf(n) : DEFAULT_ORDER.length);
  models.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
  return { default: models[0]?.name || null, models };
}

// The most accurate model of DEFAULT_TASK on the largest test set that the
// cards of all of them report (accuracies on different sets do not
// compare), or null. On the shipped cards: SST's 1,821 test sentences,
// sst2-bilstm 0.8605 against sst2-bert 0.8144.
export function defaultModel(models, task = DEFAULT_TASK) {
  const cands = models.filter((m) => m.task === task && m.evals?.length);
  if (!cands.length) return null;
  const common = cands[0].evals.map((e) => e.data).filter((d) => /test/.test(d) && cands.every((m) => m.evals.some((e) => e.data === d)));
  if (!common.length) return null;
  const size = (d) => cands[0].evals.find((e) => e.data === d).n;
  const data = common.sort((a, b) => size(b) - size(a))[0];
  const acc = (m) => m.evals.find((e) => e.data === data).accuracy;
  return cands.sort((a, b) => acc(b) - acc(a) || a.name.localeCompare(b.name))[0].name;
}
