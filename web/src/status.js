// Errors, notices and the one running job, shown in the status box next to
// the result (sticky in the viewport: see style.css), announced to screen
// readers (role=alert; the progress label is aria-live). An error stays
// until the next run or until dismissed; notices (a repaired link, a
// missing model) stay until dismissed. Sets app.showError, app.clearError,
// app.notice, app.runJob and app.setStale (app.js).
import { h, replace } from './dom.js';

export function installStatus(app, el) {
  function revealStatus() {
    // The box is sticky (wide screens) or fixed (phones); if a scrolled
    // container still hides it, bring it into view.
    requestAnimationFrame(() => {
      const r = el.status.getBoundingClientRect();
      if (r.height && (r.top < 0 || r.bottom > window.innerHeight)) el.status.scrollIntoView({ block: 'nearest' });
    });
  }
  app.showError = (msg) => {
    el.errorText.textContent = String(msg);
    el.error.hidden = false;
    revealStatus();
  };
  app.clearError = () => {
    el.error.hidden = true;
    el.errorText.textContent = '';
  };
  el.errorDismiss.addEventListener('click', () => app.clearError());
  // msg: a sentence, or [heading, ...items] for one notice with a list.
  app.notice = (msg, { kind = 'notice' } = {}) => {
    const [head, ...items] = [].concat(msg).map(String);
    const box = h(
      'div',
      { class: ['notice-item', kind], role: kind === 'error' ? 'alert' : 'status' },
      h('div', { class: 'notice-text' }, head, items.length ? h('ul', {}, items.map((t) => h('li', { text: t }))) : null),
      h('button', { type: 'button', class: 'link dismiss', text: 'Dismiss', 'aria-label': 'Dismiss this notice', onclick: () => box.remove() }),
    );
    el.notices.append(box);
    revealStatus();
    return box;
  };

  function progressShow(label) {
    el.progressLabel.textContent = label;
    el.progressBar.classList.add('indeterminate');
    el.progressBar.removeAttribute('aria-valuenow');
    el.progressBar.querySelector('.fill').style.width = '';
    el.progress.hidden = false;
    revealStatus();
  }
  function progressSet(label, done, total) {
    el.progressBar.classList.remove('indeterminate');
    const pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
    el.progressBar.querySelector('.fill').style.width = `${pct.toFixed(1)}%`;
    el.progressBar.setAttribute('aria-valuenow', pct.toFixed(0));
    el.progressLabel.textContent = label;
  }

  // One long-running task at a time (an explanation, a comparison, ...): a new
  // one cancels the one before. fn(signal, progress(label, done, total)).
  // Resolves to fn's value, or to null when cancelled or superseded.
  app.job = null;
  app.runJob = async (label, fn) => {
    if (app.job) app.job.ac.abort(new Error('superseded'));
    const ac = new AbortController();
    const job = { ac, label };
    app.job = job;
    const timer = setTimeout(() => app.job === job && progressShow(label), 150);
    try {
      return await fn(ac.signal, (text, done, total) => {
        if (app.job !== job) return;
        clearTimeout(timer);
        if (el.progress.hidden) progressShow(text);
        progressSet(text, done, total);
      });
    } catch (e) {
      if (e && e.name === 'AbortError') {
        if (ac.signal.reason?.message !== 'superseded') app.setStale('Cancelled. Press Explain to run again.');
        return null;
      }
      throw e;
    } finally {
      clearTimeout(timer);
      if (app.job === job) {
        app.job = null;
        el.progress.hidden = true;
      }
    }
  };
  el.cancel.addEventListener('click', () => app.job?.ac.abort(new Error('cancelled by you')));

  app.setStale = (msg) => {
    el.stale.textContent = msg || '';
    el.stale.hidden = !msg;
    // With nothing explained yet, say it where the explanation would be.
    if (msg && !app.result) replace(el.heatmap, h('p', { class: 'placeholder', text: msg }));
  };
}
