import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { probeEra } from './probe.ts'
import { MODERN, TRANSLATED_FROM_META_KEY } from './protocol.ts'

const answering = (result: Record<string, unknown>) => async () =>
  Response.json({ jsonrpc: '2.0', id: 'mcp-oauth-probe', result })

describe('probeEra', () => {
  it('modern for a 2026-07-28 discover result, legacy when it says it translates for a 2025 server', async () => {
    const lines: string[] = []
    const o = { url: 'http://127.0.0.1:9/mcp', log: (l: string) => lines.push(l) }
    const discover = { resultType: 'complete', supportedVersions: [MODERN], capabilities: {} }
    assert.deepEqual(await probeEra({ ...o, fetch: answering(discover) }), { era: 'modern' })
    const translated = { ...discover, _meta: { [TRANSLATED_FROM_META_KEY]: '2025-11-25' } }
    assert.deepEqual(await probeEra({ ...o, fetch: answering(translated) }), { era: 'legacy' })
    assert.match(lines.at(-1)!, /by translation; speaking its 2025-11-25 directly/)
    // A translation from another modern version is no reason to fall back.
    const fromModern = { ...discover, _meta: { [TRANSLATED_FROM_META_KEY]: MODERN } }
    assert.deepEqual(await probeEra({ ...o, fetch: answering(fromModern) }), { era: 'modern' })
  })

  it('a passing refusal (503, 429) is no verdict: the probe fails, so the next message probes again', async () => {
    const o = { url: 'http://127.0.0.1:9/mcp', log: () => {} }
    for (const status of [503, 429]) {
      const fetch = async () => new Response('busy', { status })
      await assert.rejects(probeEra({ ...o, fetch }), new RegExp(`HTTP ${status}`))
    }
    const notFound = async () =>
      new Response('{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"x"}}', {
        status: 400,
        headers: { 'content-type': 'application/json' },
      })
    assert.deepEqual(await probeEra({ ...o, fetch: notFound }), { era: 'legacy' })
  })
})
