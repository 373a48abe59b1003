// @huggingface/transformers set to read local folders only (below `dir`):
// no download, no cache. Shared by the suites that compare our readers with
// it (tokenizer_compare.test.mjs, checkpoint_quirks.test.mjs).
import path from 'node:path';
import { env } from '@huggingface/transformers';

export function readLocalModelsOnly(dir) {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = dir + path.sep;
  env.useBrowserCache = false;
  env.useFSCache = false;
}
