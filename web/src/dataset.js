// The data-set view's logic (issue 19), apart from the DOM so that it is
// unit-tested: reading a dropped CSV / TSV / JSONL file, label ids,
// accuracy and the confusion matrix, filters and slices, the per-class top
// words (as the CLI's evaluation report: core/src/evaluate/families/
// topwords.cpp), and the table as CSV. Nothing here sends anything
// anywhere: the rows stay in the page.

export const MAX_ROWS = 20000;
export const MAX_TEXT = 100000;  // characters of one text

// ------------------------------------------------------------ reading
// RFC 4180 fields: quotes around a field, "" inside for a quote; `sep` ',' or '\t'.
export function splitDelimited(content, sep) {
  const rows = [];
  let row = [], field = '', quoted = false, i = 0, atStart = true;
  const n = content.length;
  while (i < n) {
    const c = content[i];
    if (quoted) {
      if (c === '"') {
        if (content[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      field += c; i++; continue;
    }
    if (c === '"' && atStart) { quoted = true; atStart = false; i++; continue; }
    if (c === sep) { row.push(field); field = ''; atStart = true; i++; continue; }
    if (c === '\n' || c === '\r') {
      row.push(field); field = ''; atStart = true;
      if (!(row.length === 1 && row[0] === '')) rows.push(row);
      row = [];
      i += c === '\r' && content[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    field += c; atStart = false; i++;
  }
  if (quoted) throw new Error('the file ends inside a quoted field');
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

function parseRationale(v, where) {
  if (v === undefined || v === null || v === '') return null;
  const spans = typeof v === 'string' ? JSON.parse(v) : v;
  if (!Array.isArray(spans) || !spans.every((s) => Array.isArray(s) && s.length === 2 && s.every(Number.isInteger)))
    throw new Error(`${where}: rationale must be a list of [begin, end] character spans`);
  return spans;
}

// -> { rows: [{ text, label (string|null), rationale ([[b, e]]|null) }], hasLabels, columns }
// Text columns: "text" or "sentence" (else the first); label: "label";
// rationale: "rationale" (JSON [[begin, end], ...]). JSONL: objects with the
// same keys, or plain strings. Errors name the file and the line.
export function parseDataset(name, content) {
  const lower = String(name).toLowerCase();
  const rows = [];
  const push = (text, label, rationale, where) => {
    if (typeof text !== 'string') throw new Error(`${where}: the text is not a string`);
    if (text.length > MAX_TEXT) throw new Error(`${where}: the text is longer than ${MAX_TEXT} characters`);
    if (rows.length >= MAX_ROWS) throw new Error(`${name}: more than ${MAX_ROWS} rows; split the file`);
    rows.push({ text, label: label === undefined || label === null || label === '' ? null : String(label), rationale });
  };
  const jsonl = lower.endsWith('.jsonl') || lower.endsWith('.ndjson') || /^\s*[{"]/.test(content);
  if (jsonl) {
    content.split(/\r?\n/).forEach((line, i) => {
      if (!line.trim()) return;
      const where = `${name}: line ${i + 1}`;
      let v;
      try {
        v = JSON.parse(line);
      } catch (e) {
        throw new Error(`${where} is not valid JSON`);
      }
      if (typeof v === 'string') return push(v, null, null, where);
      if (!v || typeof v !== 'object') throw new Error(`${where}: expected an object with "text" or a string`);
      push(v.text ?? v.sentence, v.label, parseRationale(v.rationale, where), where);
    });
    return { rows, hasLabels: rows.some((r) => r.label !== null), columns: ['text', 'label'] };
  }
  const sep = lower.endsWith('.tsv') || (!lower.endsWith('.csv') && content.split('\n', 1)[0].includes('\t')) ? '\t' : ',';
  const table = splitDelimited(content, sep);
  if (!table.length) throw new Error(`${name}: the file is empty`);
  const head = table[0].map((h) => h.trim().toLowerCase());
  let ti = head.indexOf('text');
  if (ti < 0) ti = head.indexOf('sentence');
  const li = head.indexOf('label'), ri = head.indexOf('rationale');
  const hasHeader = ti >= 0 || li >= 0;
  if (ti < 0) ti = 0;
  table.slice(hasHeader ? 1 : 0).forEach((r, i) => {
    const where = `${name}: line ${i + (hasHeader ? 2 : 1)}`;
    push(r[ti] ?? '', li >= 0 ? r[li] : null, ri >= 0 ? parseRationale(r[ri], where) : null, where);
  });
  return { rows, hasLabels: li >= 0 && rows.some((r) => r.label !== null), columns: table[0] };
}

// A label (a class name, or a class id as text) -> its index; -1 when neither.
export function labelIndex(label, labels) {
  if (label === null || label === undefined) return -1;
  const i = labels.indexOf(label);
  if (i >= 0) return i;
  return /^\d+$/.test(label) && Number(label) < labels.length ? Number(label) : -1;
}

// ------------------------------------------------------------ metrics
// rows: [{ label, pred: { label } }] -> { n, correct, accuracy, confusion (C x C: [gold][predicted]), unknown }
export function metrics(rows, labels) {
  const C = labels.length;
  const confusion = Array.from({ length: C }, () => new Array(C).fill(0));
  let n = 0, correct = 0, unknown = 0;
  for (const r of rows) {
    if (!r.pred || r.label === null) continue;
    const g = labelIndex(r.label, labels);
    if (g < 0) { unknown++; continue; }
    n++;
    confusion[g][r.pred.label]++;
    if (g === r.pred.label) correct++;
  }
  return { n, correct, accuracy: n ? correct / n : null, confusion, unknown };
}

// ------------------------------------------------------------ filters
// filter: { label, predicted, second (second model's prediction), disagree,
// word, minConfidence, maxConfidence, minLength, maxLength } (all optional;
// label/predicted: class indices, -1 or undefined for any).
export function matches(r, f, labels) {
  if (f.label !== undefined && f.label >= 0 && labelIndex(r.label, labels) !== f.label) return false;
  if (f.predicted !== undefined && f.predicted >= 0 && (!r.pred || r.pred.label !== f.predicted)) return false;
  if (f.second !== undefined && f.second >= 0 && (!r.pred2 || r.pred2.label !== f.second)) return false;
  // By label name: the two models may order their classes differently.
  if (f.disagree && !(r.pred && r.pred2 && r.pred.label_name !== r.pred2.label_name)) return false;
  if (f.wrong && !(r.pred && labelIndex(r.label, labels) >= 0 && labelIndex(r.label, labels) !== r.pred.label)) return false;
  const conf = r.pred ? r.pred.probabilities[r.pred.label] : null;
  if (f.minConfidence !== undefined && (conf === null || conf < f.minConfidence)) return false;
  if (f.maxConfidence !== undefined && (conf === null || conf > f.maxConfidence)) return false;
  const len = words(r.text).length;
  if (f.minLength !== undefined && len < f.minLength) return false;
  if (f.maxLength !== undefined && len > f.maxLength) return false;
  if (f.word) {
    const w = f.word.toLowerCase();
    if (!words(r.text).some((x) => x.toLowerCase() === w)) return false;
  }
  return true;
}

export function words(text) {
  return text.split(/\s+/).filter(Boolean);
}

export function filterRows(rows, f, labels) {
  return rows.filter((r) => matches(r, f, labels));
}

// key: 'index' | 'confidence' | 'length' | 'label' | 'predicted'
export function sortRows(rows, key, descending = false) {
  const val = (r) =>
    key === 'confidence' ? (r.pred ? r.pred.probabilities[r.pred.label] : -1)
      : key === 'length' ? words(r.text).length
        : key === 'predicted' ? (r.pred ? r.pred.label : -1)
          : key === 'label' ? (r.label ?? '')
            : r.index;
  const out = [...rows].sort((a, b) => {
    const x = val(a), y = val(b);
    return x < y ? -1 : x > y ? 1 : a.index - b.index;
  });
  return descending ? out.reverse() : out;
}

// Slices: named filters with their metrics.
export function sliceMetrics(rows, slices, labels) {
  return slices.map((s) => {
    const sub = filterRows(rows, s.filter, labels);
    return { name: s.name, rows: sub.length, ...metrics(sub, labels) };
  });
}

// ------------------------------------------------------------ global explanations
function asciiLower(s) {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

// As the CLI's evaluation top words (topwords.cpp): per class c, over the
// rows whose label is c and whose prediction is c (rows without a label:
// those predicted c, when no row has a label), the words' scores summed by
// their lower-cased text; the k of largest sum (ties by the word), each
// [word, sum, count]. rows: [{ label, pred, explanation: { words: [{ text, score }] } }]
export function topWords(rows, labels, k = 10) {
  const anyLabel = rows.some((r) => labelIndex(r.label, labels) >= 0);
  const out = {};
  labels.forEach((name, c) => {
    const sum = new Map();
    for (const r of rows) {
      if (!r.explanation || !r.pred) continue;
      const g = anyLabel ? labelIndex(r.label, labels) : r.pred.label;
      if (g !== c || r.pred.label !== c) continue;
      for (const w of r.explanation.words) {
        const key = asciiLower(w.text);
        const e = sum.get(key) || [0, 0];
        e[0] += w.score;
        e[1] += 1;
        sum.set(key, e);
      }
    }
    out[name] = [...sum.entries()]
      .sort((a, b) => (a[1][0] !== b[1][0] ? b[1][0] - a[1][0] : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, k)
      .map(([w, [s, n]]) => [w, s, n]);
  });
  return out;
}

// Spearman's rank correlation of two score lists (average ranks for ties); null for fewer than 2.
export function spearman(a, b) {
  const n = a.length;
  if (n < 2 || b.length !== n) return null;
  const ranks = (v) => {
    const idx = v.map((x, i) => [x, i]).sort((p, q) => p[0] - q[0]);
    const r = new Array(n);
    for (let i = 0; i < n; ) {
      let j = i;
      while (j + 1 < n && idx[j + 1][0] === idx[i][0]) j++;
      for (let k = i; k <= j; k++) r[idx[k][1]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = ranks(a), rb = ranks(b);
  const mean = (n - 1) / 2;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i] - mean) * (rb[i] - mean);
    da += (ra[i] - mean) ** 2;
    db += (rb[i] - mean) ** 2;
  }
  return da && db ? num / Math.sqrt(da * db) : null;
}

// ------------------------------------------------------------ export
// One CSV field: quoted, quotes doubled; a field a spreadsheet would read as
// a formula (= + - @ at the start) gets a leading apostrophe.
export function csvField(v) {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return '"' + s.replace(/"/g, '""') + '"';
}

// The table with predictions (and a second model's, and each row's top words when explained).
export function tableCsv(rows, labels, { second = false, topK = 3 } = {}) {
  const head = ['index', 'text', 'label', 'predicted', 'confidence'];
  if (second) head.push('predicted_2', 'confidence_2');
  head.push('top_words');
  const lines = [head.map(csvField).join(',')];
  for (const r of rows) {
    const p = r.pred, p2 = r.pred2;
    const f = [r.index, r.text, r.label ?? '', p ? labels[p.label] ?? p.label : '', p ? p.probabilities[p.label].toFixed(4) : ''];
    if (second) f.push(p2 ? p2.label_name : '', p2 ? p2.probabilities[p2.label].toFixed(4) : '');
    const tw = r.explanation
      ? [...r.explanation.words].sort((a, b) => b.score - a.score).slice(0, topK).map((w) => w.text).join(' ')
      : '';
    f.push(tw);
    lines.push(f.map(csvField).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

// ------------------------------------------------------------ document vectors
// As the CLI's evaluation report (core/src/evaluate/metrics.cpp pca_2d and
// families/docvectors.cpp): each document vector scaled to unit length,
// then the 2-D PCA (power iteration on the covariance from a deterministic
// start, each component's largest entry made positive) -> [[x, y], ...].
export function unitRows(rows) {
  return rows.map((r) => {
    const n = Math.sqrt(r.reduce((s, x) => s + x * x, 0));
    return n > 0 ? r.map((x) => x / n) : r.slice();
  });
}

export function pca2d(rows) {
  const n = rows.length;
  if (!n) return [];
  const d = rows[0].length;
  const mean = new Float64Array(d);
  for (const r of rows) {
    if (r.length !== d) throw new Error('pca2d: rows of different widths');
    for (let j = 0; j < d; ++j) mean[j] += r[j];
  }
  for (let j = 0; j < d; ++j) mean[j] /= n;
  const C = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (const r of rows) {
    for (let j = 0; j < d; ++j) c[j] = r[j] - mean[j];
    for (let i = 0; i < d; ++i) {
      const ci = c[i];
      if (ci === 0) continue;
      for (let j = i; j < d; ++j) C[i * d + j] += ci * c[j];
    }
  }
  for (let i = 0; i < d; ++i) for (let j = 0; j < i; ++j) C[i * d + j] = C[j * d + i];
  const comps = [];
  for (let k = 0; k < 2 && k < d; ++k) {
    let v = Float64Array.from({ length: d }, (_, j) => 1 + 0.01 * (j % 7));
    let lambda = 0;
    for (let it = 0; it < 1000; ++it) {
      const w = new Float64Array(d);
      for (let i = 0; i < d; ++i) {
        let s = 0;
        for (let j = 0; j < d; ++j) s += C[i * d + j] * v[j];
        w[i] = s;
      }
      const norm = Math.sqrt(w.reduce((s, x) => s + x * x, 0));
      if (norm === 0) break;
      let change = 0;
      for (let j = 0; j < d; ++j) {
        w[j] /= norm;
        change += Math.abs(w[j] - v[j]);
      }
      v = w;
      lambda = norm;
      if (change < 1e-12) break;
    }
    let big = 0;
    for (let j = 0; j < d; ++j) if (Math.abs(v[j]) > Math.abs(v[big])) big = j;
    if (v[big] < 0) for (let j = 0; j < d; ++j) v[j] = -v[j];
    for (let i = 0; i < d; ++i) for (let j = 0; j < d; ++j) C[i * d + j] -= lambda * v[i] * v[j];
    comps.push(v);
  }
  return rows.map((r) => comps.map((v) => {
    let s = 0;
    for (let j = 0; j < d; ++j) s += (r[j] - mean[j]) * v[j];
    return s;
  }));
}
