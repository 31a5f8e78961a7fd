// check-bundle-size fails the build when the JavaScript a browser must
// download before the console can render (the entry script and everything
// index.html preloads) exceeds the budget, gzipped. Lazy views do not count.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const budgetBytes = 500 * 1000;
const dist = join(import.meta.dirname, '..', 'dist');
const html = readFileSync(join(dist, 'index.html'), 'utf8');

const initial = new Set();
for (const m of html.matchAll(/<script[^>]*\ssrc="([^"]+\.js)"/g)) initial.add(m[1]);
for (const m of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+\.js)"/g))
  initial.add(m[1]);
if (initial.size === 0) {
  console.error('check-bundle-size: index.html references no JavaScript; is dist/ a real build?');
  process.exit(1);
}

let total = 0;
for (const src of initial) {
  const gz = gzipSync(readFileSync(join(dist, src.replace(/^\//, '')))).length;
  total += gz;
  console.log(`${(gz / 1000).toFixed(1).padStart(8)} kB  ${src}`);
}
const verdict = total <= budgetBytes ? 'within' : 'OVER';
console.log(
  `initial JS: ${(total / 1000).toFixed(1)} kB gzipped, ${verdict} the ${budgetBytes / 1000} kB budget`,
);
if (total > budgetBytes) {
  console.error(
    'Split large views or editors into lazy chunks (React.lazy) to get back under budget.',
  );
  process.exit(1);
}
