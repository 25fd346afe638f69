// Builds the committed client files into the Python package's static folder:
//   client.js   classic script (IIFE, ES2017, minified) setting the globals
//   client.mjs  ES module
//   client.d.ts types of the ES module, in one file
//   client.d.mts the same types, where TypeScript looks for those of an import of client.mjs
// Same sources, same output, byte for byte: CI rebuilds and compares with what is committed.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { generateDtsBundle } from 'dts-bundle-generator';

const clientDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(clientDir, '..', 'src', 'tornado_websockets', 'static', 'tornado_websockets');
const GZIP_BUDGET = 8 * 1024;

const { version } = JSON.parse(readFileSync(join(clientDir, 'package.json'), 'utf8'));
const banner =
  `/*! django-tornado-websockets client ${version} | MIT License | ` +
  'generated from client/src by `npm run build`: edit the sources, not this file */';

const common = {
  absWorkingDir: clientDir,
  bundle: true,
  target: 'es2017',
  legalComments: 'none',
  banner: { js: banner },
  logLevel: 'warning',
  write: false,
};

function writeOutput(name, text) {
  const path = join(outDir, name);
  writeFileSync(path, text.endsWith('\n') ? text : text + '\n');
  return readFileSync(path);
}

async function bundle(options) {
  const result = await build({ ...common, ...options });
  return result.outputFiles[0].text;
}

mkdirSync(outDir, { recursive: true });

const classic = await bundle({ entryPoints: ['src/classic.ts'], format: 'iife', minify: true, outfile: 'client.js' });
const classicBytes = writeOutput('client.js', classic);

const module = await bundle({ entryPoints: ['src/index.ts'], format: 'esm', outfile: 'client.mjs' });
writeOutput('client.mjs', module);

const [types] = generateDtsBundle(
  [{ filePath: join(clientDir, 'src', 'index.ts'), output: { noBanner: true, exportReferencedTypes: false } }],
  { preferredConfigPath: join(clientDir, 'tsconfig.json') },
);
writeOutput('client.d.ts', banner + '\n\n' + types);
writeOutput('client.d.mts', banner + '\n\n' + types);

const gzipped = gzipSync(classicBytes, { level: 9 }).length;
console.log(`client.js: ${classicBytes.length} bytes, ${gzipped} bytes gzipped (budget ${GZIP_BUDGET})`);
if (gzipped > GZIP_BUDGET) {
  console.error(`client.js is over its budget of ${GZIP_BUDGET} bytes gzipped.`);
  process.exit(1);
}
