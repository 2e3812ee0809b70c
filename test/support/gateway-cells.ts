/**
 * The client cells of the gateway acceptance matrix (issue 13), shared by the `serve --proxy` end-to-end files:
 * one gateway in front of one upstream from gateway-upstreams.ts per file, and one function per client (SDK v2,
 * SDK v1, mcp-remote 0.15.1, `mcp-oauth connect`, a browser page) that signs in through serve's pages in real
 * chromium, lists and calls tools, receives notify_long's notification and its 1 MiB result intact, and steps
 * up for admin_op. Each cell asserts the whole row, so a transport cannot pass with a client half-tested.
 */
import assert from 'node:assert/strict'
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import type { Readable } from 'node:stream'
import { after, before, type TestContext } from 'node:test'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { type Browser, chromium } from 'playwright-core'
import { freePort } from '../e2e/authorization-server-helpers.ts'
import { connectParams } from './bridge-host.ts'
import { BrowserOAuthProvider, connectWithSignIn, withSignIn } from './browser-oauth-provider.ts'
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, need } from './environment.ts'
import { GATEWAY_USER, type GatewayServe, lineRpc, signInThroughPages, startGatewayServe } from './gateway.ts'
import { longText, type Upstream } from './gateway-upstreams.ts'
import { personAtBrowser } from './sign-in.ts'

/** What every cell works against: the upstream, the gateway in front of it, the person's browser, a temp dir. */
export interface GatewayRig {
  upstream: Upstream
  gateway: GatewayServe
  browser: Browser
  dir: string
}

const TOOLS = ['admin_op', 'echo', 'notify_long', 'whoami']
const NOTICE = { level: 'info', logger: 'notify_long', data: 'about to send 1 MiB' }
const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]!.text
const proxyBin = join(
  dirname(createRequire(import.meta.url).resolve('mcp-remote/package.json')),
  'dist/proxy.js',
)

/** Register this file's rig: the upstream `start` makes, `serve --proxy` in front of it, chromium, a temp dir. */
export function useProxyGateway(start: () => Promise<Upstream>): () => GatewayRig {
  const rig = { dir: mkdtempSync(join(tmpdir(), 'mcp-oauth-gateway-')) } as GatewayRig
  before(async () => {
    rig.upstream = await start()
    rig.gateway = await startGatewayServe(rig.upstream.url)
    if (chromiumAvailable())
      rig.browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
  })
  after(async () => {
    await rig.browser?.close()
    await rig.gateway?.close()
    await rig.upstream?.close()
    rmSync(rig.dir, { recursive: true, force: true })
  })
  return () => rig
}

/** The 1 MiB result arrived byte for byte (a length check first, so a failure does not print a megabyte). */
function assertLong(text: string): void {
  assert.equal(text.length, longText().length)
  assert.ok(text === longText(), 'the 1 MiB result arrived byte for byte')
}

/** The SDK v2 client (2026-07-28 first): a client-sent identity header is dropped, never forwarded. */
export async function sdkV2Cell(t: TestContext, rig: GatewayRig): Promise<void> {
  if (!need(t, 'chromium', chromiumAvailable())) return
  const provider = new BrowserOAuthProvider(rig.browser, GATEWAY_USER, 'v2')
  const client = new Client({ name: 'sdk-v2', version: '1.0.0' })
  const logs: unknown[] = []
  client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params))
  const forged = { 'X-MCP-OAuth-Subject': 'forged', 'x-mcp-oauth-scopes': 'admin' }
  const transport = await connectWithSignIn(
    provider,
    client as never,
    () =>
      new StreamableHTTPClientTransport(new URL(rig.gateway.mcp), {
        authProvider: provider as never,
        requestInit: { headers: forged },
      }),
  )
  try {
    assert.equal(provider.authorizations, 1)
    assert.deepEqual((await client.listTools()).tools.map((x) => x.name).sort(), TOOLS)
    const echoed = await client.callTool({ name: 'echo', arguments: { value: 'hi' } })
    assert.equal(textOf(echoed), '{"value":"hi"}')
    const who = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })))
    assert.equal(who.authorization, false)
    assert.equal(who.subject, GATEWAY_USER.username)
    assert.ok(who.scopes.split(' ').includes('mcp'), who.scopes)
    assert.ok(!who.scopes.split(' ').includes('admin'), 'the forged scopes header was dropped')
    assert.equal(who.client, provider.clientId)
    assertLong(textOf(await client.callTool({ name: 'notify_long', arguments: {} })))
    assert.deepEqual(logs, [NOTICE])
    const admin = await withSignIn(provider, transport, () =>
      client.callTool({ name: 'admin_op', arguments: {} }),
    )
    assert.equal(textOf(admin), 'admin ok')
    assert.equal(provider.authorizations, 2, 'one step-up')
    assert.ok(provider.requestedScopes[1]!.split(' ').includes('admin'), provider.requestedScopes[1])
  } finally {
    await client.close()
  }
}

/**
 * The SDK v1 client (`@modelcontextprotocol/sdk` 1.x, 2025 era). Its provider keeps no refresh token: v1
 * answers a 403 insufficient_scope with a refresh, which cannot widen the grant (docs/gateway.md, "SDK v1
 * clients and step-up").
 */
export async function sdkV1Cell(t: TestContext, rig: GatewayRig): Promise<void> {
  if (!need(t, 'chromium', chromiumAvailable())) return
  const provider = new BrowserOAuthProvider(rig.browser, GATEWAY_USER, 'v1', {
    keepRefreshToken: false,
  })
  const client = new V1Client({ name: 'sdk-v1', version: '1.0.0' })
  const logs: unknown[] = []
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params))
  const transport = await connectWithSignIn(
    provider,
    client as never,
    () => new V1Transport(new URL(rig.gateway.mcp), { authProvider: provider as never }),
  )
  try {
    assert.equal(provider.authorizations, 1)
    assert.deepEqual((await client.listTools()).tools.map((x) => x.name).sort(), TOOLS)
    const echoed = await client.callTool({ name: 'echo', arguments: { value: 'v1' } })
    assert.equal(textOf(echoed), '{"value":"v1"}')
    const who = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })))
    assert.equal(who.subject, GATEWAY_USER.username)
    assert.equal(who.authorization, false)
    assert.equal(who.client, provider.clientId)
    assertLong(textOf(await client.callTool({ name: 'notify_long', arguments: {} })))
    assert.deepEqual(logs, [NOTICE])
    const admin = await withSignIn(provider, transport, () =>
      client.callTool({ name: 'admin_op', arguments: {} }),
    )
    assert.equal(textOf(admin), 'admin ok')
    assert.equal(provider.authorizations, 2, 'a sign-in and a step-up')
    assert.ok(provider.requestedScopes[1]!.split(' ').includes('admin'), provider.requestedScopes[1])
  } finally {
    await client.close()
  }
}

/** `mcp-oauth connect` under a stdio host (the SDK v2 client), signing in where it prints the URL. */
export async function connectCell(t: TestContext, rig: GatewayRig): Promise<void> {
  if (!need(t, 'chromium', chromiumAvailable())) return
  const transport = new StdioClientTransport(connectParams(rig.gateway.mcp, rig.dir))
  const person = personAtBrowser(transport.stderr as Readable, rig.browser, GATEWAY_USER)
  const client = new Client({ name: 'host', version: '1.0.0' })
  const logs: unknown[] = []
  client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params))
  try {
    await client.connect(transport)
    assert.equal(person.signIns, 1, person.stderr)
    // A 2026-07-28 server logs only at the level a request carries; the bridge carries the one a 2025 host set.
    await client.setLoggingLevel('info')
    assert.deepEqual((await client.listTools()).tools.map((x) => x.name).sort(), TOOLS)
    const echoed = await client.callTool({ name: 'echo', arguments: { value: 'c' } })
    assert.equal(textOf(echoed), '{"value":"c"}')
    const who = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })))
    assert.equal(who.subject, GATEWAY_USER.username)
    assert.equal(who.authorization, false)
    assertLong(textOf(await client.callTool({ name: 'notify_long', arguments: {} })))
    assert.deepEqual(logs, [NOTICE])
    assert.equal(textOf(await client.callTool({ name: 'admin_op', arguments: {} })), 'admin ok')
    assert.equal(person.signIns, 2, 'one more sign-in for the step-up')
  } finally {
    person.stop()
    await client.close()
  }
}

/** mcp-remote 0.15.1 as a host spawns it, driven over its stdio with JSON-RPC lines. */
export async function mcpRemoteCell(t: TestContext, rig: GatewayRig): Promise<void> {
  if (!need(t, 'chromium', chromiumAvailable())) return
  // mcp-remote opens the system browser with `open`; a no-op xdg-open keeps it from escaping the test.
  const bin = join(rig.dir, 'bin')
  mkdirSync(bin, { recursive: true })
  writeFileSync(join(bin, 'xdg-open'), '#!/bin/sh\nexit 0\n')
  chmodSync(join(bin, 'xdg-open'), 0o755)
  const callbackPort = await freePort()
  const child = spawn(process.execPath, [proxyBin, rig.gateway.mcp, String(callbackPort), '--allow-http'], {
    env: {
      ...process.env,
      MCP_REMOTE_CONFIG_DIR: mkdtempSync(join(rig.dir, 'mcp-remote-')),
      PATH: `${bin}${delimiter}${process.env['PATH'] ?? ''}`,
      BROWSER: join(bin, 'xdg-open'),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  }) as ChildProcessWithoutNullStreams
  let stderr = ''
  const seenUrls = new Set<string>()
  const flows: Promise<unknown>[] = []
  child.stderr.on('data', (chunk) => {
    stderr += chunk
    for (const m of stderr.matchAll(/Please authorize this client by visiting:\s*(\S+)/g)) {
      if (seenUrls.has(m[1]!)) continue
      seenUrls.add(m[1]!)
      flows.push(signInThroughPages(rig.browser, m[1]!, `http://localhost:${callbackPort}/`))
    }
  })
  try {
    const client = lineRpc(child)
    const init = await client.request('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'mcp-remote-e2e', version: '1.0.0' },
    })
    assert.ok(init['result'], JSON.stringify(init))
    assert.equal(seenUrls.size, 1, stderr)
    client.notify('notifications/initialized')
    const listed = await client.request('tools/list')
    const tools = (listed['result'] as { tools: { name: string }[] }).tools.map((x) => x.name).sort()
    assert.deepEqual(tools, TOOLS)
    const echoed = await client.request('tools/call', { name: 'echo', arguments: { value: 'r' } })
    assert.equal(textOf(echoed['result']), '{"value":"r"}')
    const who = JSON.parse(
      textOf((await client.request('tools/call', { name: 'whoami', arguments: {} }))['result']),
    )
    assert.equal(who.subject, GATEWAY_USER.username)
    assert.equal(who.authorization, false)
    const long = await client.request('tools/call', { name: 'notify_long', arguments: {} })
    assertLong(textOf(long['result']))
    assert.deepEqual(
      client.notifications.filter((n) => n['method'] === 'notifications/message').map((n) => n['params']),
      [NOTICE],
    )
    const admin = await client.request('tools/call', { name: 'admin_op', arguments: {} })
    assert.equal(textOf(admin['result']), 'admin ok', JSON.stringify(admin).slice(0, 500))
    assert.equal(seenUrls.size, 2, 'a second authorization for the step-up')
  } finally {
    child.kill('SIGTERM')
    await Promise.allSettled(flows)
  }
}

/** What the browser page reported: its steps in order (a step-up re-runs them), or the error it stopped on. */
export interface PageResult {
  steps: Map<string, unknown>
  error?: string
}

/**
 * Serve gateway-browser-client.html from another origin and let it run against `mcp` in chromium, completing
 * serve's login and consent pages whenever it leaves for them; `tools` names the notifying and the long tool.
 */
export async function runBrowserPage(
  browser: Browser,
  mcp: string,
  user: { username: string; password: string },
  tools: { notify?: string; long?: string } = {},
): Promise<PageResult> {
  const html = readFileSync(new URL('./gateway-browser-client.html', import.meta.url))
  const site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html))
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r))
  const pageUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/client.html`
  const context = await browser.newContext()
  const page = await context.newPage()
  try {
    const query = new URLSearchParams({ mcp, ...tools })
    await page.goto(`${pageUrl}?${query}`)
    for (let step = 0; step < 10 && (await page.title().catch(() => '')) !== 'done'; step++) {
      await page.waitForLoadState('load')
      if (page.url().startsWith(pageUrl)) {
        await page.waitForURL((u) => !u.href.startsWith(pageUrl), { timeout: 5000 }).catch(() => {})
      } else if ((await page.locator('input[name=username]').count()) > 0) {
        await page.fill('input[name=username]', user.username)
        await page.fill('input[name=password]', user.password)
        await page.click('button[type=submit]')
      } else if ((await page.locator('button', { hasText: 'Allow' }).count()) > 0) {
        await page.click('button:has-text("Allow")')
      }
      await page.waitForLoadState('load').catch(() => {})
    }
    const result = (await page.evaluate('window.__result')) as {
      steps?: [string, unknown][]
      error?: string
    } | null
    assert.ok(result, `the page never finished: ${page.url().split('?')[0]}`)
    return { steps: new Map(result.steps ?? []), ...(result.error ? { error: result.error } : {}) }
  } finally {
    await context.close()
    site.closeAllConnections()
    site.close()
  }
}

/** A browser page (fetch only, another origin): resource_metadata, DCR, PKCE, calls, a notification, step-up. */
export async function browserPageCell(t: TestContext, rig: GatewayRig): Promise<void> {
  if (!need(t, 'chromium', chromiumAvailable())) return
  const { steps, error } = await runBrowserPage(rig.browser, rig.gateway.mcp, GATEWAY_USER, {
    notify: 'notify_long',
    long: 'notify_long',
  })
  assert.equal(error, undefined)
  assert.deepEqual(steps.get('tools/list'), TOOLS)
  const who = steps.get('whoami') as { subject: string; authorization: boolean }
  assert.equal(who.subject, GATEWAY_USER.username)
  assert.equal(who.authorization, false)
  assert.deepEqual(steps.get('notify'), [{ jsonrpc: '2.0', method: 'notifications/message', params: NOTICE }])
  const long = steps.get('long') as { length: number; sha256: string }
  assert.equal(long.length, longText().length)
  assert.equal(long.sha256, createHash('sha256').update(longText()).digest('hex'), '1 MiB intact')
  assert.equal(steps.get('step-up'), 'mcp admin')
  assert.equal(steps.get('admin_op'), 'admin ok')
}

/** After the cells: nothing the upstream received carried the client's credentials or another identity. */
export function assertUpstreamSawNoCredentials(rig: GatewayRig): void {
  // The first request is serve's transport probe at start (a GET, no identity); every other one is a client's.
  const [probe, ...forwarded] = rig.upstream.seen
  assert.equal(probe?.method, 'GET')
  assert.ok(forwarded.length > 0)
  assert.deepEqual(
    rig.upstream.seen.filter((s) => s.authorization || s.cookie),
    [],
  )
  assert.deepEqual(
    forwarded.filter((s) => s.subject !== GATEWAY_USER.username),
    [],
  )
}
