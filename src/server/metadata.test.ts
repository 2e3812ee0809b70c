import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { validateProtectedResourceMetadata } from '../shared/protected-resource.ts'
import { metadataRoute, protectedResourceMetadata, protectedResourceMetadataUrl } from './metadata.ts'

describe('Protected Resource Metadata', () => {
  it('builds a document that the shared validator accepts for the server', () => {
    const doc = protectedResourceMetadata({
      resource: 'HTTPS://MCP.example.com:443/mcp#frag',
      authorizationServers: ['https://as.example.com'],
      scopesSupported: ['mcp'],
      resourceName: 'Example',
    })
    assert.equal(doc.resource, 'https://mcp.example.com/mcp')
    assert.deepEqual(doc.bearer_methods_supported, ['header'])
    assert.deepEqual(validateProtectedResourceMetadata(doc, 'https://mcp.example.com/mcp'), doc)
  })
  it('uses the path-inserted URL, and the root for a path-less resource', () => {
    assert.equal(
      protectedResourceMetadataUrl('https://mcp.example.com/mcp'),
      'https://mcp.example.com/.well-known/oauth-protected-resource/mcp',
    )
    assert.equal(
      protectedResourceMetadataUrl('https://mcp.example.com/'),
      'https://mcp.example.com/.well-known/oauth-protected-resource',
    )
  })
  it('serves GET with CORS, answers preflight and 405, ignores other paths and root unless asked', async () => {
    const route = metadataRoute({
      resource: 'https://mcp.example.com/mcp',
      authorizationServers: ['https://as.example.com'],
    })
    const get = route(new Request('https://mcp.example.com/.well-known/oauth-protected-resource/mcp'))
    assert.equal(get?.status, 200)
    assert.equal(get?.headers.get('access-control-allow-origin'), '*')
    const pre = route(
      new Request('https://mcp.example.com/.well-known/oauth-protected-resource/mcp', { method: 'OPTIONS' }),
    )
    assert.equal(pre?.status, 204)
    const post = route(
      new Request('https://mcp.example.com/.well-known/oauth-protected-resource/mcp', { method: 'POST' }),
    )
    assert.equal(post?.status, 405)
    assert.equal(route(new Request('https://mcp.example.com/mcp')), undefined)
    assert.equal(
      route(new Request('https://mcp.example.com/.well-known/oauth-protected-resource')),
      undefined,
    )
    const withRoot = metadataRoute({
      resource: 'https://mcp.example.com/mcp',
      authorizationServers: ['https://as.example.com'],
      alsoAtRoot: true,
    })
    assert.equal(
      withRoot(new Request('https://mcp.example.com/.well-known/oauth-protected-resource?x=1'))?.status,
      200,
    )
  })
  it('refuses an http authorization server on a public host and an empty list', () => {
    assert.throws(() =>
      protectedResourceMetadata({ resource: 'https://a.example', authorizationServers: [] }),
    )
    assert.throws(() =>
      protectedResourceMetadata({
        resource: 'https://a.example',
        authorizationServers: ['http://as.example.com'],
      }),
    )
  })
})
