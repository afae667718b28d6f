// Vendors the dashboard's chart library: uPlot from node_modules (version pinned in
// package-lock) is copied with a provenance header into static/dashboard/vendor/. The output
// depends only on the installed package's bytes, so `node static/build-dashboard.mjs --check`
// exits 1 when the committed copy differs from a fresh build.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const PACKAGE = here('../node_modules/uplot/');
const OUT_DIR = here('./dashboard/vendor/');

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
if (process.argv.includes('--check')) {
  const stale = [];
  for (const [name, text] of Object.entries(files)) {
    let current = '';
    try { current = await readFile(OUT_DIR + name, 'utf8'); } catch { /* missing counts as stale */ }
    if (current !== text) stale.push(name);
  }
  if (stale.length) {
    console.error(`static/dashboard/vendor/${stale.join(', ')} stale: run \`node static/build-dashboard.mjs\`.`);
    process.exit(1);
  }
  console.log('static/dashboard/vendor is up to date.');
} else {
  await mkdir(OUT_DIR, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await writeFile(OUT_DIR + name, text);
    console.log(`wrote static/dashboard/vendor/${name} (${Buffer.byteLength(text)} bytes)`);
  }
}
