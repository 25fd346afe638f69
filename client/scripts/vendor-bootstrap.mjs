// Copies Bootstrap's CSS (the devDependency's exact version) into the example site's static
// files, license header included. The source map is not vendored, so its reference goes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const clientDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(clientDir, 'node_modules', 'bootstrap', 'dist', 'css', 'bootstrap.min.css');
const targetDir = join(clientDir, '..', 'example', 'demo', 'static', 'demo');

const css = readFileSync(source, 'utf8').replace(/\n?\/\*# sourceMappingURL=[^*]*\*\/\s*$/, '\n');
if (!css.includes('Licensed under MIT')) {
  throw new Error('bootstrap.min.css no longer starts with its license header: check the new version.');
}
mkdirSync(targetDir, { recursive: true });
writeFileSync(join(targetDir, 'bootstrap.min.css'), css);
console.log('example/demo/static/demo/bootstrap.min.css: ' + css.length + ' bytes');
