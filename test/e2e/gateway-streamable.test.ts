/**
 * `mcp-oauth serve --proxy` in front of an SDK v2 Streamable HTTP server with no authorization of its own:
 * the SDK v2 client (2026-07-28), the SDK v1 client (2025), mcp-remote 0.15.1, `mcp-oauth connect`, a browser
 * page, and `mcp-oauth doctor` sign in through serve's pages in chromium, list and call tools and step up; the
 * upstream sees identity headers and never an Authorization header.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { UnauthorizedError as V1Unauthorized } from '@modelcontextprotocol/sdk/client/auth.js'
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { type Browser, chromium } from 'playwright-core'
import { runDoctorCommand } from '../../src/cli/commands/doctor.ts'
import { type Report, renderReport } from '../../src/cli/doctor/report.ts'
import { chooseAuthorizer } from '../../src/client/interaction/choose.ts'
import { connectWithSignIn, withSignIn } from '../../src/server/testing/sdk-client.test-helper.ts'
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, need } from '../support/environment.ts'
import {
  BrowserSdkProvider,
  BrowserV1Provider,
  connectParams,
  GATEWAY_USER,
  type GatewayServe,
  signInsFrom,
  signInThroughPages,
  startGatewayServe,
} from '../support/gateway.ts'
import { longText, startStreamableUpstream, type Upstream } from '../support/gateway-upstreams.ts'

let upstream: Upstream
let gateway: GatewayServe
let browser: Browser | undefined
const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-gateway-'))

before(async () => {
  upstream = await startStreamableUpstream()
  gateway = await startGatewayServe(upstream.url)
  if (chromiumAvailable())
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
})
after(async () => {
  await browser?.close()
  await gateway?.close()
  await upstream?.close()
  rmSync(dir, { recursive: true, force: true })
})

const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]!.text

describe('serve --proxy, Streamable HTTP upstream', () => {
  it('prints what it protects and how', () => {
    const err = gateway.stderr()
    assert.match(
      err,
      /mcp-oauth serve: gateway http:\/\/127\.0\.0\.1:\d+\/mcp → http:\/\/127\.0\.0\.1:\d+\/mcp \(streamable-http\)\n/,
    )
    assert.match(err, /mcp-oauth serve: scopes mcp on every request/)
    assert.match(err, /mcp-oauth serve: tool admin_op also needs admin \(step-up\)/)
    assert.match(err, /mcp-oauth serve: provider: authorization server http:\/\/127\.0\.0\.1:\d+\n/)
  })

  it('SDK v2 client: signs in, lists, calls, gets a notification and 1 MiB intact, steps up; forged identity dropped', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const provider = new BrowserSdkProvider(browser!)
    const client = new Client({ name: 'sdk-v2', version: '1.0.0' })
    const logs: unknown[] = []
    client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params))
    const transport = await connectWithSignIn(
      provider,
      client,
      () =>
        new StreamableHTTPClientTransport(new URL(gateway.mcp), {
          authProvider: provider,
          requestInit: { headers: { 'X-MCP-OAuth-Subject': 'forged', 'x-mcp-oauth-scopes': 'admin' } },
        }),
    )
    assert.equal(provider.authorizations, 1)
    const { tools } = await client.listTools()
    assert.deepEqual(tools.map((x) => x.name).sort(), ['admin_op', 'echo', 'notify_long', 'whoami'])
    assert.equal(
      textOf(await client.callTool({ name: 'echo', arguments: { value: 'hi' } })),
      '{"value":"hi"}',
    )
    const who = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })))
    assert.equal(who.authorization, false)
    assert.equal(who.subject, GATEWAY_USER.username)
    assert.deepEqual(
      who.scopes.split(' ').sort(),
      ['mcp', 'offline_access'].filter((s) => who.scopes.includes(s)).sort(),
    )
    assert.ok(who.scopes.split(' ').includes('mcp'))
    assert.ok(!who.scopes.split(' ').includes('admin'), 'the forged scopes header was dropped')
    assert.equal(who.client, provider.clientInformation()?.client_id)

    const long = textOf(await client.callTool({ name: 'notify_long', arguments: {} }))
    assert.equal(long.length, longText().length)
    assert.ok(long === longText(), 'the 1 MiB result arrived byte for byte')
    assert.deepEqual(logs, [{ level: 'info', logger: 'notify_long', data: 'about to send 1 MiB' }])

    const admin = await withSignIn(provider, transport, () =>
      client.callTool({ name: 'admin_op', arguments: {} }),
    )
    assert.equal(textOf(admin), 'admin ok')
    assert.equal(provider.authorizations, 2, 'one step-up')
    assert.ok(provider.requestedScopes[1]!.split(' ').includes('admin'))
    await client.close()
  })

  it('SDK v1 client (2025): signs in, lists, calls, steps up', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const provider = new BrowserV1Provider(browser!)
    const client = new V1Client({ name: 'sdk-v1', version: '1.0.0' })
    const make = () => new V1Transport(new URL(gateway.mcp), { authProvider: provider })
    let transport = make()
    try {
      await client.connect(transport)
    } catch (e) {
      assert.ok(e instanceof V1Unauthorized, String(e))
      await transport.finishAuth(provider.callback!.searchParams.get('code')!)
      transport = make()
      await client.connect(transport)
    }
    const { tools } = await client.listTools()
    assert.deepEqual(tools.map((x) => x.name).sort(), ['admin_op', 'echo', 'notify_long', 'whoami'])
    const who = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })))
    assert.equal(who.subject, GATEWAY_USER.username)
    assert.equal(who.authorization, false)
    let admin: unknown
    try {
      admin = await client.callTool({ name: 'admin_op', arguments: {} })
    } catch (e) {
      assert.ok(e instanceof V1Unauthorized, String(e))
      await transport.finishAuth(provider.callback!.searchParams.get('code')!)
      admin = await client.callTool({ name: 'admin_op', arguments: {} })
    }
    assert.equal(textOf(admin), 'admin ok')
    assert.equal(provider.authorizations, 2, 'a sign-in and a step-up')
    await client.close()
  })

  it('mcp-oauth connect: signs in, lists, calls, steps up', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const transport = new StdioClientTransport(connectParams(gateway.mcp, dir))
    const person = signInsFrom(transport.stderr as Readable, browser!)
    const client = new Client({ name: 'host', version: '1.0.0' })
    try {
      await client.connect(transport)
      assert.equal(person.count, 1, person.stderr)
      const { tools } = await client.listTools()
      assert.deepEqual(tools.map((x) => x.name).sort(), ['admin_op', 'echo', 'notify_long', 'whoami'])
      const who = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })))
      assert.equal(who.subject, GATEWAY_USER.username)
      assert.equal(who.authorization, false)
      assert.equal(textOf(await client.callTool({ name: 'notify_long', arguments: {} })), longText())
      assert.equal(textOf(await client.callTool({ name: 'admin_op', arguments: {} })), 'admin ok')
      assert.equal(person.count, 2, 'one more sign-in for the step-up')
    } finally {
      await person.settled()
      await client.close()
    }
  })

  it('mcp-oauth doctor --login against the gateway is green with every check', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const flows: Promise<unknown>[] = []
    const authorizer = chooseAuthorizer({
      mode: 'browser',
      promptWindowMs: 0,
      output: new PassThrough(),
      openUrl: (url) => {
        flows.push(signInThroughPages(browser!, url.href, (u) => new URL(u).pathname === '/callback'))
      },
    })
    let out = ''
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => {} } }
    let code: number
    try {
      code = await runDoctorCommand([gateway.mcp, '--login', '--call-tool', 'admin_op', '--json'], io, {
        authorizer,
      })
    } finally {
      await Promise.allSettled(flows)
      await authorizer.close()
    }
    const report = JSON.parse(out) as Report
    assert.deepEqual(
      report.checks.filter((c) => c.status === 'fail' || c.status === 'warn'),
      [],
      renderReport(report),
    )
    assert.equal(code, 0)
    for (const id of [
      'challenge.status',
      'prm.resource',
      'token.accepted',
      'stepup.challenge',
      'stepup.retry',
    ])
      assert.equal(report.checks.find((c) => c.id === id)?.status, 'pass', id)
  })

  it('a browser page (fetch only, another origin): follows resource_metadata, registers, signs in, calls, steps up', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const html = readFileSync(new URL('../support/gateway-browser-client.html', import.meta.url))
    const site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html))
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r))
    const pageUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/client.html`
    const context = await browser!.newContext()
    const page = await context.newPage()
    try {
      await page.goto(`${pageUrl}?mcp=${encodeURIComponent(gateway.mcp)}`)
      for (let step = 0; step < 10 && (await page.title().catch(() => '')) !== 'done'; step++) {
        await page.waitForLoadState('load')
        if (page.url().startsWith(pageUrl)) {
          await page.waitForURL((u) => !u.href.startsWith(pageUrl), { timeout: 5000 }).catch(() => {})
        } else if ((await page.locator('input[name=username]').count()) > 0) {
          await page.fill('input[name=username]', GATEWAY_USER.username)
          await page.fill('input[name=password]', GATEWAY_USER.password)
          await page.click('button[type=submit]')
        } else if ((await page.locator('button', { hasText: 'Allow' }).count()) > 0) {
          await page.click('button:has-text("Allow")')
        }
        await page.waitForLoadState('load').catch(() => {})
      }
      const result = (await page.evaluate('window.__result')) as {
        steps?: [string, unknown][]
        error?: string
      }
      assert.equal(result.error, undefined)
      const steps = new Map(result.steps!.map(([k, v]) => [k, v]))
      assert.deepEqual(steps.get('tools/list'), ['admin_op', 'echo', 'notify_long', 'whoami'])
      const who = steps.get('whoami') as { subject: string; authorization: boolean }
      assert.equal(who.subject, GATEWAY_USER.username)
      assert.equal(who.authorization, false)
      assert.equal(steps.get('step-up'), 'mcp admin')
      assert.equal(steps.get('admin_op'), 'admin ok')
    } finally {
      await context.close()
      site.closeAllConnections()
      site.close()
    }
  })

  it('the upstream never saw an Authorization header or a forged identity', () => {
    // The first request is serve's transport probe at start (a GET, no identity); every other one is a client's.
    const [probe, ...forwarded] = upstream.seen
    assert.equal(probe?.method, 'GET')
    assert.ok(forwarded.length > 0)
    assert.deepEqual(
      upstream.seen.filter((s) => s.authorization || s.cookie),
      [],
    )
    assert.deepEqual(
      forwarded.filter((s) => s.subject !== GATEWAY_USER.username),
      [],
    )
  })
})
