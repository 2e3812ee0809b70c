/**
 * What the `mcp-oauth connect` end-to-end tests share: one chromium per file (the person at the browser) and
 * the way a stdio host spawns the bridge (its own file store, a display so the browser path is taken).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium } from 'playwright-core'
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable } from './environment.ts'

const BIN = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))

/** Register this file's browser and temp-dir lifecycle; returns the browser getter and the spawn parameters. */
export function useBridgeHost() {
  let browser: Browser | undefined
  const dirs: string[] = []
  before(async () => {
    if (chromiumAvailable())
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
  })
  after(async () => {
    await browser?.close()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })
  return {
    browser: () => browser!,
    /** Stdio server parameters for `mcp-oauth connect url`; pass `dir` to share one store between bridges. */
    connectParams(url: string, dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-connect-'))) {
      dirs.push(dir)
      return connectParams(url, dir)
    },
  }
}

/** Stdio server parameters for `mcp-oauth connect url` with its own file store in `dir` (a display, so it opens the browser path). */
export function connectParams(url: string, dir: string) {
  return {
    command: process.execPath,
    args: [
      BIN,
      'connect',
      url,
      '--store',
      'file',
      '--store-dir',
      dir,
      ...(process.env['DEBUG_CONNECT'] ? ['--verbose'] : []),
    ],
    env: { ...(process.env as Record<string, string>), DISPLAY: ':99', XDG_CONFIG_HOME: dir },
    stderr: 'pipe' as const,
  }
}
