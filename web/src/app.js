// The page's contract: the one `app` object that main.js builds and every
// view, the options form, the model picker and "How this works" read and
// call. A view needs nothing else from the page (see views/README.md):
// what is loaded (app.model, app.labels, app.modelName), what the user
// picked (app.state, app.text(), app.targetArg()), the registry
// (app.method(name), app.applicable(name), app.explainOptions(name)) and
// the page's services (app.runJob, app.showError, app.exportRow, ...).
//
// Members marked "set by <module>" are attached by that module when main.js
// wires the page; until then they are absent. Everything a view may use is
// declared here: a member that is not is private to the module that sets it.

/**
 * A method as the registry describes it (wordlight.methods(), or
 * model.methods() resolved for the loaded model): see wasm/wordlight.d.ts.
 * @typedef {import('../../wasm/wordlight').MethodInfo} MethodInfo
 */

/**
 * The page's state, all of it in the URL fragment (state.js).
 * @typedef {object} PageState
 * @property {string} model     shipped model's name ('' for a local one)
 * @property {string} method    the method picked on the left
 * @property {Record<string, string|number|boolean>} options  the options that differ from their defaults
 * @property {string} target    '' (the predicted class) or a class index as a string
 * @property {string} view      one of state.js VIEWS
 * @property {boolean} tokens   Words: show sub-word tokens
 * @property {boolean} numbers  Words: show the numbers on the heatmap
 * @property {string[]} compare Compare: the methods picked
 * @property {string} ihSteps   Interactions: path steps ('' = default)
 * @property {string} layersMode Layers: mode ('' = default)
 * @property {string} text      the text
 * @property {Record<string, string>} [dataset] Data set: second model, file name, filters (ds.* in the link; never the rows)
 */

/**
 * What a view module returns (views/README.md).
 * @typedef {object} View
 * @property {HTMLElement} panel               its tab panel (#view-<name>)
 * @property {(what: 'text'|'model'|'target') => void} invalidate  something it showed is out of date (mark stale, do not compute)
 * @property {(force: boolean) => (Promise<void>|void)} refresh  compute (force: even when nothing changed)
 * @property {(st: Partial<PageState>) => string[]} [acceptState]  take a link's settings for this view; returns what was repaired (notices)
 */

/**
 * An export of a view: file stem and the three text forms (PNG is drawn from the SVG).
 * @typedef {object} Export
 * @property {string} stem
 * @property {(measure?: (t: string) => number) => string} svg
 * @property {() => string} html
 * @property {() => string} json
 */

/**
 * @typedef {object} App
 * @property {object} api            the wordlight JS API module (wasm/wordlight.mjs)
 * @property {{default: string|null, models: object[]}} manifest  models/index.json
 * @property {MethodInfo[]} methods       the registry (wordlight.methods())
 * @property {MethodInfo[]} modelMethods  the registry resolved for the loaded model (model.methods())
 * @property {import('../../wasm/wordlight').Model|null} model  the loaded wordlight model (predict, tokenize, explain, info)
 * @property {string} modelName
 * @property {object|null} modelEntry     its manifest entry, or { name, local: true }
 * @property {string[]} labels            class names
 * @property {PageState} state
 * @property {object|null} result         the Words view's last explanation
 * @property {string} resultKey           what it was computed for
 * @property {number} lastSeconds         how long it took
 * @property {{ac: AbortController, label: string}|null} job  the running job
 * @property {Record<string, View>} views  by name (state.js VIEWS)
 * @property {Record<string, number>} timings  ms from navigation to each start-up stage (e2e test)
 *
 * Registry, resolved for the loaded model (this file):
 * @property {(name: string) => MethodInfo|undefined} method
 * @property {(name: string) => MethodInfo|undefined} globalMethod   the registry's entry, whatever the model
 * @property {(name: string) => boolean} applicable
 * @property {(name?: string, extra?: object) => object} explainOptions  the options to send with an explanation by `name`
 * @property {() => string} text
 * @property {() => number|undefined} targetArg   the class to explain (undefined: the predicted one)
 * @property {(what: 'text'|'model'|'target') => void} emit   tells every view (View.invalidate)
 * @property {(progress?: (label: string, done: number, total: number) => void) => Promise<object>} maskedLm
 *   the masked LM input-marginalization reads (maskedlm.js), loaded once; explainJob passes it
 * @property {(method: string, opts?: {text?: string, extra?: object, label?: string}) => Promise<object|null>} explainJob
 *   one explanation by `method` of the page's text (or opts.text) for the page's class, with the
 *   options every view sends (explainOptions(method, opts.extra)), as the page's job (progress
 *   "label: done of total", Cancel) -> the result, or null when cancelled; an error rejects
 *
 * Status and jobs (set by status.js):
 * @property {(msg: string) => void} showError
 * @property {() => void} clearError
 * @property {(msg: string|string[], opts?: {kind?: 'notice'|'error'}) => HTMLElement} notice
 * @property {<T>(label: string, fn: (signal: AbortSignal, progress: (label: string, done: number, total: number) => void) => Promise<T>) => Promise<T|null>} runJob
 *   one long task at a time: a new one cancels the one before; null when cancelled
 * @property {(msg: string) => void} setStale
 *
 * Exports (set by exports.js):
 * @property {(view: string, getExport: () => Export|null) => HTMLElement} exportRow   PNG/SVG/HTML/JSON buttons (ids export-<view>-<format>)
 * @property {(getExport: () => Export|null, format: 'png'|'svg'|'html'|'json') => Promise<void>} doExport  one export, downloaded
 * @property {(fontSize: number, font: string) => (t: string) => number} measure
 * @property {string} exportFont
 *
 * The page (set by main.js):
 * @property {() => void} saveState        the state into the URL now
 * @property {() => void} saveStateSoon    debounced
 * @property {(reason: string) => void} requestExplain  a setting changed: recompute the shown view (soon, or ask)
 * @property {(text: string) => void} setText  sets the text and explains it
 * @property {() => void} afterChange     a model was loaded: every view hears of it, the shown one computes
 * @property {() => Promise<void>} predictNow  (set by prediction.js)
 *
 * The Words view (set by views/words.js):
 * @property {() => Promise<void>} explainNow
 * @property {(r?: object) => Export|null} wordsExport  a result's Words export (other views reuse it)
 *
 * The Data set view (set by views/dataset.js):
 * @property {((box: HTMLElement, r: object) => Promise<void>)|null} [secondExplanation]  with a second model picked: its explanation of r's text, drawn in box under the Words heatmap
 *
 * The controls on the left (set by options.js and models.js):
 * @property {() => void} fillMethods
 * @property {() => void} fillOptions
 * @property {() => void} fillTargets
 * @property {(source: Map<string, Uint8Array>|object, entry: object) => Promise<boolean>} loadModel
 */

import { methodName, requestOptions } from './names.js';
import { NEEDS_MASKED_LM, maskedLmLoader } from './maskedlm.js';

export const DEFAULT_METHOD = 'integrated-gradients';

/**
 * The app with its data and the registry helpers; the modules main.js wires
 * add the rest.
 * @param {object} api the wordlight JS API module
 * @param {{ text: HTMLTextAreaElement }} el
 * @returns {App}
 */
export function createApp(api, el) {
  const app = {
    api,
    manifest: { default: null, models: [] },
    methods: [],
    modelMethods: [],
    model: null,
    modelName: '',
    modelEntry: null,
    labels: [],
    state: { model: '', method: DEFAULT_METHOD, options: {}, target: '', view: 'explain', tokens: false, numbers: false, compare: [], ihSteps: '', layersMode: '', text: '' },
    result: null,
    resultKey: '',
    lastSeconds: 0,
    job: null,
    views: {},
    timings: {},
  };
  // A method as it applies to the loaded model (its options filtered, the
  // effective defaults and choices), or the registry's entry before a model.
  app.method = (name) => (app.modelMethods.length ? app.modelMethods : app.methods).find((m) => m.name === name);
  app.globalMethod = (name) => app.methods.find((m) => m.name === name);
  app.applicable = (name) => {
    const m = app.method(name);
    return !!m && m.applicable !== false;
  };
  app.text = () => el.text.value;
  app.targetArg = () => (app.state.target === '' ? undefined : Number(app.state.target));
  // The options sent with an explanation by `name`: the user's (for the
  // method picked on the left) and the model's effective defaults. Every
  // view sends the same for the same method.
  app.explainOptions = (name = app.state.method, extra = {}) =>
    requestOptions(app.method(name), app.globalMethod(name), { ...(name === app.state.method ? app.state.options : {}), ...extra });
  // input-marginalization's masked LM (maskedlm.js): loaded with the first explanation that needs it.
  app.maskedLm = maskedLmLoader(app);
  app.explainJob = (method, { text = app.text(), extra = {}, label = methodName(method) } = {}) =>
    app.runJob(`${label}\u2026`, async (signal, progress) =>
      app.model.explain(text, {
        method,
        target: app.targetArg(),
        ...app.explainOptions(method, extra),
        ...(NEEDS_MASKED_LM.has(method) ? { maskedLm: await app.maskedLm(progress) } : {}),
        signal,
        onProgress: ({ done, total }) => progress(`${label}: ${done} of ${total}`, done, total),
      }),
    );
  app.emit = (what) => {
    for (const v of Object.values(app.views)) v.invalidate(what);
  };
  return app;
}
