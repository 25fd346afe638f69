// Bundles each test/*.test.ts, with the sources it imports, into .test-build/ as an ES module
// that node's test runner can load (Node 20 does not run TypeScript).
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const clientDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(clientDir, '.test-build');
const tests = readdirSync(join(clientDir, 'test')).filter((name) => name.endsWith('.test.ts'));

rmSync(outDir, { recursive: true, force: true });
await build({
  absWorkingDir: clientDir,
  entryPoints: tests.map((name) => join('test', name)),
  outdir: outDir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'inline',
  logLevel: 'warning',
});
