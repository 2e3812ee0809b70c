/**
 * Version bridging through `mcp-oauth connect`: an SDK v1 host speaking 2025-06-18 uses a server that accepts
 * only 2026-07-28, and an SDK v2 host pinned to 2026-07-28 uses a server that accepts only 2025-06-18.
 */
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Client as ClientV2 } from '@modelcontextprotocol/client'
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio'
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js'
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import { useBridgeHost } from '../support/bridge-host.ts'
import { chromiumAvailable, need } from '../support/environment.ts'
import { type ProtectedMcp, startProtectedMcp, USER } from '../support/protected-mcp.ts'
import { personAtBrowser } from '../support/sign-in.ts'

const host = useBridgeHost()
const spawnArgs = (url: string, dir?: string) => host.connectParams(url, dir)

const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]?.text

describe('version bridging', () => {
  let modern: ProtectedMcp
  let legacy: ProtectedMcp
  before(async () => {
    modern = await startProtectedMcp('modern')
    legacy = await startProtectedMcp('legacy', ['2025-06-18'])
  })
  after(async () => {
    await modern.close()
    await legacy.close()
  })

  it('SDK v1 host at 2025-06-18 → server that accepts only 2026-07-28', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const transport = new StdioV1(spawnArgs(modern.mcp))
    // This host speaks 2025-06-18: rewrite its initialize as such a host would send it.
    const send = transport.send.bind(transport)
    const seen: string[] = []
    transport.send = (m: JSONRPCMessage) => {
      const msg = m as { method?: string; params?: { protocolVersion?: string } }
      if (msg.method === 'initialize' && msg.params) msg.params.protocolVersion = '2025-06-18'
      return send(m)
    }
    const client = new ClientV1({ name: 'v1-host', version: '1.0.0' })
    const person = personAtBrowser(transport.stderr as never, host.browser(), USER)
    try {
      const onmessage = () => transport.onmessage
      await client.connect(transport)
      void onmessage
      seen.push(client.getServerVersion()?.name ?? '')
      const { tools } = await client.listTools()
      assert.ok(tools.some((x) => x.name === 'echo'))
      assert.equal(
        text(await client.callTool({ name: 'echo', arguments: { value: 'v1' } })),
        '{"value":"v1"}',
      )
      assert.equal(seen[0], 'protected-test')
    } finally {
      person.stop()
      await client.close()
    }
  })

  it('SDK v2 host pinned to 2026-07-28 → server that accepts only 2025-06-18', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    // The SDK probes a stdio server from a short-lived sibling process whose stderr it discards, so sign in
    // first through another bridge sharing the store; the pinned host's bridges then need no browser.
    const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-versions-'))
    const first = new StdioV2(spawnArgs(legacy.mcp, dir))
    const firstPerson = personAtBrowser(first.stderr as never, host.browser(), USER)
    const warm = new ClientV2({ name: 'v2-legacy-host', version: '1.0.0' })
    await warm.connect(first)
    await warm.close()
    firstPerson.stop()
    assert.equal(firstPerson.signIns, 1)
    const transport = new StdioV2(spawnArgs(legacy.mcp, dir))
    const client = new ClientV2(
      { name: 'v2-host', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    )
    const person = personAtBrowser(transport.stderr as never, host.browser(), USER)
    try {
      await client.connect(transport)
      // The 2025 server offers tools/list_changed, but the bridge has no subscriptions/listen stream for it.
      assert.deepEqual(client.getServerCapabilities()?.tools, {})
      const { tools } = await client.listTools()
      assert.ok(tools.some((x) => x.name === 'echo'))
      assert.equal(
        text(await client.callTool({ name: 'echo', arguments: { value: 'v2' } })),
        '{"value":"v2"}',
      )
    } finally {
      person.stop()
      await client.close()
    }
  })
})
