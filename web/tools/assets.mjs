// A Vite plugin for what the page loads at run time but does not bundle:
// the wordlight JS package and its wasm builds (wasm/*.mjs, wasm/worker.js,
// wasm/dist/) under wordlight/, and the shipped models with their manifest
// under models/. The dev server serves them from the repository;
// the production build copies them next to index.html, so the output is
// static files any host can serve (the preview server serves that output).
//
// Both servers send the two headers that make the page cross-origin
// isolated (SharedArrayBuffer, hence the threaded wasm build):
//   Cross-Origin-Opener-Policy: same-origin
//   Cross-Origin-Embedder-Policy: require-corp
import fs from 'node:fs';
import path from 'node:path';
import { buildManifest } from './manifest.mjs';
import { MASKED_LM_NAME } from '../src/maskedlm.js';
import { runtimeFiles } from '../../wasm/vite.mjs';

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

// The page's Content-Security-Policy: its own files only, no inline or
// injected script, no eval (the wasm module is linked with
// DYNAMIC_EXECUTION=0; 'wasm-unsafe-eval' lets it compile WebAssembly),
// styles only from its stylesheet (the scripts set single properties
// through el.style, which CSP allows), images from itself or data: (the
// icon), no plugins, forms, <base> or framing. index.html carries the same
// policy in a <meta> tag for static hosts that send no header (a <meta>
// policy cannot say frame-ancestors).
export const CSP_META_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
export const CONTENT_SECURITY_POLICY = CSP_META_POLICY + "; frame-ancestors 'none'";
// The dev server only: Vite injects the CSS imports as <style> elements and
// talks to the page over a WebSocket for hot reload.
const DEV_POLICY = CSP_META_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'").replace(
  "connect-src 'self'",
  "connect-src 'self' ws: wss:",
);
export const SECURITY_HEADERS = { ...ISOLATION_HEADERS, 'Content-Security-Policy': CONTENT_SECURITY_POLICY };

const TYPES = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.safetensors': 'application/octet-stream',
};

// The files of the JS package the page loads at run time (its modules,
// worker and wasm builds): the same list the package's own Vite plugin
// serves to apps that install it (wasm/vite.mjs).
export function packageFiles(wasmDir) {
  return runtimeFiles(wasmDir);
}

// url path (no query) -> file on disk, or null.
function resolveFile(urlPath, { wasmDir, modelsDir }) {
  let rel;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const inside = (root, p) => {
    const full = path.resolve(root, p);
    return full.startsWith(path.resolve(root) + path.sep) ? full : null;
  };
  if (rel.startsWith('/wordlight/')) {
    const p = rel.slice('/wordlight/'.length);
    const hit = packageFiles(wasmDir).find(([name]) => name === p);
    return hit ? hit[1] : null;
  }
  if (rel.startsWith('/models/')) {
    const p = rel.slice('/models/'.length);
    if (p.split('/').length !== 2) return null; // models/NAME/FILE only
    const full = inside(modelsDir, p);
    return full && fs.existsSync(full) && fs.statSync(full).isFile() ? full : null;
  }
  return null;
}

function middleware(dirs) {
  return (req, res, next) => {
    const urlPath = (req.url || '').split('?')[0];
    for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
    res.setHeader('Content-Security-Policy', DEV_POLICY);
    if (urlPath === '/models/index.json') {
      res.setHeader('Content-Type', TYPES['.json']);
      res.end(JSON.stringify(buildManifest(dirs.modelsDir)));
      return;
    }
    if (!urlPath.startsWith('/wordlight/') && !urlPath.startsWith('/models/')) return next();
    const file = resolveFile(urlPath, dirs);
    if (!file) {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('not found');
      return;
    }
    const st = fs.statSync(file);
    res.setHeader('Content-Type', TYPES[path.extname(file)] || 'application/octet-stream');
    res.setHeader('Content-Length', st.size);
    res.setHeader('Cache-Control', 'no-cache');
    if (req.method === 'HEAD') return res.end();
    fs.createReadStream(file).pipe(res);
  };
}

export function wordlightAssets({ wasmDir, modelsDir }) {
  const dirs = { wasmDir, modelsDir };
  let outDir = null;
  return {
    name: 'wordlight-assets',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use(middleware(dirs));
    },
    // The dev server relaxes index.html's <meta> policy as its header
    // (DEV_POLICY); the production build keeps it strict.
    transformIndexHtml(html, ctx) {
      if (!ctx.server) return html;
      return html.replace(CSP_META_POLICY, DEV_POLICY);
    },
    // The preview server gzips every response on the fly: 0.35 s for a 9 MB
    // model on localhost instead of 0.02 s. Model weights and wasm are sent
    // as they are.
    configurePreviewServer(server) {
      server.middlewares.use((req, res, next) => {
        const p = (req.url || '').split('?')[0];
        // Every response, the page and the workers' scripts alike (a
        // worker's policy comes from its own script's headers).
        res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
        if (p.startsWith('/models/') && !p.endsWith('.json')) delete req.headers['accept-encoding'];
        if (p.endsWith('.wasm') || p.endsWith('.safetensors')) delete req.headers['accept-encoding'];
        next();
      });
    },
    // The production build: copy the package, the models and the manifest.
    writeBundle() {
      const missing = packageFiles(wasmDir).filter(([, f]) => !fs.existsSync(f));
      if (!fs.existsSync(path.join(wasmDir, 'dist', 'wordlight-simd.wasm')))
        this.warn('wasm/dist/ has no build yet: run ./build.sh wasm (the page needs it)');
      for (const [name] of missing) this.warn(`wasm/${name} is missing`);
      for (const [name, file] of packageFiles(wasmDir)) {
        if (!fs.existsSync(file)) continue;
        const to = path.join(outDir, 'wordlight', name);
        fs.mkdirSync(path.dirname(to), { recursive: true });
        fs.copyFileSync(file, to);
      }
      const manifest = buildManifest(modelsDir);
      const copyModel = (name, files) => {
        const to = path.join(outDir, 'models', name);
        fs.mkdirSync(to, { recursive: true });
        for (const f of files) fs.copyFileSync(path.join(modelsDir, name, f), path.join(to, f));
      };
      for (const m of manifest.models) copyModel(m.name, m.files);
      // The masked LM input-marginalization loads as its second model
      // (maskedlm.js): served, not listed (it classifies nothing).
      const mlmDir = path.join(modelsDir, MASKED_LM_NAME);
      if (fs.existsSync(path.join(mlmDir, 'config.json')))
        copyModel(MASKED_LM_NAME, fs.readdirSync(mlmDir).filter((f) => fs.statSync(path.join(mlmDir, f)).isFile()));
      fs.mkdirSync(path.join(outDir, 'models'), { recursive: true });
      fs.writeFileSync(path.join(outDir, 'models', 'index.json'), JSON.stringify(manifest, null, 1) + '\n');
    },
  };
}
