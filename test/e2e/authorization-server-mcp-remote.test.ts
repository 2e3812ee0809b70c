/**
 * mcp-remote 0.15.1 (the stdio proxy many MCP hosts run) signs in against a spawned `mcp-oauth serve`: its
 * authorization URL (printed on stderr) is opened in Debian chromium driven by Playwright, the person signs in
 * and allows, then the proxy answers tools/list over stdio.
 */
import assert from 'node:assert/strict'
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { after, before, test } from 'node:test'
import { chromium } from 'playwright-core'
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, need } from '../support/environment.ts'
import { lineRpc } from '../support/gateway.ts'
import { freePort, type ServeProcess, spawnServe } from './authorization-server-helpers.ts'

const require = createRequire(import.meta.url)
const proxyBin = join(dirname(require.resolve('mcp-remote/package.json')), 'dist/proxy.js')
const user = { username: 'alice', password: 'correct horse battery' }

let serve: ServeProcess
const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-mcp-remote-'))
before(async () => {
  serve = await spawnServe([
    '--port',
    '0',
    '--store',
    'memory',
    '--quiet',
    '--user',
    `${user.username}:${user.password}`,
  ])
})
after(async () => {
  await serve.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('mcp-remote signs in through a real browser, then lists tools', async (t) => {
  if (!need(t, 'chromium', chromiumAvailable())) return
  // mcp-remote opens the system browser with `open`; a no-op xdg-open keeps it from escaping the test.
  const bin = join(dir, 'bin')
  const fake = join(bin, 'xdg-open')
  mkdirSync(bin)
  writeFileSync(fake, '#!/bin/sh\nexit 0\n')
  chmodSync(fake, 0o755)
  const callbackPort = await freePort()
  const child = spawn(process.execPath, [proxyBin, serve.ready.mcp, String(callbackPort), '--allow-http'], {
    env: {
      ...process.env,
      MCP_REMOTE_CONFIG_DIR: join(dir, 'config'),
      PATH: `${bin}${delimiter}${process.env['PATH'] ?? ''}`,
      BROWSER: fake,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  }) as ChildProcessWithoutNullStreams
  let stderr = ''
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
  try {
    const authorizeUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no authorization URL from mcp-remote: ${stderr}`)),
        30_000,
      )
      child.stderr.on('data', (chunk) => {
        stderr += chunk
        const match = /Please authorize this client by visiting:\s*(\S+)/.exec(stderr)
        if (match) {
          clearTimeout(timer)
          resolve(match[1]!)
        }
      })
      child.once('exit', (code) => reject(new Error(`mcp-remote exited with ${code}: ${stderr}`)))
    })
    assert.ok(authorizeUrl.startsWith(`${serve.ready.issuer}/auth?`), authorizeUrl)
    const page = await browser.newPage()
    await page.goto(authorizeUrl)
    await page.fill('#username', user.username)
    await page.fill('#password', user.password)
    await page.click('button[type=submit]')
    await page.waitForSelector('text=Allow access?')
    await page.click('button:has-text("Allow")')
    await page.waitForURL(`http://localhost:${callbackPort}/**`)
    void page.close().catch(() => {})

    const client = lineRpc(child)
    const init = await client.request('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'mcp-remote-e2e', version: '1.0.0' },
    })
    assert.ok(init['result'], JSON.stringify(init))
    client.notify('notifications/initialized')
    const listed = await client.request('tools/list')
    const tools = (listed['result'] as { tools: { name: string }[] }).tools.map((tool) => tool.name).sort()
    assert.deepEqual(tools, ['admin_report', 'create_note', 'server_time', 'whoami'])
  } finally {
    await browser.close()
    child.kill('SIGTERM')
  }
})
