// The page's contract (web/src/app.js), without a browser: the registry as
// it applies to the loaded model, the options every view sends, one
// explanation as the page's job, and every view told of a change.
import { describe, expect, it } from 'vitest';

import { createApp, DEFAULT_METHOD } from '../../web/src/app.js';
import { setRegistry } from '../../web/src/names.js';

const REGISTRY = [
  { name: 'integrated-gradients', title: 'Integrated Gradients', options: [{ name: 'steps', default: 16 }, { name: 'baseline', default: 'zero' }] },
  { name: 'lrp', title: 'LRP', options: [{ name: 'rule', default: 'epsilon' }] },
];
// The same registry resolved for a model: LRP does not apply, IG's baseline default differs.
const RESOLVED = [
  { name: 'integrated-gradients', title: 'Integrated Gradients', applicable: true, options: [{ name: 'steps', default: 16 }, { name: 'baseline', default: 'unk' }] },
  { name: 'lrp', title: 'LRP', applicable: false, why: 'not for this model', options: [] },
];

function makeApp(text = 'a fine film') {
  const app = createApp({}, { text: { value: text } });
  app.methods = REGISTRY;
  setRegistry(REGISTRY);
  return app;
}

describe('the app contract', () => {
  it('reads the registry, resolved for the loaded model once there is one', () => {
    const app = makeApp();
    expect(app.state.method).toBe(DEFAULT_METHOD);
    expect(app.applicable('lrp')).toBe(true);
    expect(app.applicable('no-such-method')).toBe(false);
    app.modelMethods = RESOLVED;
    expect(app.applicable('lrp')).toBe(false);
    expect(app.method('lrp').why).toBe('not for this model');
    expect(app.globalMethod('lrp').options.map((o) => o.name)).toEqual(['rule']);
  });

  it('sends the model\'s defaults that differ from the registry\'s, and the user\'s options only for the method picked on the left', () => {
    const app = makeApp();
    app.modelMethods = RESOLVED;
    app.state.method = 'integrated-gradients';
    app.state.options = { steps: 64 };
    expect(app.explainOptions('integrated-gradients')).toEqual({ baseline: 'unk', steps: 64 });
    expect(app.explainOptions('integrated-gradients', { steps: 8 })).toEqual({ baseline: 'unk', steps: 8 });
    app.state.method = 'lrp';
    expect(app.explainOptions('integrated-gradients')).toEqual({ baseline: 'unk' });
  });

  it('explains as the page\'s one job: text, class, options, signal and progress', async () => {
    const app = makeApp('the text on the left');
    app.modelMethods = RESOLVED;
    app.state.target = '1';
    const calls = [];
    const progress = [];
    app.model = {
      explain: async (text, opts) => {
        calls.push([text, opts]);
        opts.onProgress({ done: 3, total: 4 });
        return { method: opts.method, text };
      },
    };
    app.runJob = async (label, fn) => {
      progress.push(label);
      return fn(new AbortController().signal, (l, d, t) => progress.push([l, d, t]));
    };
    const r = await app.explainJob('integrated-gradients');
    expect(r).toEqual({ method: 'integrated-gradients', text: 'the text on the left' });
    const [text, opts] = calls[0];
    expect(text).toBe('the text on the left');
    expect(opts.method).toBe('integrated-gradients');
    expect(opts.target).toBe(1);
    expect(opts.baseline).toBe('unk');
    expect(opts.signal).toBeInstanceOf(AbortSignal);
    expect(progress).toEqual(['Integrated Gradients\u2026', ['Integrated Gradients: 3 of 4', 3, 4]]);
    await app.explainJob('lrp', { text: 'another', extra: { rule: 'z-plus' }, label: 'Mine' });
    expect(calls[1][0]).toBe('another');
    expect(calls[1][1].rule).toBe('z-plus');
    expect(progress.at(-1)).toEqual(['Mine: 3 of 4', 3, 4]);
  });

  it('tells every view what changed', () => {
    const app = makeApp();
    const heard = [];
    app.views = { a: { invalidate: (w) => heard.push(['a', w]) }, b: { invalidate: (w) => heard.push(['b', w]) } };
    app.emit('text');
    app.emit('model');
    expect(heard).toEqual([['a', 'text'], ['b', 'text'], ['a', 'model'], ['b', 'model']]);
  });
});
