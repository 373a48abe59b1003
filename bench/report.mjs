#!/usr/bin/env node
// Side-by-side tables of benchmark results.
//
//   node bench/report.mjs [FILE.jsonl ...]     (default: build/bench/*.jsonl)
//
// Each input line is one JSON object (see bench/README.md): bench, impl,
// case, threads, metric, value, unit, ... Per bench (and metric), prints a
// table with one row per case and one column per impl x threads, in the
// order they first appear. When the same (bench, metric, case, impl,
// threads) was measured more than once (files are appended to), the last
// line read wins: the most recent run.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function inputFiles(args) {
  if (args.length) return args;
  const dir = path.join(here, '..', 'build', 'bench');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => path.join(dir, f));
}

function readRecords(files) {
  const records = [];
  for (const file of files) {
    let text;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      console.error(`report: cannot read ${file}: ${e.message}`);
      process.exit(1);
    }
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      let r;
      try {
        r = JSON.parse(line);
      } catch (e) {
        console.error(`${file}:${i + 1}: not JSON, skipped (${e.message})`);
        return;
      }
      if (typeof r.bench !== 'string' || typeof r.case !== 'string' || typeof r.impl !== 'string' ||
          typeof r.value !== 'number') {
        console.error(`${file}:${i + 1}: missing bench/case/impl/value, skipped`);
        return;
      }
      records.push(r);
    });
  }
  return records;
}

function formatValue(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

function printTable(title, rows, columns, cells) {
  const header = ['case', ...columns];
  const body = rows.map((row) => [row, ...columns.map((col) => cells.get(`${row}\u0000${col}`) ?? '-')]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)));
  const line = (cols) => cols.map((s, c) => (c === 0 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) console.log(line(r));
}

function main() {
  const files = inputFiles(process.argv.slice(2));
  if (!files.length) {
    console.error('report: no JSONL files (run a benchmark with --out build/bench/NAME.jsonl first)');
    process.exit(1);
  }
  const records = readRecords(files);
  if (!records.length) {
    console.error(`report: no records in ${files.join(', ')}`);
    process.exit(1);
  }
  // bench + metric -> { rows, columns, cells, unit }
  const tables = new Map();
  for (const r of records) {
    const metric = r.metric ?? 'value';
    const key = `${r.bench}\u0000${metric}`;
    if (!tables.has(key)) tables.set(key, { bench: r.bench, metric, unit: r.unit ?? '', rows: [], columns: [], cells: new Map() });
    const t = tables.get(key);
    const column = r.threads !== undefined ? `${r.impl} ${r.threads}t` : r.impl;
    if (!t.rows.includes(r.case)) t.rows.push(r.case);
    if (!t.columns.includes(column)) t.columns.push(column);
    t.cells.set(`${r.case}\u0000${column}`, formatValue(r.value));
  }
  console.log(`benchmark report (${files.map((f) => path.basename(f)).join(', ')})`);
  for (const t of tables.values()) {
    printTable(`== ${t.bench}: ${t.metric}${t.unit ? ` (${t.unit})` : ''}, columns: impl x threads`, t.rows, t.columns,
               t.cells);
  }
  explainSummary(records);
}

// bench "explain" (explain_bench + torch_ig.py): per input length and thread
// count, IG seconds of each implementation and the ratios the explanation
// issue sets goals for (ours-native at least 1.5x faster than torch, ours-wasm
// within 2x of torch, LRP under 3 forwards), plus the GFLOP/s of the IG run.
// Unlike the tables above, a measurement that appears several times (the
// rounds of bench/explain.sh) is the median of its records.
function explainSummary(records) {
  const all = new Map();  // impl|threads|measure|tokens -> [records]
  const models = new Set();
  for (const r of records) {
    if (r.bench !== 'explain' || r.measure === undefined || r.tokens === undefined) continue;
    const k = `${r.impl}|${r.threads}|${r.measure}|${r.tokens}`;
    if (!all.has(k)) all.set(k, []);
    all.get(k).push(r);
    if (r.model) models.add(r.model);
  }
  if (!all.size) return;
  const med = (xs) => {
    const v = [...xs].sort((a, b) => a - b), m = v.length >> 1;
    return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  };
  const last = new Map();
  let rounds = 0;
  for (const [k, rs] of all) {
    const seconds = med(rs.map((r) => r.seconds));
    last.set(k, { ...rs[0], seconds, gflops: rs[0].gflop !== undefined ? rs[0].gflop / seconds : undefined });
    rounds = Math.max(rounds, rs.length);
  }
  const get = (impl, threads, measure, tokens) => last.get(`${impl}|${threads}|${measure}|${tokens}`);
  const keys = [];
  for (const r of last.values()) {
    const k = `${r.tokens}|${r.threads}`;
    if (!keys.includes(k)) keys.push(k);
  }
  keys.sort((a, b) => {
    const [ta, na] = a.split('|').map(Number), [tb, nb] = b.split('|').map(Number);
    return ta - tb || na - nb;
  });
  const ratio = (a, b) => (a && b ? (a.seconds / b.seconds).toFixed(2) : '-');
  const secs = (r) => (r ? formatValue(r.seconds) : '-');
  const gf = (r) => (r && r.gflops !== undefined ? formatValue(r.gflops) : '-');
  const header = ['tokens', 'thr', 'IG native s', 'IG wasm s', 'IG torch s', 'torch/native', 'wasm/torch',
                  'LRP/fwd native', 'LRP/fwd wasm', 'fwd torch/native', 'GF/s native', 'GF/s wasm', 'GF/s torch'];
  const rows = keys.map((k) => {
    const [tokens, threads] = k.split('|');
    const ig = (impl) => get(impl, Number(threads), 'ig', Number(tokens));
    const m = (impl, what) => get(impl, Number(threads), what, Number(tokens));
    return [tokens, threads, secs(ig('ours-native')), secs(ig('ours-wasm')), secs(ig('torch')),
            ratio(ig('torch'), ig('ours-native')), ratio(ig('ours-wasm'), ig('torch')),
            ratio(m('ours-native', 'lrp'), m('ours-native', 'forward')),
            ratio(m('ours-wasm', 'lrp'), m('ours-wasm', 'forward')),
            ratio(m('torch', 'forward'), m('ours-native', 'forward')),
            gf(ig('ours-native')), gf(ig('ours-wasm')), gf(ig('torch'))];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cols) => cols.map((s, c) => s.padStart(widths[c])).join('  ');
  console.log(`\n== explain: Integrated Gradients, 50 steps in one batch, seconds: median of ${rounds} round(s)` +
              `${models.size ? ` (model ${[...models].join(', ')})` : ''}`);
  console.log('   torch/native: how many times faster ours-native is (goal >= 1.5); wasm/torch: ours-wasm time over');
  console.log('   torch time (goal <= 2); LRP/fwd: explain(lrp) over a plain forward, same build (goal < 3)');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

main();
