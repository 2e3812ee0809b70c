/**
 * `mcp-oauth connect` as a stdio MCP host meets it: the SDK v2 Client over StdioClientTransport spawning the
 * bridge against protected 2026-07-28 and 2025-11-25 servers, signing in through real chromium.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Client } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { useBridgeHost } from '../support/bridge-host.ts'
import { chromiumAvailable, need } from '../support/environment.ts'
import { BIG_SIZE, type ProtectedMcp, startProtectedMcp, USER } from '../support/protected-mcp.ts'
import { type Person, personAtBrowser } from '../support/sign-in.ts'

const host = useBridgeHost()

/** Spawn the bridge the way a host does, with a display so the browser path is taken. */
function bridge(url: string) {
  return { transport: new StdioClientTransport(host.connectParams(url)) }
}

function text(result: unknown): string {
  return ((result as { content: { text: string }[] }).content[0]?.text ?? '') as string
}

for (const era of ['modern', 'legacy'] as const) {
  describe(`connect to a protected ${era === 'modern' ? '2026-07-28' : '2025-11-25 (sessions)'} server`, () => {
    let server: ProtectedMcp
    before(async () => {
      server = await startProtectedMcp(era)
    })
    after(() => server.close())

    it('signs in through the browser, lists and calls tools, carries 5 MB, answers 200 concurrent calls, steps up, survives a restart', async (t) => {
      if (!need(t, 'chromium', chromiumAvailable())) return
      const { transport } = bridge(server.mcp)
      const person: Person = personAtBrowser(transport.stderr as never, host.browser(), USER)
      const client = new Client({ name: 'host', version: '1.0.0' })
      try {
        await client.connect(transport)
        assert.equal(person.signIns, 1, person.stderr)
        const { tools } = await client.listTools()
        assert.deepEqual(tools.map((x) => x.name).sort(), ['admin_op', 'big', 'echo'])
        assert.equal(
          text(await client.callTool({ name: 'echo', arguments: { value: 'hi' } })),
          '{"value":"hi"}',
        )

        const big = text(await client.callTool({ name: 'big', arguments: {} }))
        assert.equal(big.length, BIG_SIZE)
        assert.ok(/^x+$/.test(big))

        const many = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            client.callTool({ name: 'echo', arguments: { value: `n${i}` } }),
          ),
        )
        for (const [i, r] of many.entries()) assert.equal(text(r), `{"value":"n${i}"}`)

        assert.equal(text(await client.callTool({ name: 'admin_op', arguments: {} })), 'admin ok')
        assert.equal(person.signIns, 2, 'one more sign-in for the step-up')

        await server.restart()
        assert.equal(
          text(await client.callTool({ name: 'echo', arguments: { value: 'after' } })),
          '{"value":"after"}',
        )
        assert.equal(person.signIns, 2, 'a restart needs no new sign-in')
        assert.doesNotMatch(person.stderr, /eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/, 'no token (JWT) on stderr')
      } finally {
        if (process.env.DEBUG_CONNECT) console.error(person.stderr)
        person.stop()
        await client.close()
      }
    })
  })
}
