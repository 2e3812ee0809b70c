/**
 * `mcp-oauth serve --proxy` in front of an SDK v1 server speaking only the 2024-11-05 HTTP+SSE transport (found
 * by serve's probe): clients speak Streamable HTTP to the gateway, each session maps to one upstream event
 * stream. The SDK v2 client and `mcp-oauth connect` sign in through serve's pages in chromium, list, call, get
 * a notification and a 1 MiB result intact, and step up; the upstream never sees an Authorization header.
 */
import assert from 'node:assert/strict'
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import type { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { type Browser, chromium } from 'playwright-core'
import { connectWithSignIn, withSignIn } from '../../src/server/testing/sdk-client.test-helper.ts'
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, need } from '../support/environment.ts'
import {
  BrowserSdkProvider,
  connectParams,
  GATEWAY_USER,
  type GatewayServe,
  lineRpc,
  signInsFrom,
  signInThroughPages,
  startGatewayServe,
} from '../support/gateway.ts'
import { longText, startSseUpstream, type Upstream } from '../support/gateway-upstreams.ts'
import { freePort } from './authorization-server-helpers.ts'

const proxyBin = join(
  dirname(createRequire(import.meta.url).resolve('mcp-remote/package.json')),
  'dist/proxy.js',
)
let upstream: Upstream
let gateway: GatewayServe
let browser: Browser | undefined
const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-gateway-sse-'))

before(async () => {
  upstream = await startSseUpstream()
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

describe('serve --proxy, HTTP+SSE-only upstream', () => {
  it('detects the transport and says so', () => {
    assert.match(
      gateway.stderr(),
      /mcp-oauth serve: gateway http:\/\/127\.0\.0\.1:\d+\/mcp → http:\/\/127\.0\.0\.1:\d+\/sse \(sse\)\n/,
    )
  })

  it('SDK v2 client: signs in, lists, calls, gets a notification and 1 MiB intact, steps up', async (t) => {
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
          requestInit: { headers: { 'X-MCP-OAuth-Subject': 'forged' } },
        }),
    )
    const { tools } = await client.listTools()
    assert.deepEqual(tools.map((x) => x.name).sort(), ['admin_op', 'echo', 'notify_long', 'whoami'])
    assert.equal(
      textOf(await client.callTool({ name: 'echo', arguments: { value: 'hi' } })),
      '{"value":"hi"}',
    )
    const who = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })))
    assert.equal(who.authorization, false)
    assert.equal(who.subject, GATEWAY_USER.username)
    assert.ok(who.scopes.split(' ').includes('mcp'))
    assert.equal(who.client, provider.clientInformation()?.client_id)
    assert.ok(
      textOf(await client.callTool({ name: 'notify_long', arguments: {} })) === longText(),
      '1 MiB intact',
    )
    assert.deepEqual(logs, [{ level: 'info', logger: 'notify_long', data: 'about to send 1 MiB' }])
    const admin = await withSignIn(provider, transport, () =>
      client.callTool({ name: 'admin_op', arguments: {} }),
    )
    assert.equal(textOf(admin), 'admin ok')
    assert.equal(provider.authorizations, 2, 'one sign-in and one step-up')
    await client.close()
  })

  it('mcp-oauth connect: signs in, lists, calls, steps up', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const transport = new StdioClientTransport(connectParams(gateway.mcp, dir))
    const person = signInsFrom(transport.stderr as Readable, browser!)
    const client = new Client({ name: 'host', version: '1.0.0' })
    try {
      await client.connect(transport)
      const { tools } = await client.listTools()
      assert.deepEqual(tools.map((x) => x.name).sort(), ['admin_op', 'echo', 'notify_long', 'whoami'])
      assert.equal(
        textOf(await client.callTool({ name: 'echo', arguments: { value: 'c' } })),
        '{"value":"c"}',
      )
      assert.equal(textOf(await client.callTool({ name: 'notify_long', arguments: {} })), longText())
      assert.equal(textOf(await client.callTool({ name: 'admin_op', arguments: {} })), 'admin ok')
      assert.equal(person.count, 2, 'a sign-in and a step-up')
    } finally {
      await person.settled()
      await client.close()
    }
  })

  it('mcp-remote 0.15.1: signs in through the browser, lists, calls, steps up', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    // mcp-remote opens the system browser with `open`; a no-op xdg-open keeps it from escaping the test.
    const bin = join(dir, 'bin')
    mkdirSync(bin, { recursive: true })
    writeFileSync(join(bin, 'xdg-open'), '#!/bin/sh\nexit 0\n')
    chmodSync(join(bin, 'xdg-open'), 0o755)
    const callbackPort = await freePort()
    const child = spawn(process.execPath, [proxyBin, gateway.mcp, String(callbackPort), '--allow-http'], {
      env: {
        ...process.env,
        MCP_REMOTE_CONFIG_DIR: join(dir, 'mcp-remote'),
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
        flows.push(signInThroughPages(browser!, m[1]!, `http://localhost:${callbackPort}/`))
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
      client.notify('notifications/initialized')
      const listed = await client.request('tools/list')
      const tools = (listed['result'] as { tools: { name: string }[] }).tools.map((x) => x.name).sort()
      assert.deepEqual(tools, ['admin_op', 'echo', 'notify_long', 'whoami'])
      const who = await client.request('tools/call', { name: 'whoami', arguments: {} })
      const seen = JSON.parse(textOf(who['result']))
      assert.equal(seen.subject, GATEWAY_USER.username)
      assert.equal(seen.authorization, false)
      assert.equal(seenUrls.size, 1, stderr)
      const admin = await client.request('tools/call', { name: 'admin_op', arguments: {} })
      assert.equal(textOf(admin['result']), 'admin ok')
      assert.equal(seenUrls.size, 2, 'a second authorization for the step-up')
    } finally {
      child.kill('SIGTERM')
      await Promise.allSettled(flows)
    }
  })

  it('the upstream never saw an Authorization header, and every message carried the identity', () => {
    const [probe, ...forwarded] = upstream.seen
    assert.equal(probe?.method, 'GET')
    assert.ok(forwarded.some((s) => s.path === '/messages'))
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
