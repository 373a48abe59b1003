// Vite: dev server (`npx vite --config web/vite.config.mjs`), production
// build into build/web/ and the preview server, both cross-origin isolated.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { ISOLATION_HEADERS, wordlightAssets } from './tools/assets.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

export default defineConfig({
  root: here,
  base: './',
  // 'mpa': a missing file is a 404, not index.html (the model loader probes
  // for optional tokenizer files).
  appType: 'mpa',
  publicDir: false,
  clearScreen: false,
  logLevel: process.env.WORDLIGHT_VITE_LOG || 'info',
  // WORDLIGHT_MODELS: another folder of models to offer instead of models/.
  plugins: [wordlightAssets({ wasmDir: path.join(repo, 'wasm'), modelsDir: path.resolve(process.env.WORDLIGHT_MODELS || path.join(repo, 'models')) })],
  build: {
    outDir: path.join(repo, 'build', 'web'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1000,
  },
  server: { headers: ISOLATION_HEADERS, host: '127.0.0.1', port: 5173 },
  preview: { headers: ISOLATION_HEADERS, host: '127.0.0.1', port: 4173 },
});
