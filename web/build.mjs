// Builds the inspector page and GraphiQL into one directory that CMake embeds into the walcast
// binary: index.html plus inspector-<hash>.js (the page and the @supabase/realtime-js browser
// bundle) and inspector-<hash>.css; graphiql.html plus graphiql-<hash>.js (the graphiql IDE,
// React and the graphql-ws client) and graphiql-<hash>.css; and manifest.txt listing them. Content-hashed names let the server
// mark them immutable. Usage: node build.mjs [--outdir DIR] (default: dist).
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const outIndex = args.indexOf('--outdir')
const outdir = path.resolve(outIndex >= 0 && args[outIndex + 1] ? args[outIndex + 1] : path.join(here, 'dist'))

let esbuild
try {
  esbuild = await import('esbuild')
} catch (e) {
  console.error(
    'web/build.mjs: esbuild is not installed (web/node_modules is missing or stale).\n' +
      'Fix: run ./scripts/install-deps.sh from the repository root (it runs `npm ci` in web/),\n' +
      'or configure with -DWALCAST_INSPECTOR=OFF to build without the inspector page.'
  )
  process.exit(1)
}

await rm(outdir, { recursive: true, force: true })
await mkdir(outdir, { recursive: true })

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: ['src/inspector.js', 'src/inspector.css', 'src/graphiql.js', 'src/graphiql.css'],
  entryNames: '[name]-[hash]',
  outdir,
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
})

// Map each entry point to its hashed output name.
const outputs = {}
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint) outputs[path.basename(meta.entryPoint)] = path.basename(file)
}
for (const name of ['inspector.js', 'inspector.css', 'graphiql.js', 'graphiql.css']) {
  if (!outputs[name]) throw new Error(`esbuild produced no output for src/${name}`)
}

// Each page references its own bundles by their unhashed names.
const pages = { 'index.html': ['inspector.js', 'inspector.css'], 'graphiql.html': ['graphiql.js', 'graphiql.css'] }
for (const [page, names] of Object.entries(pages)) {
  let html = await readFile(path.join(here, 'src', page), 'utf8')
  for (const name of names) {
    const before = html
    html = html.replace(`"${name}"`, `"${outputs[name]}"`)
    if (html === before) throw new Error(`src/${page} does not reference "${name}"`)
  }
  await writeFile(path.join(outdir, page), html)
}

const files = [...Object.keys(pages), ...Object.values(outputs).sort()]
await writeFile(path.join(outdir, 'manifest.txt'), files.join('\n') + '\n')
console.log(`web: built ${files.join(', ')} into ${outdir}`)
