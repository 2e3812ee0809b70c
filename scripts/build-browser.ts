/**
 * `npm run build:browser`: bundles the client engine for browser pages (src/client/browser.ts) into one ES module,
 * dist/browser/client.js, with esbuild for the browser platform, so a `node:` import anywhere on its path fails the
 * build instead of failing in a page.
 * @see https://esbuild.github.io/api/#platform
 */
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

/** Bundle the browser entry into `outfile`; returns its size in bytes. */
export async function buildBrowser(outfile: string): Promise<number> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../src/client/browser.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile,
    sourcemap: true,
    metafile: true,
    legalComments: 'linked',
    logLevel: 'silent',
  })
  return Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv[2] ?? fileURLToPath(new URL('../dist/browser/client.js', import.meta.url))
  const bytes = await buildBrowser(out)
  process.stderr.write(`build:browser: ${out} (${Math.round(bytes / 1024)} KiB)\n`)
}
