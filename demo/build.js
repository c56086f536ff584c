// `npm run demo`: bundles demo/main.ts with esbuild into demo/dist/ (gitignored), with index.html and the tfjs wasm files.
// `npm run demo -- --screenshot` then writes docs/images/demo.png (demo/screenshot.ts).
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const DIST = path.join(__dirname, 'dist');
const WASM_DIR = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));

async function main() {
  fs.rmSync(DIST, { recursive: true, force: true });
  fs.mkdirSync(path.join(DIST, 'wasm'), { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'main.ts')], outfile: path.join(DIST, 'main.js'), bundle: true, minify: true,
    platform: 'browser', format: 'esm', target: 'es2022', define: { 'process.env.NODE_ENV': '"production"' }, logLevel: 'warning',
  });
  fs.copyFileSync(path.join(__dirname, 'index.html'), path.join(DIST, 'index.html'));
  for (const f of fs.readdirSync(WASM_DIR).filter((n) => n.endsWith('.wasm'))) fs.copyFileSync(path.join(WASM_DIR, f), path.join(DIST, 'wasm', f));
  const kb = (fs.statSync(path.join(DIST, 'main.js')).size / 1024).toFixed(0);
  console.log(`demo/dist: main.js ${kb} KiB, index.html, wasm/`);
  if (process.argv.includes('--screenshot')) {
    const script = path.join(__dirname, '..', '.build-dev', 'demo-screenshot.cjs');
    await esbuild.build({
      entryPoints: [path.join(__dirname, 'screenshot.ts')], outfile: script, bundle: true, platform: 'node',
      format: 'cjs', target: 'node20', external: ['playwright-core'], logLevel: 'warning',
    });
    require(script);
  }
}

main().catch((e) => {
  console.error(`demo/build.js: ${e.message}`);
  process.exit(1);
});
