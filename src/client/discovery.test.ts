import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { discover, freshnessMs } from './discovery.ts'
import { fakeFetch } from './testing.ts'
import { DiscoveryTrace } from './trace.ts'

const S = 'https://mcp.example.com/tenant/mcp'
const AS = 'https://auth.example.com/t1'
const meta = (issuer: string) => ({
  issuer,
  authorization_endpoint: `${issuer}/authorize`,
  token_endpoint: `${issuer}/token`,
  code_challenge_methods_supported: ['S256'],
})

describe('discover', () => {
  it('tries PRM path-inserted then root, and AS candidates in MCP order, moving on after 401/403/502', async () => {
    const { fetch, calls } = fakeFetch({
      'https://mcp.example.com/.well-known/oauth-protected-resource/tenant/mcp': { status: 403 },
      'https://mcp.example.com/.well-known/oauth-protected-resource': {
        json: { resource: 'https://mcp.example.com', authorization_servers: [AS] },
      },
      'https://auth.example.com/.well-known/oauth-authorization-server/t1': { status: 401 },
      'https://auth.example.com/.well-known/openid-configuration/t1': { status: 502 },
      'https://auth.example.com/t1/.well-known/openid-configuration': { json: meta(AS) },
    })
    const trace = new DiscoveryTrace()
    const d = await discover(S, { fetch, trace })
    assert.equal(d.issuer, AS)
    assert.equal(d.resource, 'https://mcp.example.com')
    assert.deepEqual(
      calls.map((c) => c.url),
      [
        'https://mcp.example.com/.well-known/oauth-protected-resource/tenant/mcp',
        'https://mcp.example.com/.well-known/oauth-protected-resource',
        'https://auth.example.com/.well-known/oauth-authorization-server/t1',
        'https://auth.example.com/.well-known/openid-configuration/t1',
        'https://auth.example.com/t1/.well-known/openid-configuration',
      ],
    )
    assert.deepEqual(
      trace.steps.map((s) => s.status),
      [403, 200, 401, 502, 200],
    )
  })

  it('uses the challenge resource_metadata first and the next authorization server when the first fails', async () => {
    const { fetch } = fakeFetch({
      'https://mcp.example.com/prm': {
        json: { resource: S, authorization_servers: ['https://down.example', 'https://up.example'] },
      },
      'https://up.example/.well-known/oauth-authorization-server': { json: meta('https://up.example') },
    })
    const d = await discover(S, { fetch, resourceMetadataUrl: 'https://mcp.example.com/prm' })
    assert.equal(d.issuer, 'https://up.example')
    assert.equal(d.prmUrl, 'https://mcp.example.com/prm')
  })

  it('does not follow resource_metadata from a remote server into loopback', async () => {
    const { fetch, calls } = fakeFetch({
      'https://mcp.example.com/.well-known/oauth-protected-resource/tenant/mcp': {
        json: { resource: S, authorization_servers: [AS] },
      },
      'https://auth.example.com/.well-known/oauth-authorization-server/t1': { json: meta(AS) },
    })
    const trace = new DiscoveryTrace()
    await discover(S, { fetch, trace, resourceMetadataUrl: 'http://127.0.0.1:8080/admin' })
    assert.ok(!calls.some((c) => c.url.includes('127.0.0.1')))
    assert.equal(trace.steps[0]?.code, 'resource_metadata_origin')
  })

  it('2025-03-26 path: AS at the origin, legacy issuer accepted with a warning', async () => {
    const { fetch } = fakeFetch({
      'https://legacy.example/.well-known/oauth-authorization-server': {
        json: {
          ...meta('https://login.legacy.example'),
          authorization_endpoint: 'https://legacy.example/authorize',
        },
      },
    })
    const trace = new DiscoveryTrace()
    const d = await discover('https://legacy.example/mcp', { fetch, trace })
    assert.equal(d.legacy, true)
    // Bound to the origin that served the document; the claimed issuer is kept for the callback's iss check.
    assert.equal(d.issuer, 'https://legacy.example')
    assert.equal(d.metadata.issuer, 'https://login.legacy.example')
    assert.match(trace.warnings[0] ?? '', /legacy/)
  })

  it('2025-03-26 path without metadata: default endpoints at the origin', async () => {
    const { fetch } = fakeFetch({})
    const d = await discover('https://legacy.example/mcp', { fetch })
    assert.equal(d.metadata.authorization_endpoint, 'https://legacy.example/authorize')
    assert.equal(d.metadata.token_endpoint, 'https://legacy.example/token')
    assert.equal(d.metadata.registration_endpoint, 'https://legacy.example/register')
  })
})

describe('discover: a remote server cannot point the client at this machine', () => {
  it('skips loopback authorization servers and refuses loopback endpoints', async () => {
    const { fetch, calls } = fakeFetch({
      'https://mcp.example.com/.well-known/oauth-protected-resource/tenant/mcp': {
        json: { resource: S, authorization_servers: ['http://127.0.0.1:2375', AS] },
      },
      'https://auth.example.com/.well-known/oauth-authorization-server/t1': {
        json: { ...meta(AS), token_endpoint: 'http://[::ffff:127.0.0.1]:2375/token' },
      },
    })
    await assert.rejects(
      discover(S, { fetch }),
      (e: Error & { code?: string }) => e.code === 'loopback_endpoint',
    )
    assert.ok(!calls.some((c) => c.url.includes('127.0.0.1:2375')))
  })
})

describe('freshnessMs', () => {
  it('honours Cache-Control and Expires, bounded to a day', () => {
    assert.equal(freshnessMs({ 'cache-control': 'no-store' }), 0)
    assert.equal(freshnessMs({ 'cache-control': 'public, max-age=120' }), 120_000)
    assert.equal(freshnessMs({ 'cache-control': 'max-age=99999999' }), 86_400_000)
    const soon = new Date(Date.now() + 30_000).toUTCString()
    const f = freshnessMs({ expires: soon })
    assert.ok(f > 20_000 && f <= 30_000)
  })
})
