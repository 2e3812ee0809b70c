/**
 * `mcp-oauth serve --stdio -- node stdio-server.ts`: the gateway in front of an SDK v1 stdio server (one child
 * shared by every client). The SDK v2 client, the SDK v1 client, mcp-remote 0.15.1, `mcp-oauth connect` and a
 * browser page each sign in through real chromium, list and call tools, step up for a per-tool scope, and
 * receive a server notification and a 5 MB result intact (the SDK clients progress too); the child sees who
 * called in `_meta`.
 */
import assert from 'node:assert/strict'
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { useBridgeHost } from '../support/bridge-host.ts'
import { BrowserOAuthProvider, connectWithSignIn, withSignIn } from '../support/browser-oauth-provider.ts'
import { chromiumAvailable, need } from '../support/environment.ts'
import { lineRpc } from '../support/gateway.ts'
import { runBrowserPage } from '../support/gateway-cells.ts'
import { personAtBrowser } from '../support/sign-in.ts'
import { freePort, type ServeProcess, spawnServe } from './authorization-server-helpers.ts'

const FIXTURE = fileURLToPath(new URL('../support/stdio-server.ts', import.meta.url))
const BIG_SIZE = 5 * 1024 * 1024
const USER = { username: 'alice', password: randomBytes(12).toString('base64url') }
const TOOLS = ['admin_op', 'announce', 'big', 'echo', 'env', 'junk', 'roots', 'slow', 'whoami']
const require = createRequire(import.meta.url)
const proxyBin = join(dirname(require.resolve('mcp-remote/package.json')), 'dist/proxy.js')

const host = useBridgeHost()
let serve: ServeProcess
const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-gateway-stdio-'))
before(async () => {
  serve = await spawnServe([
    '--port',
    '0',
    '--store',
    'memory',
    '--quiet',
    '--user',
    `${USER.username}:${USER.password}`,
    '--stdio',
    '--scopes',
    'mcp',
    '--tool-scope',
    'admin_op=admin',
    '--',
    process.execPath,
    FIXTURE,
  ])
})
after(async () => {
  await serve.stop()
  rmSync(dir, { recursive: true, force: true })
})

type Result = { content?: { text: string }[] }
const text = (r: unknown) => (r as Result).content?.[0]?.text ?? ''

test('the banner names the stdio upstream and the child stderr reaches the gateway log', async () => {
  while (!serve.stderr().includes('[upstream] stdio-server ready'))
    await new Promise((r) => setTimeout(r, 20))
  assert.match(serve.stderr(), /gateway http:\/\/127\.0\.0\.1:\d+\/mcp → stdio /)
  assert.match(serve.stderr(), /tool admin_op also needs admin \(step-up\)/)
})

// One after the other (run at once they starve a loaded 2-core machine into timeouts); every session shares
// the one child, whose sessions of earlier clients stay open.
describe('clients', () => {
  test('SDK v2 client: signs in, lists, calls, gets progress and a notification, 5 MB, steps up', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const provider = new BrowserOAuthProvider(host.browser(), USER, 'v2')
    const client = new Client({ name: 'v2', version: '1.0.0' })
    let announced!: () => void
    const notified = new Promise<void>((r) => (announced = r))
    client.setNotificationHandler('notifications/message', (n) => {
      if (n.params.data === 'announced') announced()
    })
    const transport = await connectWithSignIn(
      provider,
      client,
      () => new StreamableHTTPClientTransport(new URL(serve.ready.mcp), { authProvider: provider as never }),
    )
    try {
      assert.equal(provider.authorizations, 1)
      assert.deepEqual((await client.listTools()).tools.map((x) => x.name).sort(), TOOLS)
      const who = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })))
      assert.equal(who.identity.client_id, provider.clientId)
      assert.ok(who.identity.subject, 'a subject')
      assert.ok(who.identity.scopes.includes('mcp'), who.identity.scopes)
      const progress: number[] = []
      const slow = await client.callTool(
        { name: 'slow', arguments: { steps: 3, tag: 'v2' } },
        { onprogress: (p) => void progress.push(p.progress) },
      )
      assert.equal(text(slow), 'v2 done')
      assert.deepEqual(progress, [1, 2, 3])
      assert.equal(text(await client.callTool({ name: 'announce', arguments: {} })), 'announced')
      await notified
      assert.equal(text(await client.callTool({ name: 'big', arguments: {} })).length, BIG_SIZE)
      const admin = await withSignIn(provider, transport, () =>
        client.callTool({ name: 'admin_op', arguments: {} }),
      )
      assert.equal(text(admin), 'admin ok')
      assert.equal(provider.authorizations, 2, 'one step-up')
      assert.ok(provider.requestedScopes[1]?.split(' ').includes('admin'), provider.requestedScopes[1])
    } finally {
      await client.close()
    }
  })

  test('SDK v1 client: signs in, lists, calls, gets progress and a notification, 5 MB, steps up', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    // SDK v1 (1.32.2) answers a 403 insufficient_scope by refreshing when it holds a refresh token (same scope,
    // so the retry fails "after trying upscoping"); a host that keeps no refresh token re-authorizes instead
    // (docs/gateway.md, "SDK v1 clients and step-up"; test/e2e/server-sdk-v1-step-up.test.ts).
    const provider = new BrowserOAuthProvider(host.browser(), USER, 'v1', { keepRefreshToken: false })
    const client = new V1Client({ name: 'v1', version: '1.0.0' })
    let announced!: () => void
    const notified = new Promise<void>((r) => (announced = r))
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      if (n.params.data === 'announced') announced()
    })
    const transport = await connectWithSignIn(
      provider,
      client as never,
      () => new V1Transport(new URL(serve.ready.mcp), { authProvider: provider as never }),
    )
    try {
      assert.deepEqual((await client.listTools()).tools.map((x) => x.name).sort(), TOOLS)
      const who = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })))
      assert.equal(who.identity.client_id, provider.clientId)
      const progress: number[] = []
      const slow = await client.callTool({ name: 'slow', arguments: { steps: 3, tag: 'v1' } }, undefined, {
        onprogress: (p) => void progress.push(p.progress),
      })
      assert.equal(text(slow), 'v1 done')
      assert.deepEqual(progress, [1, 2, 3])
      assert.equal(text(await client.callTool({ name: 'announce', arguments: {} })), 'announced')
      await notified
      assert.equal(text(await client.callTool({ name: 'big', arguments: {} })).length, BIG_SIZE)
      const admin = await withSignIn(provider, transport, () =>
        client.callTool({ name: 'admin_op', arguments: {} }),
      )
      assert.equal(text(admin), 'admin ok')
      assert.equal(provider.authorizations, 2, 'one step-up')
    } finally {
      await client.close()
    }
  })

  test('mcp-oauth connect: signs in, lists, calls, progress, a notification, 5 MB, steps up', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const transport = new StdioClientTransport(host.connectParams(serve.ready.mcp))
    const person = personAtBrowser(transport.stderr as never, host.browser(), USER)
    const client = new Client({ name: 'connect-host', version: '1.0.0' })
    let announced!: () => void
    const notified = new Promise<void>((r) => (announced = r))
    client.setNotificationHandler('notifications/message', (n) => {
      if (n.params.data === 'announced') announced()
    })
    try {
      await client.connect(transport)
      assert.equal(person.signIns, 1, person.stderr)
      assert.deepEqual((await client.listTools()).tools.map((x) => x.name).sort(), TOOLS)
      const who = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })))
      assert.ok(who.identity.scopes.includes('mcp'))
      const progress: number[] = []
      await client.callTool(
        { name: 'slow', arguments: { steps: 3, tag: 'c' } },
        { onprogress: (p) => void progress.push(p.progress) },
      )
      // The gateway and the bridge deliver all three before the answer (traced); the host's SDK v2 client drops
      // progress that arrives in the same stdout read as the answer (it settles the answer at once and handles the
      // notifications a tick later, when their handler is gone: typescript-sdk#2580, fix pending upstream). So this
      // asserts that what reaches the host is in order and this call's own, never anything else.
      // @see https://github.com/modelcontextprotocol/typescript-sdk/issues/2580
      assert.deepEqual(
        progress,
        [1, 2, 3].filter((n) => progress.includes(n)),
      )
      assert.equal(text(await client.callTool({ name: 'announce', arguments: {} })), 'announced')
      await notified
      assert.equal(text(await client.callTool({ name: 'big', arguments: {} })).length, BIG_SIZE)
      assert.equal(text(await client.callTool({ name: 'admin_op', arguments: {} })), 'admin ok')
      assert.equal(person.signIns, 2, 'one more sign-in for the step-up')
    } finally {
      person.stop()
      await client.close()
    }
  })

  test('a browser page (fetch only, another origin): resource_metadata, DCR, sign-in, a session, a call, step-up', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const { steps, error } = await runBrowserPage(host.browser(), serve.ready.mcp, USER, {
      notify: 'announce',
      long: 'big',
    })
    assert.equal(error, undefined)
    assert.deepEqual(steps.get('tools/list'), TOOLS)
    const who = steps.get('whoami') as { identity: { subject: string; scopes: string[] } }
    assert.equal(who.identity.subject, USER.username)
    const notified = steps.get('notify') as { method: string; params: { data?: string } }[]
    assert.ok(
      notified.some((n) => n.method === 'notifications/message' && n.params.data === 'announced'),
      JSON.stringify(notified),
    )
    const big = steps.get('long') as { length: number; sha256: string }
    assert.equal(big.length, BIG_SIZE)
    assert.equal(big.sha256, createHash('sha256').update('x'.repeat(BIG_SIZE)).digest('hex'), '5 MB intact')
    assert.equal(steps.get('step-up'), 'mcp admin')
    assert.equal(steps.get('admin_op'), 'admin ok')
  })

  test('mcp-remote 0.15.1: signs in through the browser, lists, calls, progress, 5 MB, steps up', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    // mcp-remote opens the system browser with `open`; a no-op xdg-open keeps it from escaping the test.
    const bin = join(dir, 'bin')
    const fake = join(bin, 'xdg-open')
    mkdirSync(bin, { recursive: true })
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
    const person = personAtBrowser(
      // mcp-remote words its prompt differently from mcp-oauth; the person looks for mcp-oauth's line.
      child.stderr.pipe(
        new (await import('node:stream')).Transform({
          transform(chunk, _e, done) {
            done(
              null,
              String(chunk).replace(
                /Please authorize this client by visiting:\s*/g,
                'open this URL in a browser:\n  ',
              ),
            )
          },
        }),
      ),
      host.browser(),
      USER,
    )
    try {
      const client = lineRpc(child)
      const init = await client.request('initialize', {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'mcp-remote-e2e', version: '1.0.0' },
      })
      assert.ok(init['result'], JSON.stringify(init))
      assert.equal(person.signIns, 1, person.stderr)
      client.notify('notifications/initialized')
      const listed = await client.request('tools/list')
      const tools = (listed['result'] as { tools: { name: string }[] }).tools.map((x) => x.name).sort()
      assert.deepEqual(tools, TOOLS)
      const who = await client.request('tools/call', { name: 'whoami', arguments: {} })
      assert.ok(JSON.parse(text(who['result'])).identity.scopes.includes('mcp'))
      const slow = await client.request('tools/call', {
        name: 'slow',
        arguments: { steps: 3, tag: 'r' },
        _meta: { progressToken: 'remote' },
      })
      assert.equal(text(slow['result']), 'r done')
      const progress = client.notifications.filter(
        (n) =>
          n['method'] === 'notifications/progress' &&
          (n['params'] as { progressToken: string }).progressToken === 'remote',
      )
      assert.equal(progress.length, 3)
      const announced = await client.request('tools/call', { name: 'announce', arguments: {} })
      assert.equal(text(announced['result']), 'announced')
      await client.notification(
        (n) =>
          n['method'] === 'notifications/message' && (n['params'] as { data?: string }).data === 'announced',
      )
      const big = await client.request('tools/call', { name: 'big', arguments: {} })
      assert.equal(text(big['result']).length, BIG_SIZE)
      const admin = await client.request('tools/call', { name: 'admin_op', arguments: {} })
      assert.equal(text(admin['result']), 'admin ok', JSON.stringify(admin).slice(0, 500))
      assert.equal(person.signIns, 2, 'one more sign-in for the step-up')
    } finally {
      person.stop()
      child.kill('SIGTERM')
    }
  })
})
