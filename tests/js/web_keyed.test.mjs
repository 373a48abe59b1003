// views/keyed.js: a view recomputes only when its key changes (or on
// force), never for an empty text, shows a result only when the job was
// not cancelled, and routes errors to the page or to the view.
import { describe, expect, it } from 'vitest';
import { keyedRun } from '../../web/src/views/keyed.js';

function fakeApp(text) {
  const app = { text: () => app._text, _text: text, errors: [], cleared: 0 };
  app.showError = (m) => app.errors.push(m);
  app.clearError = () => app.cleared++;
  return app;
}

describe('keyedRun', () => {
  it('runs once per key, again on force or a new key, and never for an empty text', async () => {
    const app = fakeApp('good film');
    const runs = [];
    const shown = [];
    const k = keyedRun(app, () => app._text, async (t) => (runs.push(t), { t }), (r) => shown.push(r.t));
    expect(k.stale()).toBe(false);  // nothing shown yet
    await k.refresh(false);
    await k.refresh(false);
    expect(runs).toEqual(['good film']);
    await k.refresh(true);
    expect(runs).toEqual(['good film', 'good film']);
    app._text = 'bad film';
    expect(k.stale()).toBe(true);
    await k.refresh(false);
    expect(shown).toEqual(['good film', 'good film', 'bad film']);
    expect(k.stale()).toBe(false);
    app._text = '   ';
    await k.refresh(true);
    expect(runs.length).toBe(3);
    expect(app.cleared).toBe(3);
  });

  it('shows nothing and keeps the old key when the job is cancelled (null)', async () => {
    const app = fakeApp('a');
    let answer = { v: 1 };
    const shown = [];
    const k = keyedRun(app, () => app._text, async () => answer, (r) => shown.push(r.v));
    await k.refresh(false);
    app._text = 'b';
    answer = null;
    await k.refresh(false);
    expect(shown).toEqual([1]);
    expect(k.stale()).toBe(true);  // 'a' is still what is shown
  });

  it('sends an error to the page, or to the view, which then owns the key', async () => {
    const app = fakeApp('x');
    const fail = async () => {
      throw new Error('no attention in a CNN');
    };
    const page = keyedRun(app, () => app._text, fail, () => {});
    await page.refresh(false);
    expect(app.errors).toEqual(['no attention in a CNN']);
    expect(page.stale()).toBe(false);  // no key: the next refresh tries again
    const seen = [];
    const view = keyedRun(app, () => app._text, fail, () => {}, (e) => (seen.push(e.message), true));
    await view.refresh(false);
    await view.refresh(false);  // the shown error stands for this key: not run again
    expect(seen).toEqual(['no attention in a CNN']);
    app._text = 'y';
    expect(view.stale()).toBe(true);
  });
});
