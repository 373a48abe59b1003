// A view's computation, redone only when what it depends on changes: the
// views that compute one result per (model, text, ...) key share this
// instead of each keeping its own key and the same try/catch.

/**
 * refresh(force): skips when the key is the one last shown (unless force)
 * or the text is empty; else clears the page's error line, runs `run(text)`
 * (a job: null when cancelled or superseded) and hands a result to `show`.
 * An error goes to `onError` (default: the page's error line); when it
 * returns true, the view showed the error itself and it stands for the key.
 * stale(): a result (or a shown error) is there for another key.
 * @param {import('../app.js').App} app
 * @param {() => string} currentKey
 * @param {(text: string) => Promise<any>} run
 * @param {(result: any) => void} show
 * @param {(e: Error) => boolean | void} [onError]
 */
export function keyedRun(app, currentKey, run, show, onError = (e) => app.showError(e.message)) {
  let key = '';
  return {
    async refresh(force) {
      if (!force && key === currentKey()) return;
      const text = app.text();
      if (!text.trim()) return;
      const k = currentKey();
      app.clearError();
      try {
        const r = await run(text);
        if (!r) return;
        key = k;
        show(r);
      } catch (e) {
        if (onError(e)) key = k;
      }
    },
    stale: () => key !== '' && key !== currentKey(),
  };
}
