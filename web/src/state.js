// The page's state in the URL fragment (#...), which browsers never send to
// a server: model, method, the options that differ from their defaults,
// explained class, view, token and number toggles, compared methods, the
// Interactions view's steps, the Layers view's mode, the Data set view's
// settings (ds.*: second model, file name, filters; never the rows), and the text.

export const VIEWS = ['explain', 'compare', 'layers', 'whatif', 'interactions', 'dataset', 'attention', 'generate'];

export function encodeState(st) {
  const p = new URLSearchParams();
  if (st.model) p.set('model', st.model);
  if (st.method) p.set('method', st.method);
  for (const [k, v] of Object.entries(st.options || {})) p.set('o.' + k, String(v));
  if (st.target !== undefined && st.target !== null && st.target !== '') p.set('class', String(st.target));
  if (st.view && st.view !== 'explain') p.set('view', st.view);
  if (st.tokens) p.set('tokens', '1');
  if (st.numbers) p.set('numbers', '1');
  if (st.compare?.length) p.set('compare', st.compare.join(','));
  if (st.ihSteps !== undefined && st.ihSteps !== null && st.ihSteps !== '') p.set('ih.steps', String(st.ihSteps));
  if (st.layersMode) p.set('layers.mode', st.layersMode);
  // The Data set view's settings (second model, file name, filters): never its data.
  for (const [k, v] of Object.entries(st.dataset || {})) if (v !== undefined && v !== null && v !== '' && v !== false) p.set('ds.' + k, String(v));
  if (st.text !== undefined) p.set('text', st.text);
  return p.toString();
}

export function decodeState(hash) {
  const p = new URLSearchParams(String(hash || '').replace(/^#/, ''));
  const st = { options: {} };
  for (const [k, v] of p) {
    if (k.startsWith('o.')) st.options[k.slice(2)] = v;
    else if (k === 'model') st.model = v;
    else if (k === 'method') st.method = v;
    else if (k === 'class') st.target = v;
    else if (k === 'view') st.view = VIEWS.includes(v) ? v : 'explain';
    else if (k === 'tokens') st.tokens = v === '1';
    else if (k === 'numbers') st.numbers = v === '1';
    else if (k === 'compare') st.compare = v.split(',').filter(Boolean);
    else if (k === 'ih.steps') st.ihSteps = v;
    else if (k === 'layers.mode') st.layersMode = v;
    else if (k === 'text') st.text = v;
    else if (k.startsWith('ds.')) (st.dataset ??= {})[k.slice(3)] = v;
  }
  return st;
}

// An option's value from a form string, checked against the registry's
// description of it: -> { value } or { error }.
export function parseOption(spec, raw) {
  const s = String(raw).trim();
  switch (spec.type) {
    case 'integer': {
      if (!/^-?\d+$/.test(s)) return { error: `${spec.name}: a whole number, please` };
      const v = Number(s);
      if (spec.min !== undefined && v < spec.min) return { error: `${spec.name}: at least ${spec.min}` };
      if (spec.max !== undefined && v > spec.max) return { error: `${spec.name}: at most ${spec.max}` };
      return { value: v };
    }
    case 'number': {
      const v = Number(s);
      if (s === '' || !Number.isFinite(v)) return { error: `${spec.name}: a number, please` };
      if (spec.min !== undefined && v < spec.min) return { error: `${spec.name}: at least ${spec.min}` };
      if (spec.max !== undefined && v > spec.max) return { error: `${spec.name}: at most ${spec.max}` };
      return { value: v };
    }
    case 'boolean':
      if (['true', '1', 'on', 'yes'].includes(s)) return { value: true };
      if (['false', '0', 'off', 'no'].includes(s)) return { value: false };
      return { error: `${spec.name}: true or false` };
    case 'choice':
      if (!spec.choices.includes(s)) return { error: `${spec.name}: one of ${spec.choices.join(', ')}` };
      return { value: s };
    default:
      return { value: s };
  }
}

// The options of a method from the state, dropping unknown names, invalid
// values and values equal to the default.
export function cleanOptions(method, options) {
  const out = {};
  for (const spec of method?.options || []) {
    if (!(spec.name in (options || {}))) continue;
    const r = parseOption(spec, options[spec.name]);
    if (r.error) continue;
    if (String(r.value) === String(spec.default)) continue;
    out[spec.name] = r.value;
  }
  return out;
}

// A link's method options checked against the method as it applies to the
// loaded model (model.methods(), or the registry resolved for it): ->
// { options, changes: [sentence] }. An option that does not apply, a value
// that is not offered or out of range is dropped (the default is used) and
// said; values equal to the default are dropped silently.
export function repairOptions(method, options, { methodLabel = method?.name, all } = {}) {
  const out = {};
  const changes = [];
  const specs = new Map((method?.options || []).map((o) => [o.name, o]));
  for (const [name, raw] of Object.entries(options || {})) {
    const spec = specs.get(name);
    if (!spec) {
      const known = all?.options?.some((o) => o.name === name);
      changes.push(known ? `${methodLabel}'s option ${name} does not apply to this model: dropped ${name}=${raw}.` : `${methodLabel} has no option ${name}: dropped ${name}=${raw}.`);
      continue;
    }
    const r = parseOption(spec, raw);
    if (r.error) {
      changes.push(`${name}=${raw} is not possible here (${r.error.replace(`${name}: `, '')}): using the default, ${spec.default}.`);
      continue;
    }
    if (String(r.value) === String(spec.default)) continue;
    out[name] = r.value;
  }
  return { options: out, changes };
}

// A number from a link, checked against [min, max] and whole-number-ness:
// -> { value } or { error }.
export function checkInteger(raw, min, max) {
  const s = String(raw ?? '').trim();
  if (!/^-?\d+$/.test(s)) return { error: `not a whole number` };
  const v = Number(s);
  if (v < min) return { error: `below ${min}` };
  if (v > max) return { error: `above ${max}` };
  return { value: v };
}
