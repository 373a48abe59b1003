// The controls on the left that say what to explain: the method picker
// (only the methods that apply to the loaded model), the options form drawn
// from the registry's option specs (choice, boolean, integer, number: each
// value checked by state.js parseOption before it is kept), and the class.
// Sets app.fillMethods, app.fillOptions and app.fillTargets (app.js).
import { h, clear } from './dom.js';
import { parseOption } from './state.js';
import { methodName } from './names.js';

export function installOptionsForm(app, el) {
  // Only the methods that apply to the loaded model are offered.
  function fillMethods() {
    clear(el.method);
    const list = app.modelMethods.length ? app.modelMethods : app.methods;
    for (const m of list) if (m.applicable !== false) el.method.append(h('option', { value: m.name, text: methodName(m) }));
    el.method.value = app.state.method;
  }

  function fillOptions() {
    const m = app.method(app.state.method);
    el.methodDesc.textContent = m ? m.description : '';
    clear(el.options);
    if (!m) return;
    for (const spec of m.options) {
      const id = `opt-${spec.name}`;
      const cur = spec.name in app.state.options ? app.state.options[spec.name] : spec.default;
      const err = h('p', { class: 'opt-err', hidden: true, id: `${id}-err` });
      const commit = (raw) => {
        const r = parseOption(spec, raw);
        if (r.error) {
          err.textContent = r.error;
          err.hidden = false;
          return;
        }
        err.hidden = true;
        if (String(r.value) === String(spec.default)) delete app.state.options[spec.name];
        else app.state.options[spec.name] = r.value;
        updateOptionsSummary();
        app.saveStateSoon();
        app.requestExplain('options');
      };
      let control;
      if (spec.type === 'choice') {
        control = h(
          'select',
          { id, onchange: (ev) => commit(ev.target.value), 'aria-describedby': `${id}-desc` },
          spec.choices.map((c) => h('option', { value: c, text: c, selected: String(c) === String(cur) })),
        );
      } else if (spec.type === 'boolean') {
        control = h('input', { type: 'checkbox', id, checked: cur === true || cur === 'true', onchange: (ev) => commit(String(ev.target.checked)), 'aria-describedby': `${id}-desc` });
      } else {
        const step = spec.type === 'integer' ? 1 : 'any';
        const num = h('input', { type: 'number', id, value: String(cur), min: spec.min, max: spec.max, step, 'aria-describedby': `${id}-desc` });
        const useRange = spec.type === 'integer' && spec.max !== undefined && spec.min !== undefined && spec.max - spec.min <= 4096 && spec.max <= 4096;
        if (useRange) {
          // A slider over a sensible part of the range; the number box takes any value.
          const hi = Math.min(spec.max, Math.max(64, Number(spec.default) * 8));
          const range = h('input', { type: 'range', min: spec.min, max: hi, step: 1, value: String(Math.min(hi, Number(cur))), 'aria-label': `${spec.name} slider`, tabindex: -1 });
          range.addEventListener('input', () => (num.value = range.value));
          range.addEventListener('change', () => commit(range.value));
          num.addEventListener('change', () => {
            range.value = num.value;
            commit(num.value);
          });
          control = h('div', { class: 'pair' }, range, num);
        } else {
          num.addEventListener('change', () => commit(num.value));
          control = h('div', { class: 'pair' }, num);
        }
      }
      const range = spec.min !== undefined ? ` (${spec.min} to ${spec.max}; default ${spec.default})` : ` (default ${spec.default})`;
      el.options.append(
        h('div', { class: 'opt' }, h('label', { for: id, text: spec.name }), control, h('p', { class: 'opt-desc', id: `${id}-desc`, text: spec.description + range }), err),
      );
    }
    el.options.append(
      h('div', {}, h('button', { type: 'button', class: 'secondary small', text: 'Reset to defaults', onclick: () => {
        app.state.options = {};
        fillOptions();
        app.saveStateSoon();
        app.requestExplain('options');
      } })),
    );
    updateOptionsSummary();
  }

  function updateOptionsSummary() {
    const m = app.method(app.state.method);
    const changed = Object.entries(app.state.options);
    el.optionsSummary.textContent = !m?.options.length
      ? 'No options'
      : changed.length
        ? `Options: ${changed.map(([k, v]) => `${k}=${v}`).join(', ')}`
        : `Options (${m.options.length}, all at their defaults)`;
  }

  el.method.addEventListener('change', () => {
    app.state.method = el.method.value;
    app.state.options = {};
    fillOptions();
    app.saveStateSoon();
    app.requestExplain('method');
  });

  // The class to explain.
  function fillTargets() {
    clear(el.target);
    el.target.append(h('option', { value: '', text: 'the predicted class' }));
    app.labels.forEach((l, i) => el.target.append(h('option', { value: String(i), text: l })));
    if (app.state.target !== '' && !(Number(app.state.target) >= 0 && Number(app.state.target) < app.labels.length)) app.state.target = '';
    el.target.value = app.state.target;
  }
  el.target.addEventListener('change', () => {
    app.state.target = el.target.value;
    app.saveStateSoon();
    app.requestExplain('target');
    app.emit('target');
  });

  app.fillMethods = fillMethods;
  app.fillOptions = fillOptions;
  app.fillTargets = fillTargets;
}
