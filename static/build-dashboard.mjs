// Vendors the dashboard's chart library: uPlot from node_modules (version pinned in
// package-lock) is copied with a provenance header into analytics/dashboard/static/dashboard/vendor/.
// The output depends only on the installed package's bytes, so
// `node static/build-dashboard.mjs --check` exits 1 when the committed copy differs from a fresh build.
import { mkdir, readFile } from 'node:fs/promises';
import { emit } from './lib/emit.mjs';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const PACKAGE = here('../node_modules/uplot/');
const OUT_DIR = here('../analytics/dashboard/static/dashboard/vendor/');

async function build() {
  const meta = JSON.parse(await readFile(PACKAGE + 'package.json', 'utf8'));
  const header = (kind) =>
    `/*! uPlot ${meta.version} (${meta.license}) ${kind}, vendored from npm by static/build-dashboard.mjs */\n`;
  const js = await readFile(PACKAGE + 'dist/uPlot.iife.min.js', 'utf8');
  const css = await readFile(PACKAGE + 'dist/uPlot.min.css', 'utf8');
  return {
    'uplot.js': header('iife') + js.trimEnd() + '\n',
    'uplot.css': header('styles') + css.trimEnd() + '\n',
  };
}

const files = await build();
await mkdir(OUT_DIR, { recursive: true });
await emit(Object.entries(files).map(([name, text]) => [OUT_DIR + name, text]), 'build-dashboard.mjs');
