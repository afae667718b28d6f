// Builds analytics/ingestion/static/matomo.js (samtycke's Matomo-compatible tracker, served as
// /matomo.js) from static/src/matomo.js with terser. Same input + same terser version (pinned in
// package-lock) give the same bytes, so CI can run `node static/build-tracker.mjs --check` to
// catch a stale committed build (exit code 1).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { minify } from 'terser';
import { emit, terserOptions } from './lib/emit.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const OUT = here('../analytics/ingestion/static/matomo.js');

export async function build() {
  const source = await readFile(here('./src/matomo.js'), 'utf8');
  const out = await minify(source, terserOptions(true));
  return out.code + '\n';
}

await emit([[OUT, await build()]], 'build-tracker.mjs');
