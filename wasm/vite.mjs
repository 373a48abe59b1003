// A Vite plugin for apps that `npm install wordlight`:
//
//   // vite.config.js
//   import wordlight from 'wordlight/vite';
//   export default { plugins: [wordlight()] };
//
//   // your code
//   import * as wordlight from 'wordlight';
//
// The JS API starts its Web Worker (worker.js), which loads engine.mjs and
// the Emscripten build (dist/*.js, *.wasm) at run time, by URL: they cannot
// be bundled into your chunks. The plugin serves them (dev) or copies them
// into the output (build) under `<base>wordlight/`, unhashed and as they
// are, and points the API there. No dependency on Vite itself.
//
// runtimeFiles() is also what the repository's own page serves and copies
// (web/tools/assets.mjs), so both ship the same files.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PREFIX = 'wordlight/';
// The files the API loads at run time, besides the entry module itself.
const RUNTIME = ['wordlight.mjs', 'engine.mjs', 'sources.mjs', 'bytes.mjs', 'worker.js'];
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

// [name under wordlight/, file on disk] for every file the API loads at run
// time: its modules and worker, and the wasm builds in dist/.
export function runtimeFiles(dir = HERE) {
  const out = RUNTIME.map((f) => [f, path.join(dir, f)]);
  const dist = path.join(dir, 'dist');
  if (fs.existsSync(dist))
    for (const f of fs.readdirSync(dist).sort()) if (/\.(js|wasm|json)$/.test(f)) out.push(['dist/' + f, path.join(dist, f)]);
  return out;
}

export default function wordlight() {
  let base = '/';
  const entry = path.join(HERE, 'wordlight.mjs');
  return {
    name: 'wordlight',
    // Before Vite's own transforms, which would turn wordlight.mjs's
    // `new URL('./worker.js', import.meta.url)` into a bundled worker and
    // './dist/' into a hashed asset, away from the files they load.
    enforce: 'pre',
    // Pre-bundling would move wordlight.mjs away from its files.
    config: () => ({ optimizeDeps: { exclude: ['wordlight'] } }),
    configResolved(config) {
      base = config.base || '/';
    },
    // The API finds its worker and builds next to where it says it is
    // (import.meta.url): in the app, <base>wordlight/wordlight.mjs (a
    // bundled chunk's own import.meta.url is the chunk's, elsewhere).
    transform(code, id) {
      if (path.resolve(id.split('?')[0]) !== entry) return null;
      if (!code.includes('import.meta.url')) this.error(`wordlight/vite: ${entry} no longer says where its files are (import.meta.url)`);
      const url = `new URL(${JSON.stringify(base + PREFIX + 'wordlight.mjs')}, document.baseURI).href`;
      return { code: code.replaceAll('import.meta.url', url), map: null };
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const p = (req.url || '').split('?')[0];
        if (!p.startsWith(base + PREFIX)) return next();
        const hit = runtimeFiles().find(([name]) => base + PREFIX + name === p);
        if (!hit || !fs.existsSync(hit[1])) return next();
        res.setHeader('Content-Type', TYPES[path.extname(hit[1])] || 'application/octet-stream');
        fs.createReadStream(hit[1]).pipe(res);
      });
    },
    generateBundle() {
      for (const [name, file] of runtimeFiles()) {
        if (!fs.existsSync(file)) this.error(`wordlight/vite: ${file} is missing`);
        this.emitFile({ type: 'asset', fileName: PREFIX + name, source: fs.readFileSync(file) });
      }
    },
  };
}
