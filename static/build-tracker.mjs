// Builds static/matomo.js (samtycke's Matomo-compatible tracker) from static/src/matomo.js with
// terser. Same input + same terser version (pinned in package-lock) give the same bytes, so CI can
// run `node static/build-tracker.mjs --check` to catch a stale committed build (exit code 1).
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { minify } from 'terser';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const OUT = here('./matomo.js');

export async function build() {
  const source = await readFile(here('./src/matomo.js'), 'utf8');
  const out = await minify(source, {
    ecma: 2020,
    compress: { passes: 2 },
    mangle: true,
    format: { comments: /^!/, ascii_only: true }
  });
  return out.code + '\n';
}

const code = await build();
if (process.argv.includes('--check')) {
  let current = '';
  try { current = await readFile(OUT, 'utf8'); } catch { /* missing counts as stale */ }
  if (current !== code) {
    console.error('static/matomo.js is stale: run `node static/build-tracker.mjs` and commit the result.');
    process.exit(1);
  }
  console.log('static/matomo.js is up to date.');
} else {
  await writeFile(OUT, code);
  const gz = gzipSync(code, { level: 9 }).length;
  console.log(`wrote static/matomo.js (${Buffer.byteLength(code)} bytes, ${gz} gzip -9)`);
}
