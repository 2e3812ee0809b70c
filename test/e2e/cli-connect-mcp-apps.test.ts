/**
 * MCP Apps through `mcp-oauth connect`: a UI resource (`ui://…`, `text/html;profile=mcp-app`) and tools whose
 * `_meta` links to it reach a 2025 host and a 2026-07-28 host exactly as the server sent them, whether the bridge
 * passes messages through (same era) or translates them (the server speaks the other era).
 * @see https://github.com/modelcontextprotocol/ext-apps
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
import { useBridgeHost } from '../support/bridge-host.ts'
import { chromiumAvailable, need } from '../support/environment.ts'
import { APP, type ProtectedMcp, startProtectedMcp, USER } from '../support/protected-mcp.ts'
import { personAtBrowser } from '../support/sign-in.ts'

const host = useBridgeHost()

type Message = { id?: unknown; result?: Record<string, unknown> }
type Tool = { name: string; _meta?: unknown }
type Contents = { uri: string; mimeType?: string; text?: string; _meta?: unknown }

/** Every message the host's transport parsed off the bridge's stdout, before the SDK client validates it. */
function capture(transport: { onmessage?: ((m: never) => void) | undefined }): Message[] {
  const seen: Message[] = []
  let inner: ((m: never) => void) | undefined
  Object.defineProperty(transport, 'onmessage', {
    configurable: true,
    get: () =>
      inner
        ? (m: never) => {
            seen.push(m as Message)
            inner!(m)
          }
        : undefined,
    set: (f) => {
      inner = f
    },
  })
  return seen
}

/** The results the host received for tools/list, resources/read and tools/call (show_widget), as sent. */
async function receivedApps(
  seen: Message[],
  client: {
    listTools(): Promise<unknown>
    readResource(p: { uri: string }): Promise<unknown>
    callTool(p: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>
  },
) {
  const results = () => seen.filter((m) => m.result).map((m) => m.result!)
  await client.listTools()
  const tools = results().find((r) => Array.isArray(r['tools']))?.['tools'] as Tool[]
  await client.readResource({ uri: APP.uri })
  const contents = results().find((r) => Array.isArray(r['contents']))?.['contents'] as Contents[]
  await client.callTool({ name: 'show_widget', arguments: {} })
  const call = results().find((r) => r['structuredContent'] !== undefined)!
  return { tool: tools.find((t) => t.name === 'show_widget')!, contents, call }
}

/** `_meta` without the 2026-07-28 envelope (`io.modelcontextprotocol/…`), which belongs to the protocol, not the app. */
function appMeta(meta: unknown): unknown {
  if (!meta || typeof meta !== 'object') return meta
  return Object.fromEntries(Object.entries(meta).filter(([k]) => !k.startsWith('io.modelcontextprotocol/')))
}

function assertIdentical(got: Awaited<ReturnType<typeof receivedApps>>) {
  // Compared as serialized JSON: key order, unicode and nesting (empty objects and lists) must survive too.
  assert.equal(JSON.stringify(appMeta(got.tool._meta)), JSON.stringify(APP.toolMeta))
  assert.equal(got.contents.length, 1)
  const [c] = got.contents
  assert.equal(c!.uri, APP.uri)
  assert.equal(c!.mimeType, APP.mimeType)
  assert.equal(c!.text, APP.html)
  assert.equal(JSON.stringify(appMeta(c!._meta)), JSON.stringify(APP.resourceMeta))
  assert.equal(JSON.stringify(got.call['structuredContent']), JSON.stringify(APP.structured))
  assert.equal(JSON.stringify(appMeta(got.call['_meta'])), JSON.stringify(APP.resultMeta))
}

describe('MCP Apps pass through connect untouched', () => {
  const servers: Record<'modern' | 'legacy', ProtectedMcp | undefined> = {
    modern: undefined,
    legacy: undefined,
  }
  const stores: Record<string, string> = {}
  before(async () => {
    servers.modern = await startProtectedMcp('modern', undefined, {}, { apps: true })
    servers.legacy = await startProtectedMcp('legacy', ['2025-11-25', '2025-06-18'], {}, { apps: true })
  })
  after(async () => {
    await servers.modern?.close()
    await servers.legacy?.close()
  })

  for (const era of ['modern', 'legacy'] as const) {
    it(`2025-11-25 host (SDK v1) → ${era} server`, async (t) => {
      if (!need(t, 'chromium', chromiumAvailable())) return
      stores[era] = mkdtempSync(join(tmpdir(), `mcp-oauth-apps-${era}-`))
      const transport = new StdioV1(host.connectParams(servers[era]!.mcp, stores[era]))
      const seen = capture(transport as never)
      const person = personAtBrowser(transport.stderr as never, host.browser(), USER)
      const client = new ClientV1({ name: 'apps-host-2025', version: '1.0.0' })
      try {
        await client.connect(transport)
        assertIdentical(await receivedApps(seen, client))
      } finally {
        person.stop()
        await client.close()
      }
    })

    it(`2026-07-28 host (SDK v2, pinned) → ${era} server`, async (t) => {
      if (!need(t, 'chromium', chromiumAvailable())) return
      // Reuses the session the 2025 host signed in (same store): the pinned SDK probes from a sibling process.
      const dir = stores[era] ?? mkdtempSync(join(tmpdir(), `mcp-oauth-apps-${era}-`))
      const transport = new StdioV2(host.connectParams(servers[era]!.mcp, dir))
      const seen = capture(transport as never)
      const person = personAtBrowser(transport.stderr as never, host.browser(), USER)
      const client = new ClientV2(
        { name: 'apps-host-2026', version: '1.0.0' },
        { versionNegotiation: { mode: { pin: '2026-07-28' } } },
      )
      try {
        await client.connect(transport)
        assertIdentical(await receivedApps(seen, client))
      } finally {
        person.stop()
        await client.close()
      }
    })
  }
})
