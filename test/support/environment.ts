/**
 * What a test needs from the machine (chromium, PostgreSQL). On a laptop a missing piece skips the test;
 * in CI (CI=true) it fails it, so a green CI run always means the real parts were exercised.
 */
import { execFileSync } from 'node:child_process'
import { accessSync, constants, existsSync, readFileSync, realpathSync } from 'node:fs'
import net from 'node:net'
import { delimiter, join } from 'node:path'
import type { TestContext } from 'node:test'
import type { Browser } from 'playwright-core'
import { findChromium } from '../../scripts/consent-page.ts'

// The browser the demo would find on PATH, else Debian's package: every test launches the one this names, so
// chromiumAvailable() and the launch can never disagree.
export const CHROMIUM_PATH = findChromium() ?? '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
]
export const POSTGRES_URL =
  process.env['MCP_OAUTH_TEST_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env['MCP_OAUTH_TEST_REDIS'] ?? 'redis://127.0.0.1:6379'
export const inCI = process.env['CI'] === 'true' || process.env['CI'] === '1'

/** Skip (laptop) or fail (CI) when `available` is false. Returns whether the test may go on. */
export function need(t: TestContext, what: string, available: boolean): boolean {
  if (available) return true
  if (inCI) throw new Error(`${what} is required in CI but is not available on this machine`)
  t.skip(`${what} is not available on this machine`)
  return false
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH)
}

/** Chromium with the house flags, or undefined on a machine without it (the test then calls {@link need}). */
export async function chromiumIfAvailable(): Promise<Browser | undefined> {
  if (!chromiumAvailable()) return undefined
  const { chromium } = await import('playwright-core')
  return await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
}

export async function redisAvailable(): Promise<boolean> {
  return await reachable(REDIS_URL, 6379)
}

export async function postgresAvailable(): Promise<boolean> {
  return await reachable(POSTGRES_URL, 5432)
}

async function reachable(address: string, defaultPort: number): Promise<boolean> {
  const url = new URL(address)
  return await new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port || defaultPort) })
    socket.setTimeout(1000)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

/** package.json's `engines.node` (e.g. `>=22.18`). */
export const ENGINES_NODE = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    engines: { node: string }
  }
).engines.node

/**
 * A `node` on PATH, other than the one running the tests, older than `engines.node` (CI's system Node 20): its
 * path and version (without the `v`).
 */
export function olderNodeOnPath(): { path: string; version: string } | undefined {
  const [needMajor, needMinor] = /(\d+)\.(\d+)/.exec(ENGINES_NODE)!.slice(1).map(Number) as [number, number]
  const self = realpathSync(process.execPath)
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue
    const path = join(dir, process.platform === 'win32' ? 'node.exe' : 'node')
    try {
      accessSync(path, constants.X_OK)
      if (realpathSync(path) === self) continue
      const version = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 20_000 }).trim()
      const m = /^v(\d+)\.(\d+)\.\d+$/.exec(version)
      if (!m) continue
      const [major, minor] = [Number(m[1]), Number(m[2])]
      if (major < needMajor || (major === needMajor && minor < needMinor))
        return { path, version: version.slice(1) }
    } catch {}
  }
  return undefined
}
