// The page's state in the URL fragment (#...), which browsers never send to
// a server: model, method, the options that differ from their defaults,
// explained class, view, token toggle, compared methods, and the text.

export const VIEWS = ['explain', 'compare', 'layers', 'whatif', 'interactions'];

export function encodeState(st) {
  const p = new URLSearchParams();
  if (st.model) p.set('model', st.model);
  if (st.method) p.set('method', st.method);
  for (const [k, v] of Object.entries(st.options || {})) p.set('o.' + k, String(v));
  if (st.target !== undefined && st.target !== null && st.target !== '') p.set('class', String(st.target));
  if (st.view && st.view !== 'explain') p.set('view', st.view);
  if (st.tokens) p.set('tokens', '1');
  if (st.compare?.length) p.set('compare', st.compare.join(','));
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
    else if (k === 'compare') st.compare = v.split(',').filter(Boolean);
    else if (k === 'text') st.text = v;
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
