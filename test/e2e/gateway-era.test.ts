/**
 * A client pinned to 2026-07-28 (the SDK v2 client, `versionNegotiation: { mode: { pin } }`: stateless,
 * `server/discover`, the `_meta` envelope, no fallback) through `mcp-oauth serve` in front of upstreams that
 * speak a 2025 revision only: an SDK v1 Streamable HTTP server, an HTTP+SSE-only server and an SDK v1 stdio
 * server. The gateway translates: the client signs in through serve's pages in chromium, discovers, lists, calls
 * with progress (and a log message where the server sends one for the call), gets a long result intact, and
 * steps up on a per-tool scope read from Mcp-Method/Mcp-Name. A 2025 client on the same gateway is not translated.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Client, LOG_LEVEL_META_KEY, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { type Browser, chromium } from 'playwright-core'
import { BrowserOAuthProvider, connectWithSignIn, withSignIn } from '../support/browser-oauth-provider.ts'
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, need } from '../support/environment.ts'
import { GATEWAY_USER, type GatewayServe, startGatewayServe } from '../support/gateway.ts'
import {
  longText,
  startSseUpstream,
  startV1StreamableUpstream,
  type Upstream,
} from '../support/gateway-upstreams.ts'

const STDIO_SERVER = fileURLToPath(new URL('../support/stdio-server.ts', import.meta.url))
const STDIO_BIG = 5 * 1024 * 1024
const MODERN = '2026-07-28'

let browser: Browser | undefined
before(async () => {
  if (chromiumAvailable())
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
})
after(async () => {
  await browser?.close()
})

type Result = { content?: { text: string }[] }
const textOf = (r: unknown) => (r as Result).content?.[0]?.text ?? ''

/** What one upstream offers for the journey: its tools, a call with progress, a long result. */
interface Journey {
  tools: string[]
  progress: { name: string; arguments: Record<string, unknown>; steps: number; check(text: string): void }
  /** A tool with a long result, and what intact means. */
  long: { name: string; check(text: string): void }
  /** The server sends a log message for the progress call (request-scoped), which the client asked for. */
  logs: boolean
}

/** The pinned client's whole journey through `gateway`; then a 2025 client with the same token. */
async function journey(gateway: GatewayServe, j: Journey): Promise<void> {
  const provider = new BrowserOAuthProvider(browser!, GATEWAY_USER, 'v2')
  const client = new Client(
    { name: 'pinned-2026', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: MODERN } } },
  )
  const logs: unknown[] = []
  client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params.data))
  const sent: { version: string | null; session: string | null; method: string | null }[] = []
  const watched: typeof fetch = async (input, init) => {
    const h = new Headers(init?.headers)
    if ((init?.method ?? 'GET') === 'POST' && String(input) === gateway.mcp)
      sent.push({
        version: h.get('mcp-protocol-version'),
        session: h.get('mcp-session-id'),
        method: h.get('mcp-method'),
      })
    return fetch(input, init)
  }
  const transport = await connectWithSignIn(
    provider,
    client,
    () => new StreamableHTTPClientTransport(new URL(gateway.mcp), { authProvider: provider, fetch: watched }),
  )
  try {
    assert.equal(provider.authorizations, 1)
    assert.equal(client.getNegotiatedProtocolVersion(), MODERN)
    assert.ok(client.getServerCapabilities()?.tools, 'capabilities from the upstream initialize')
    const { tools } = await client.listTools()
    assert.deepEqual(tools.map((t) => t.name).sort(), j.tools)
    assert.equal(
      textOf(await client.callTool({ name: 'echo', arguments: { value: 'pinned' } })),
      '{"value":"pinned"}',
    )
    const progress: number[] = []
    const called = await client.callTool(
      // 2026-07-28 asks for log messages per request, in _meta.
      { name: j.progress.name, arguments: j.progress.arguments, _meta: { [LOG_LEVEL_META_KEY]: 'info' } },
      { onprogress: (p) => void progress.push(p.progress) },
    )
    assert.deepEqual(
      progress,
      Array.from({ length: j.progress.steps }, (_, i) => i + 1),
    )
    j.progress.check(textOf(called))
    if (j.logs) assert.deepEqual(logs, ['about to send 1 MiB'])
    j.long.check(textOf(await client.callTool({ name: j.long.name, arguments: {} })))
    const admin = await withSignIn(provider, transport, () =>
      client.callTool({ name: 'admin_op', arguments: {} }),
    )
    assert.equal(textOf(admin), 'admin ok')
    assert.equal(provider.authorizations, 2, 'one step-up')
    assert.ok(provider.requestedScopes[1]!.split(' ').includes('admin'))
    // Every request went out in the 2026-07-28 shape, and no session ever came back to the client.
    assert.ok(sent.length >= 5)
    assert.deepEqual(
      sent.filter((s) => s.version !== MODERN || s.session !== null),
      [],
    )
    assert.equal(sent[0]?.method, 'server/discover')
  } finally {
    await client.close()
  }
  // A 2025 client (the same SDK without a pin) with the token already held: the gateway forwards it as it is.
  const legacy = new Client({ name: 'legacy-2025', version: '1.0.0' })
  await legacy.connect(new StreamableHTTPClientTransport(new URL(gateway.mcp), { authProvider: provider }))
  try {
    assert.notEqual(legacy.getNegotiatedProtocolVersion(), MODERN)
    assert.equal(
      textOf(await legacy.callTool({ name: 'echo', arguments: { value: 'old' } })),
      '{"value":"old"}',
    )
  } finally {
    await legacy.close()
  }
}

const intactLong = (t: string) => assert.ok(t === longText(), 'the 1 MiB result arrived byte for byte')
const PROXY_JOURNEY: Journey = {
  tools: ['admin_op', 'echo', 'notify_long', 'whoami'],
  progress: { name: 'notify_long', arguments: {}, steps: 2, check: intactLong },
  long: { name: 'notify_long', check: intactLong },
  logs: true,
}

/** The upstream saw the identity on every message and never a credential. */
function assertNoCredentials(upstream: Upstream): void {
  assert.deepEqual(
    upstream.seen.filter((s) => s.authorization || s.cookie),
    [],
  )
  const [, ...forwarded] = upstream.seen
  assert.deepEqual(
    forwarded.filter((s) => s.subject !== GATEWAY_USER.username),
    [],
  )
}

for (const [label, start] of [
  ['SDK v1 Streamable HTTP (2025-11-25 only)', startV1StreamableUpstream],
  ['HTTP+SSE only (2024-11-05)', startSseUpstream],
] as const) {
  describe(`serve --proxy in front of ${label}, a client pinned to 2026-07-28`, () => {
    let upstream: Upstream
    let gateway: GatewayServe
    before(async () => {
      upstream = await start()
      gateway = await startGatewayServe(upstream.url)
    })
    after(async () => {
      await gateway?.close()
      await upstream?.close()
    })

    it('discovers, lists, calls with progress and a log, gets 1 MiB intact, steps up; a 2025 client passes', async (t) => {
      if (!need(t, 'chromium', chromiumAvailable())) return
      await journey(gateway, PROXY_JOURNEY)
      assert.match(
        gateway.stderr(),
        /the upstream speaks a 2025 revision only: requests of 2026-07-28 clients are translated/,
      )
      assertNoCredentials(upstream)
    })
  })
}

describe('serve --stdio in front of an SDK v1 stdio server, a client pinned to 2026-07-28', () => {
  let gateway: GatewayServe
  before(async () => {
    gateway = await startGatewayServe([process.execPath, STDIO_SERVER])
  })
  after(async () => {
    await gateway?.close()
  })

  it('discovers, lists, calls with progress, gets 5 MB intact, steps up; a 2025 client passes', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    await journey(gateway, {
      tools: ['admin_op', 'announce', 'big', 'echo', 'env', 'junk', 'roots', 'slow', 'whoami'],
      progress: {
        name: 'slow',
        arguments: { steps: 3, tag: 'pinned' },
        steps: 3,
        check: (text) => assert.equal(text, 'pinned done'),
      },
      long: { name: 'big', check: (text) => assert.equal(text.length, STDIO_BIG) },
      logs: false,
    })
    assert.match(gateway.stderr(), /the upstream speaks a 2025 revision only/)
  })
})
