#!/usr/bin/env node
// Builds the chat page into web/dist: `node web/build.mjs` (or `buildWeb()` from a script).
// - assets/main-HASH.js (+ lazy chunks, KaTeX among them) and assets/main-HASH.css, bundled by esbuild;
// - assets/theme-HASH.js, a tiny blocking script that applies the saved theme before first paint;
// - assets/katex-HASH.css and its woff2 fonts (only loaded when a message contains math);
// - index.html pointing at those files under /app/assets/ (no inline script or style, for a strict CSP);
// - NAME.gz (gzip -9) beside every text file, and manifest.json with sizes and the critical path.
// Works offline: everything comes from node_modules.
import { createRequire } from 'node:module';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync, constants as zlib } from 'node:zlib';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const PUBLIC = '/app/assets/';
const GOAL_KB = 120;

const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain',
  '.woff2': 'font/woff2',
};
const TEXT = new Set(['.html', '.js', '.css', '.json', '.svg', '.txt']);

/** KaTeX's stylesheet with woff2 only (every browser that runs this page reads woff2), fonts hashed. */
async function buildKatexCss(assets) {
  const dist = join(dirname(require.resolve('katex/package.json')), 'dist');
  const css = (await readFile(join(dist, 'katex.min.css'), 'utf8')).replace(
    /,\s*url\([^)]*\.(?:woff|ttf)\)\s*format\("(?:woff|truetype)"\)/g,
    '',
  );
  const result = await esbuild.build({
    stdin: { contents: css, loader: 'css', resolveDir: dist, sourcefile: 'katex.css' },
    bundle: true,
    minify: true,
    outdir: assets,
    entryNames: 'katex-[hash]',
    assetNames: 'fonts/[name]-[hash]',
    loader: { '.woff2': 'file' },
    metafile: true,
    logLevel: 'silent',
  });
  return outputName(result, assets, '.css');
}

/** The output of an esbuild result with this extension (not a font), as a name under assets/. */
function outputName(result, assets, ext) {
  const out = Object.keys(result.metafile.outputs).find((p) => p.endsWith(ext) && !/[\\/]fonts[\\/]/.test(p));
  return relative(assets, resolve(out)).split(sep).join('/');
}

/** The files the first paint needs: the entry, its CSS and every chunk it imports statically. */
function criticalOf(metafile, entryOut) {
  const seen = new Set();
  const visit = (out) => {
    if (seen.has(out)) return;
    seen.add(out);
    const meta = metafile.outputs[out];
    if (meta.cssBundle) seen.add(meta.cssBundle);
    for (const imp of meta.imports) if (imp.kind === 'import-statement' && !imp.external) visit(imp.path);
  };
  visit(entryOut);
  return [...seen];
}

function indexHtml({ css, js, theme, icon, preload }) {
  const a = (name) => PUBLIC + name;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>tetra chat</title>
<link rel="icon" href="${a(icon)}" type="image/svg+xml">
<script src="${a(theme)}"></script>
<link rel="stylesheet" href="${a(css)}">
${preload.map((p) => `<link rel="modulepreload" href="${a(p)}">\n`).join('')}<script type="module" src="${a(js)}"></script>
</head>
<body>
<div id="app"><div class="boot-shell"><span class="brand-mark" aria-hidden="true">t</span>tetra</div></div>
<noscript><p class="noscript">tetra chat needs JavaScript.</p></noscript>
</body>
</html>
`;
}

async function walk(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

/**
 * Builds the page. Returns the manifest plus `criticalGzipBytes` and `ms`.
 * @param {{outDir?: string, quiet?: boolean}} [options]
 */
export async function buildWeb({ outDir = join(here, 'dist'), quiet = false } = {}) {
  const t0 = performance.now();
  outDir = resolve(outDir);
  const assets = join(outDir, 'assets');
  // Only ever replace a previous build (or an empty folder), never some other folder by mistake.
  const previous = await readdir(outDir).catch(() => []);
  if (previous.length && !previous.includes('manifest.json'))
    throw new Error(`${outDir} is not empty and holds no manifest.json: not a web build to replace.`);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(assets, { recursive: true });

  const katexCss = await buildKatexCss(assets);

  const theme = await esbuild.build({
    entryPoints: [join(here, 'src/theme.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    outdir: assets,
    entryNames: '[name]-[hash]',
    metafile: true,
    logLevel: 'silent',
  });

  const main = await esbuild.build({
    entryPoints: [join(here, 'src/main.tsx')],
    bundle: true,
    splitting: true,
    format: 'esm',
    minify: true,
    target: ['es2022', 'chrome111', 'firefox115', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: assets,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    legalComments: 'linked',
    define: { __KATEX_CSS__: JSON.stringify(PUBLIC + katexCss), 'process.env.NODE_ENV': '"production"' },
    metafile: true,
    logLevel: 'silent',
  });

  const iconSrc = await readFile(join(here, 'icon.svg'));
  const icon = `icon-${createHash('sha256').update(iconSrc).digest('hex').slice(0, 8)}.svg`;
  await writeFile(join(assets, icon), iconSrc);

  const rel = (p) => relative(assets, resolve(p)).split(sep).join('/');
  const entryOut = Object.keys(main.metafile.outputs).find((p) => main.metafile.outputs[p].entryPoint);
  const critical = criticalOf(main.metafile, entryOut).map(rel);
  const js = rel(entryOut);
  const css = rel(main.metafile.outputs[entryOut].cssBundle);
  const themeJs = outputName(theme, assets, '.js');
  const preload = critical.filter((n) => n.endsWith('.js') && n !== js);
  await writeFile(join(outDir, 'index.html'), indexHtml({ css, js, theme: themeJs, icon, preload }));

  const files = {};
  for (const path of await walk(outDir)) {
    const ext = extname(path);
    const name = relative(outDir, path).split(sep).join('/');
    const body = await readFile(path);
    let gzipBytes = null;
    if (TEXT.has(ext)) {
      const gz = gzipSync(body, { level: zlib.Z_BEST_COMPRESSION });
      await writeFile(`${path}.gz`, gz);
      gzipBytes = gz.length;
    }
    files[name] = { bytes: (await stat(path)).size, gzipBytes, type: TYPES[ext] ?? 'application/octet-stream' };
  }
  const criticalNames = [
    'index.html',
    `assets/${themeJs}`,
    `assets/${css}`,
    ...critical.filter((n) => n !== css).map((n) => `assets/${n}`),
  ];
  const manifest = { index: 'index.html', critical: criticalNames, files };
  await writeFile(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  const sum = (names, key) => names.reduce((s, n) => s + (files[n][key] ?? files[n].bytes), 0);
  const criticalGzipBytes = sum(criticalNames, 'gzipBytes');
  const ms = Math.round(performance.now() - t0);
  if (!quiet) {
    const kb = (b) => (b / 1024).toFixed(1);
    const names = Object.keys(files);
    const over = criticalGzipBytes > GOAL_KB * 1024 ? ' OVER GOAL' : '';
    console.log(
      `web: critical path ${kb(criticalGzipBytes)} kB gzip (${criticalNames.length} files; goal <= ${GOAL_KB} kB${over}), ` +
        `all ${names.length} files ${kb(sum(names, 'gzipBytes'))} kB gzip, built in ${ms} ms -> ${relative(process.cwd(), outDir) || '.'}`,
    );
  }
  return { ...manifest, criticalGzipBytes, ms };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  buildWeb().catch((err) => {
    console.error(err?.errors?.length ? esbuild.formatMessagesSync(err.errors, { kind: 'error' }).join('\n') : err);
    process.exit(1);
  });
}
