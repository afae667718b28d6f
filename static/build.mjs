// Builds consent/web/static/banner.js (served as /banner.js; static/banner.js links to it) from
// static/src/banner.{js,css}: the CSS is minified and inlined as a string (the banner adopts it as
// a constructed stylesheet, or a <style nonce> as fallback), then terser minifies the whole. Same
// inputs + same terser version (pinned in package-lock) give the same bytes, so CI can run
// `node static/build.mjs --check` to catch a stale committed build.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { minify } from 'terser';
import { emit, terserOptions } from './lib/emit.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const OUT = here('../consent/web/static/banner.js');

// Enough CSS minification for our own, known stylesheet: comments, whitespace around punctuation.
// A space *before* ':' is kept, since it can be a descendant combinator (`.a :focus`).
function minifyCss(css) {
  return css
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\s+/g, ' ')
    .replace(/\s*([{};,>])\s*/g, '$1')
    .replace(/:\s+/g, ':')
    .replace(/;}/g, '}')
    .trim();
}

export async function build() {
  const [js, css] = await Promise.all([readFile(here('./src/banner.js'), 'utf8'), readFile(here('./src/banner.css'), 'utf8')]);
  const marker = "/*CSS*/ ''";
  if (!js.includes(marker)) throw new Error(`static/src/banner.js lost its ${marker} marker`);
  const source = js.replace(marker, () => JSON.stringify(minifyCss(css)));
  const out = await minify(source, terserOptions(false));
  return out.code + '\n';
}

await emit([[OUT, await build()]], 'build.mjs');
