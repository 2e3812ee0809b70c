/**
 * What a test needs from the machine (chromium, PostgreSQL). On a laptop a missing piece skips the test;
 * in CI (CI=true) it fails it, so a green CI run always means the real parts were exercised.
 */
import { existsSync } from 'node:fs'
import net from 'node:net'
import type { TestContext } from 'node:test'

export const CHROMIUM_PATH = '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
]
export const POSTGRES_URL =
  process.env['MCP_OAUTH_TEST_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/test'
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

export async function postgresAvailable(): Promise<boolean> {
  const url = new URL(POSTGRES_URL)
  return await new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port || 5432) })
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
