import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  addEnvelope,
  deliverableCapabilities,
  discoverFromInitialize,
  hostEra,
  initializeFromDiscover,
  META,
  modernizeResult,
  refuseLogLevel,
  stripEnvelope,
} from './protocol.ts'

const host = {
  protocolVersion: '2025-06-18',
  capabilities: { roots: {} },
  clientInfo: { name: 'h', version: '1' },
}

describe('protocol bridging', () => {
  it('adds and strips the 2026-07-28 envelope, keeping other _meta', () => {
    const m = addEnvelope(
      { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { progressToken: 7 } } },
      host,
    )
    const meta = m.params?.['_meta'] as Record<string, unknown>
    assert.equal(meta[META.protocolVersion], '2026-07-28')
    assert.deepEqual(meta[META.clientInfo], host.clientInfo)
    assert.equal(meta['progressToken'], 7)
    assert.deepEqual(stripEnvelope(m).params, { _meta: { progressToken: 7 } })
  })
  it('answers initialize at the host version from a discover result, and the reverse', () => {
    const init = initializeFromDiscover('2025-06-18', {
      supportedVersions: ['2026-07-28'],
      capabilities: { tools: {} },
      _meta: { [META.serverInfo]: { name: 's', version: '2' } },
    })
    assert.deepEqual(init, {
      protocolVersion: '2025-06-18',
      capabilities: { tools: {} },
      serverInfo: { name: 's', version: '2' },
    })
    assert.equal(initializeFromDiscover('1999-01-01', {})['protocolVersion'], '2025-11-25')
    const d = discoverFromInitialize({
      protocolVersion: '2025-06-18',
      capabilities: { tools: { listChanged: true }, resources: { subscribe: true } },
      serverInfo: { name: 's' },
    })
    assert.deepEqual(d['supportedVersions'], ['2026-07-28'])
    // Neither the bridge nor the gateway has a subscriptions/listen stream to deliver them on.
    assert.deepEqual(d['capabilities'], { tools: {}, resources: {} })
    // server/discover is a cacheable result: the hints are required.
    assert.equal(d['ttlMs'], 0)
    assert.equal(d['cacheScope'], 'private')
  })
  it('tells a host era from its first message', () => {
    assert.equal(hostEra({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }), 'legacy')
    assert.equal(hostEra({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: {} }), 'modern')
  })
  it('adds resultType and cache fields only where 2026-07-28 requires them', () => {
    assert.deepEqual(modernizeResult('tools/list', { tools: [] }), {
      resultType: 'complete',
      tools: [],
      ttlMs: 0,
      cacheScope: 'private',
    })
    assert.deepEqual(modernizeResult('tools/call', { content: [] }), { resultType: 'complete', content: [] })
  })
  it('keeps the capabilities a translated session delivers, without list changes and subscriptions', () => {
    assert.deepEqual(
      deliverableCapabilities({
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: false, other: 1 },
        prompts: {},
        logging: {},
        experimental: { x: { listChanged: true } },
      }),
      {
        tools: {},
        resources: { other: 1 },
        prompts: {},
        logging: {},
        experimental: { x: { listChanged: true } },
      },
    )
    assert.deepEqual(deliverableCapabilities(undefined), {})
    assert.deepEqual(deliverableCapabilities({ tools: true }), { tools: true })
  })
})

describe('refuseLogLevel', () => {
  const request = (meta: Record<string, unknown>) => ({
    jsonrpc: '2.0' as const,
    id: 4,
    method: 'tools/call',
    params: { name: 't', _meta: meta },
  })
  const key = 'io.modelcontextprotocol/logLevel'

  it('answers a request whose _meta names no RFC 5424 level with Invalid params, naming the value', () => {
    const refused = refuseLogLevel(request({ [key]: 'loud' }))
    assert.equal(refused?.id, 4)
    assert.equal(refused?.error?.code, -32602)
    assert.match(refused?.error?.message ?? '', /"loud"/)
    for (const level of [null, 3, 'Warning', { level: 'x'.repeat(200) }])
      assert.equal(refuseLogLevel(request({ [key]: level }))?.error?.code, -32602, JSON.stringify(level))
    const long = refuseLogLevel(request({ [key]: 'y'.repeat(500) }))?.error?.message ?? ''
    assert.ok(long.includes(`"${'y'.repeat(59)}`) && !long.includes('y'.repeat(60)), long)
  })

  it('lets a known level, no level, and a notification through', () => {
    assert.equal(refuseLogLevel(request({ [key]: 'debug' })), undefined)
    assert.equal(refuseLogLevel(request({})), undefined)
    assert.equal(refuseLogLevel({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), undefined)
    assert.equal(
      refuseLogLevel({ jsonrpc: '2.0', method: 'x', params: { _meta: { [key]: 'loud' } } }),
      undefined,
    )
  })
})
