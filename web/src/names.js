// What the page knows about a method comes from the registry
// (wordlight.methods(), and model.methods() for the loaded model): its
// display name (`title`), whether its numbers are signed evidence or
// unsigned magnitudes (`scores`), what it explains (`explains`: the class's
// output, a neuron or the layers), which architectures and option values
// apply (`applies_to`, options' `applies_to` and `by_architecture`).
//
// FALLBACK: the tables below stand in for those fields only while the
// module in wasm/dist predates them (each field is used as soon as it is
// there); delete them once every build carries the fields.

let registry = new Map();

// The registry as wordlight.methods() gives it (or a model's resolved list).
export function setRegistry(list) {
  registry = new Map((list || []).map((m) => [m.name, m]));
}

const FALLBACK_TITLES = {
  gradient: 'Gradient',
  saliency: 'Saliency',
  'gradient-x-input': 'Gradient \u00d7 input',
  'integrated-gradients': 'Integrated Gradients',
  'integrated-hessians': 'Integrated Hessians',
  smoothgrad: 'SmoothGrad',
  'smoothgrad-squared': 'SmoothGrad\u00b2',
  occlusion: 'Occlusion',
  lrp: 'LRP',
  'layer-relevance': 'Layer relevance',
  'neuron-relevance': 'Neuron relevance',
};
const FALLBACK_UNSIGNED = new Set(['saliency', 'smoothgrad-squared']);
const FALLBACK_UNSIGNED_WHEN = { gradient: { reduce: 'l2' }, smoothgrad: { reduce: 'l2' } };
const FALLBACK_EXPLAINS = { 'layer-relevance': 'layers', 'neuron-relevance': 'neuron' };
// Option facts per architecture group (what lrp.cpp's descriptions say).
const FALLBACK_OPTION_ARCH = {
  lrp: { alpha: ['cnn'], 'bias-factor': ['bilstm'], variant: ['transformer'] },
};
const FALLBACK_OPTION_BY_ARCH = {
  lrp: { rule: { bilstm: { choices: ['epsilon'] }, transformer: { choices: ['epsilon'] } } },
  // From zero the trained transformers' path turns sharply near its start
  // (16 points leave a gap of several hundred percent); from [UNK] it is smooth.
  'integrated-hessians': { baseline: { transformer: { default: 'unk' } } },
};

const entry = (m) => (typeof m === 'string' ? registry.get(m) || { name: m } : m || {});

export function methodName(m) {
  const e = entry(m);
  return e.title || FALLBACK_TITLES[e.name] || e.name || '';
}

// The name without a parenthesised remark.
export function shortMethodName(m) {
  return methodName(m).replace(/ \(.*\)$/, '');
}

// 'signed' (evidence for / against) or 'unsigned' (a magnitude: importance).
export function methodScores(m) {
  const e = entry(m);
  if (e.scores === 'signed' || e.scores === 'unsigned') return e.scores;
  return FALLBACK_UNSIGNED.has(e.name) ? 'unsigned' : 'signed';
}

// What a result's numbers are: the result's own `scores`, else the method's,
// with the registry's `unsigned_when` (gradient and SmoothGrad with
// reduce=l2 give a norm).
export function resultScores(r) {
  if (r?.scores === 'signed' || r?.scores === 'unsigned') return r.scores;
  const e = entry(r?.method);
  const when = e.unsigned_when || (e.applies_to ? null : FALLBACK_UNSIGNED_WHEN[e.name]);
  if (when && Object.entries(when).every(([k, v]) => String(r.options?.[k]) === String(v))) return 'unsigned';
  return methodScores(r?.method);
}

// 'output' (the class's logit or probability), 'neuron' or 'layers'.
export function explainsKind(m) {
  const e = entry(m);
  const k = typeof e.explains === 'string' ? e.explains : e.explains?.kind;
  if (k === 'output' || k === 'neuron' || k === 'layers') return k;
  return FALLBACK_EXPLAINS[e.name] || 'output';
}

// Methods whose word scores explain the class's output (Compare and the
// deletion curve rank words by them).
export function explainsOutput(m) {
  return explainsKind(m) === 'output';
}

export function checkName(name) {
  return String(name).replace(/-/g, ' ');
}

// Whether a check's number is good (true), bad (false) or neither (null).
// Only the checks that measure an error against an exact identity (a
// completeness, conservation or efficiency gap, the change of adaptive
// steps, the smoothed model's difference) are judged by the 1% rule; an
// R^2, an intercept, f(empty) or an "absorbed" share are facts, not errors.
export function checkVerdict(c) {
  const name = String(c?.name ?? '');
  if (name === 'samples-per-feature') return false; // reported only when the budget is rough
  if (!/(-gap|^step-change|^smoothing-difference)$/.test(name)) return null;
  return Number.isFinite(c.relative) ? Math.abs(c.relative) < 0.01 : null;
}

// What a result explains: its `explains` (a kind, or { kind, title, unit }), else the method's.
export function resultKind(r) {
  const k = typeof r?.explains === 'string' ? r.explains : r?.explains?.kind;
  return k === 'output' || k === 'neuron' || k === 'layers' ? k : explainsKind(r?.method);
}

// The heading of an explanation: the result's own title (`explains.title`),
// else one made from what it explains.
export function resultTitle(r, { auto = true } = {}) {
  if (r?.explains?.title) return r.explains.title;
  const kind = resultKind(r);
  // The module's own title for a neuron or the layers ("What drives layer.0 neuron 2?").
  if (kind !== 'output' && typeof r?.title === 'string' && r.title) return r.title;
  if (kind === 'neuron') return `What drives ${r.unit || 'this neuron'}?`;
  if (kind === 'layers') return `Relevance through the layers for \u201c${r.prediction.target_name}\u201d`;
  return auto ? `Why \u201c${r.prediction.target_name}\u201d?` : `Evidence for \u201c${r.prediction.target_name}\u201d`;
}

// What the numbers explain, as a phrase: "the logit of 'positive'", or the
// neuron / layer's own words.
export function explainedPhrase(r) {
  const kind = resultKind(r);
  if (kind !== 'output') return (typeof r?.explains === 'object' && r.explains.unit) || r?.unit || (kind === 'neuron' ? 'the neuron' : 'the layers');
  return `the ${r.prediction.output} of \u201c${r.prediction.target_name}\u201d`;
}

// 'cnn' | 'bilstm' | 'transformer' for a model's info.
export function architectureGroup(info) {
  if (info?.architecture_group) return info.architecture_group;
  const a = String(info?.architecture || info?.model_type || '').toLowerCase();
  if (/cnn/.test(a)) return 'cnn';
  if (/lstm/.test(a)) return 'bilstm';
  return 'transformer';
}

// The registry resolved for one architecture group, in the shape of
// model.methods(): each method with `applicable` (and `why`), its options
// filtered to those that apply, with the effective default and choices.
export function resolveMethods(list, group) {
  return (list || []).map((m) => {
    const applies = Array.isArray(m.applies_to) ? m.applies_to : null;
    const applicable = !applies || applies.includes(group);
    const options = [];
    // A registry that says where methods apply says it for options too; the
    // fallback tables are for one that predates the fields.
    const old = !Array.isArray(m.applies_to);
    for (const o of m.options || []) {
      const oa = Array.isArray(o.applies_to) ? o.applies_to : old ? FALLBACK_OPTION_ARCH[m.name]?.[o.name] : null;
      if (oa && !oa.includes(group)) continue;
      const by = o.by_architecture?.[group] || (old ? FALLBACK_OPTION_BY_ARCH[m.name]?.[o.name]?.[group] : null) || {};
      const r = { ...o };
      delete r.by_architecture;
      delete r.applies_to;
      if (by.choices) r.choices = by.choices;
      if (by.default !== undefined) r.default = by.default;
      if (r.choices && !r.choices.includes(r.default)) r.default = r.choices[0];
      options.push(r);
    }
    return {
      ...m,
      options,
      applicable: m.applicable ?? applicable,
      why: m.why ?? (applicable ? undefined : `${methodName(m)} does not apply to ${group} models (only to ${applies.join(', ')})`),
    };
  });
}

// The options to send with an explanation: the user's, plus the resolved
// defaults that differ from the registry's own (the module would otherwise
// use its global default).
export function requestOptions(resolved, global, chosen) {
  const out = {};
  for (const o of resolved?.options || []) {
    const g = global?.options?.find((x) => x.name === o.name);
    if (g && String(g.default) !== String(o.default)) out[o.name] = o.default;
  }
  return { ...out, ...(chosen || {}) };
}
