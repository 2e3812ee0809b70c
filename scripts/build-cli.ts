/**
 * `npm run build:cli`: bundles the `mcp-oauth` command (src/cli/main.ts) for the published bin into
 * dist/cli-bundle/ with esbuild: the modules a command needs at start-up become one file, and what a command
 * loads on demand (other commands, sign-in, the legacy transport) becomes chunks loaded on first use. Hosts
 * start one `connect` per remote server on every launch; resolving, reading and linking ~50 modules was most of
 * the start-up the bridge itself adds (bench/proxy). Dependencies stay packages of their own (installed beside
 * the bin): none is on the bridge's start-up path, and native or file-relative ones (@napi-rs/keyring, open) must.
 * The folder sits two levels below the package root, like dist/cli/, so `import.meta.url`-relative paths
 * (../../schema) resolve the same from either.
 * @see https://esbuild.github.io/api/#splitting
 */
import { rmSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

/** Bundle the CLI into `outdir`; returns the size in bytes of the entry file and of all files. */
export async function buildCli(outdir: string): Promise<{ entry: number; total: number }> {
  rmSync(outdir, { recursive: true, force: true })
  const result = await build({
    entryPoints: { main: fileURLToPath(new URL('../src/cli/main.ts', import.meta.url)) },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22.18',
    packages: 'external',
    outdir,
    chunkNames: 'chunk-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'silent',
  })
  const outputs = Object.values(result.metafile.outputs)
  return {
    entry: outputs.find((o) => o.entryPoint)?.bytes ?? 0,
    total: outputs.reduce((sum, o) => sum + o.bytes, 0),
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = process.argv[2] ?? fileURLToPath(new URL('../dist/cli-bundle', import.meta.url))
  const { entry, total } = await buildCli(out)
  process.stderr.write(
    `build:cli: ${out} (entry ${Math.round(entry / 1024)} KiB, ${Math.round(total / 1024)} KiB in all)\n`,
  )
}
