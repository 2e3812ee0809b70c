/**
 * The package as npm ships it: `npm pack` (whose prepack script builds dist/) on a copy of this checkout, and the
 * tarball installed into an empty project with `npm ci --offline`. The project's lockfile pins the tarball plus
 * this repository's locked production dependencies, so npm takes every tarball from its cache by integrity and
 * never reaches a registry (plain `npm install <tarball> --offline` would need registry metadata npm ci does not
 * cache).
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))

/** Environment for npm and npx children: this Node first on PATH, no network, no notices. */
export function npmEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`,
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    ...extra,
  }
}

/** What {@link packAndInstall} made, all under `dir`. */
export interface PackedPackage {
  tarball: string
  /** The host's project: package.json depending on the tarball, node_modules installed from it. */
  project: string
}

/** Pack this checkout and install the tarball into a new project under `dir`. */
export async function packAndInstall(dir: string): Promise<PackedPackage> {
  const staging = join(dir, 'staging')
  const skip = new Set(['node_modules', '.git', 'dist', '.tmp', 'results', 'coverage'])
  for (const entry of readdirSync(root)) {
    if (!skip.has(entry)) cpSync(join(root, entry), join(staging, entry), { recursive: true })
  }
  // prepack's `tsc` comes from the repository's node_modules, as in the checkout.
  symlinkSync(join(root, 'node_modules'), join(staging, 'node_modules'))
  const out = join(dir, 'tarballs')
  mkdirSync(out)
  await run('npm', ['pack', '--pack-destination', out], { cwd: staging, env: npmEnv(), maxBuffer: 1 << 24 })
  const name = readdirSync(out).find((f) => f.endsWith('.tgz'))
  if (!name) throw new Error('npm pack wrote no tarball')
  const tarball = join(out, name)

  const project = join(dir, 'host-project')
  mkdirSync(project)
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name: string
    version: string
    dependencies: Record<string, string>
    bin: Record<string, string>
    engines: Record<string, string>
    license: string
  }
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; link?: boolean }>
  }
  const spec = `file:${tarball}`
  const packages: Record<string, unknown> = {
    '': { name: 'host-project', dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  }
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path && !entry.dev && !entry.link) packages[path] = entry
  }
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'host-project', private: true, dependencies: { [pkg.name]: spec } }),
  )
  writeFileSync(
    join(project, 'package-lock.json'),
    JSON.stringify({ name: 'host-project', lockfileVersion: 3, requires: true, packages }),
  )
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: project, env: npmEnv() })
  return { tarball, project }
}
