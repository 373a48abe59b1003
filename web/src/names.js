// What the page knows about a method comes from the registry, declared
// once in C++ (core/src/explain/registry.cpp, serialised by
// registry_json.cpp) and read through wordlight.methods() and, for the
// loaded model, model.methods(): its display name (`title`), whether its
// numbers are signed evidence or unsigned magnitudes (`scores`,
// `unsigned_when`), what it explains (`explains`: the class's output, a
// neuron or the layers), which architectures and option values apply
// (`applicable`, `why`, the options resolved for the model). The page keeps
// no table of its own: a method the registry does not list is shown by its
// name, as signed scores of the output.

let registry = new Map();

// The registry as wordlight.methods() gives it (or a model's resolved list).
export function setRegistry(list) {
  registry = new Map((list || []).map((m) => [m.name, m]));
}

const entry = (m) => (typeof m === 'string' ? registry.get(m) || { name: m } : m || {});

export function methodName(m) {
  const e = entry(m);
  return e.title || e.name || '';
}

// The name without a parenthesised remark.
export function shortMethodName(m) {
  return methodName(m).replace(/ \(.*\)$/, '');
}

// 'signed' (evidence for / against) or 'unsigned' (a magnitude: importance).
export function methodScores(m) {
  const e = entry(m);
  return e.scores === 'unsigned' ? 'unsigned' : 'signed';
}

// What a result's numbers are: the result's own `scores`, else the method's,
// with the registry's `unsigned_when` (gradient and SmoothGrad with
// reduce=l2 give a norm).
export function resultScores(r) {
  if (r?.scores === 'signed' || r?.scores === 'unsigned') return r.scores;
  const e = entry(r?.method);
  const when = e.unsigned_when;
  if (when && Object.entries(when).every(([k, v]) => String(r.options?.[k]) === String(v))) return 'unsigned';
  return methodScores(r?.method);
}

// 'output' (the class's logit or probability), 'neuron' or 'layers'.
export function explainsKind(m) {
  const e = entry(m);
  const k = typeof e.explains === 'string' ? e.explains : e.explains?.kind;
  return k === 'neuron' || k === 'layers' ? k : 'output';
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
