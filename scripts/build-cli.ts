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
import { readFileSync, rmSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build, type Plugin } from 'esbuild'

/**
 * An ES import of a built-in module builds its namespace from every export, getters included, and Node's lazy
 * getters load whole subsystems (`node:fs` pulls in fs/promises and readline, `node:http` undici and http2);
 * under the bridge's lean V8 flags, which Node's embedded code cache does not match, each compiles from source.
 * `process.getBuiltinModule` returns the module object and runs no getter, so each file of the bundle reads its
 * built-ins that way and gets exactly the names it imports: the eleven built-ins of `connect`'s start load in
 * 53.9 ms instead of 66.8 (hyperfine, lean flags, bare script).
 * @see https://nodejs.org/api/process.html#processgetbuiltinmoduleid
 */
const root = fileURLToPath(new URL('..', import.meta.url))

const builtinsWithoutGetters: Plugin = {
  name: 'builtins-without-getters',
  setup(b) {
    // One module per importing file (esbuild loads a path once), each with the names that file imports.
    b.onResolve({ filter: /^node:/ }, (args) =>
      // A dynamic import's namespace is read by name later: it stays a plain import.
      args.kind === 'dynamic-import'
        ? { path: args.path, external: true }
        : {
            path: `${args.path} from ${relative(root, args.importer)}`,
            namespace: 'builtin',
            pluginData: { specifier: args.path, importer: args.importer },
          },
    )
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => {
      const { specifier, importer } = args.pluginData as { specifier: string; importer: string }
      const names = importedNames(readFileSync(importer, 'utf8'), specifier)
      return {
        contents: [
          `const m = process.getBuiltinModule(${JSON.stringify(specifier)})`,
          'export default m',
          ...[...names].map((name) => `export const ${name} = m.${name}`),
        ].join('\n'),
        loader: 'js',
      }
    })
  },
}

/**
 * The names a source file imports from the built-in `specifier` by name (type-only ones aside; `default` is the
 * module itself). Anything this cannot map name for name (a namespace import, a re-export) fails the build
 * rather than a bundle that would only fail when run.
 */
export function importedNames(source: string, specifier: string): Set<string> {
  const names = new Set<string>()
  const quoted = `['"]${specifier.replaceAll('/', '\\/')}['"]`
  if (new RegExp(`export\\s[^;'"]*?from\\s*${quoted}`).test(source)) {
    throw new Error(`build:cli: re-exporting from '${specifier}' is not supported; import, then export`)
  }
  // A clause holds names, braces, commas and spaces only: it cannot run on into the previous import's quotes.
  const from = new RegExp(`import\\s+(?!type\\s)([\\w$\\s,{}*]*?)\\s*from\\s*${quoted}`, 'g')
  for (const [, clause] of source.matchAll(from)) {
    if (clause!.includes('*')) throw new Error(`build:cli: import * from '${specifier}' is not supported`)
    const braces = /\{([^}]*)\}/.exec(clause!)?.[1] ?? ''
    for (const part of braces.split(',')) {
      const name = part
        .trim()
        .split(/\s+as\s+/)[0]!
        .trim()
      if (name && name !== 'default' && !name.startsWith('type ')) names.add(name)
    }
  }
  return names
}

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
    plugins: [builtinsWithoutGetters],
  })
  // A warning here (an export esbuild could not find, say) is a bundle that fails when run: stop instead.
  if (result.warnings.length) {
    throw new Error(
      `build:cli: ${result.warnings.map((w) => `${w.location?.file ?? ''} ${w.text}`).join('; ')}`,
    )
  }
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
