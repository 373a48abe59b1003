// The masked language model input-marginalization proposes its candidates
// with (issue 15): a second model loaded next to the classifier, once, on
// the first explanation that needs it (models/sst2-bert-mlm, served with
// the shipped models). app.explainJob passes it as explain's maskedLm.

export const MASKED_LM_NAME = 'sst2-bert-mlm';

// Methods that read a masked LM.
export const NEEDS_MASKED_LM = new Set(['input-marginalization']);

/**
 * @param {object} app  the page's app (app.js): api, runJob's progress
 * @returns {(progress?: (label: string, done: number, total: number) => void) => Promise<object>}
 *   loads the masked LM on the first call and returns the same model after
 */
export function maskedLmLoader(app) {
  let pending = null;
  return (progress) => {
    if (!pending) {
      const url = new URL(`models/${MASKED_LM_NAME}/`, document.baseURI).href;
      pending = app.api
        .load(url, {
          name: MASKED_LM_NAME,
          onProgress: (p) => {
            if (p.stage === 'files' && p.total > 0) progress?.(`Loading the masked LM ${MASKED_LM_NAME}: ${p.file}`, p.done, p.total);
          },
        })
        .then((m) => {
          if (m.info?.head !== 'masked-lm') throw new Error(`${MASKED_LM_NAME} is not a masked language model`);
          return m;
        })
        .catch((e) => {
          pending = null; // tried again on the next explanation
          throw new Error(`input marginalization needs the masked language model models/${MASKED_LM_NAME}: ${e.message}`);
        });
    }
    return pending;
  };
}
