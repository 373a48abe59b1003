// The page's views, in the order of their tabs: name (state.js VIEWS, the
// tab's data-view, the panel's id view-<name>) and the function that builds
// the view (app, panel) -> View (app.js). See README.md here to add one.
import { createWordsView } from './words.js';
import { createCompareView } from './compare.js';
import { createLayersView } from './layers.js';
import { createWhatIfView } from './whatif.js';
import { createInteractionsView } from './interactions.js';
import { createDatasetView } from './dataset.js';
import { createGenerateView } from './generate.js';
import { createAttentionView } from './attention.js';

export const VIEW_MODULES = [
  { name: 'explain', create: createWordsView },
  { name: 'compare', create: createCompareView },
  { name: 'layers', create: createLayersView },
  { name: 'whatif', create: createWhatIfView },
  { name: 'interactions', create: createInteractionsView },
  { name: 'dataset', create: createDatasetView },
  { name: 'attention', create: createAttentionView },
  { name: 'generate', create: createGenerateView },
];
