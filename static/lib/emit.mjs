// Shared by the static/build*.mjs scripts: write a built asset, or with --check compare it with
// what is committed and exit 1 when it is stale, so CI catches a source edited without a rebuild.
import { readFile, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// Built files live in the Python packages that serve them; messages name them from the repository.
const REPO = fileURLToPath(new URL('../..', import.meta.url));

export const terserOptions = (asciiOnly) => ({
  ecma: 2020,
  compress: { passes: 2 },
  mangle: true,
  format: { comments: /^!/, ascii_only: asciiOnly }
});

export async function emit(outputs, script) {
  const check = process.argv.includes('--check');
  let stale = false;
  for (const [path, code] of outputs) {
    const name = relative(REPO, path);
    if (check) {
      let current = '';
      try { current = await readFile(path, 'utf8'); } catch { /* missing counts as stale */ }
      if (current !== code) {
        console.error(`${name} is stale: run \`node static/${script}\` and commit the result.`);
        stale = true;
      }
    } else {
      await writeFile(path, code);
      const gz = gzipSync(code, { level: 9 }).length;
      console.log(`wrote ${name} (${Buffer.byteLength(code)} bytes, ${gz} gzip -9)`);
    }
  }
  if (stale) process.exit(1);
  if (check) console.log(`static/${script}: outputs are up to date.`);
}
