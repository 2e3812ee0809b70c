import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeHeaderValue, readOperations, scopePolicy } from './policy.ts'

describe('scopePolicy', () => {
  const p = scopePolicy({
    required: ['mcp'],
    methods: { 'resources/list': ['files:read'] },
    tools: { deploy: ['deploy', 'mcp'] },
    resources: { 'file:///secret': ['secrets'] },
    prompts: { review: ['review'] },
  })
  it('unions the base, method and named scopes, de-duplicated', () => {
    assert.deepEqual(p.requiredScopes([]), ['mcp'])
    assert.deepEqual(p.requiredScopes([{ method: 'tools/call', name: 'deploy' }]), ['mcp', 'deploy'])
    assert.deepEqual(p.requiredScopes([{ method: 'tools/call', name: 'other' }]), ['mcp'])
    assert.deepEqual(p.requiredScopes([{ method: 'resources/read', name: 'file:///secret' }]), [
      'mcp',
      'secrets',
    ])
    assert.deepEqual(p.requiredScopes([{ method: 'prompts/get', name: 'review' }]), ['mcp', 'review'])
    assert.deepEqual(p.requiredScopes([{ method: 'resources/list' }]), ['mcp', 'files:read'])
    // A batch needs everything any of its operations needs.
    assert.deepEqual(
      p.requiredScopes([
        { method: 'tools/call', name: 'deploy' },
        { method: 'prompts/get', name: 'review' },
      ]),
      ['mcp', 'deploy', 'review'],
    )
  })
  it('does not treat inherited object keys as tool names', () => {
    assert.deepEqual(p.requiredScopes([{ method: 'tools/call', name: 'constructor' }]), ['mcp'])
    assert.deepEqual(p.requiredScopes([{ method: 'tools/call', name: '__proto__' }]), ['mcp'])
  })
  it('expands a scope hierarchy, cycles included', () => {
    const h = scopePolicy({ implies: { admin: ['write'], write: ['read'], read: ['admin'] } })
    assert.deepEqual([...h.expandGranted(['write'])].sort(), ['admin', 'read', 'write'])
    assert.equal(h.needsOperation, false)
  })
})

describe('readOperations', () => {
  const body = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'deploy' } }
  it('reads method and name from the body', () => {
    assert.deepEqual(readOperations(new Headers(), body), {
      operations: [{ method: 'tools/call', name: 'deploy' }],
    })
    assert.deepEqual(
      readOperations(new Headers(), {
        jsonrpc: '2.0',
        id: 1,
        method: 'resources/read',
        params: { uri: 'file:///a' },
      }),
      { operations: [{ method: 'resources/read', name: 'file:///a' }] },
    )
    assert.deepEqual(readOperations(new Headers(), undefined), { operations: [] })
  })
  it('checks Mcp-Method and Mcp-Name against the body', () => {
    const ok = new Headers({ 'mcp-method': 'tools/call', 'mcp-name': 'deploy' })
    assert.ok('operations' in readOperations(ok, body))
    for (const h of [
      { 'mcp-method': 'tools/list', 'mcp-name': 'deploy' },
      { 'mcp-method': 'tools/call', 'mcp-name': 'echo' },
      { 'mcp-method': 'tools/call' },
      { 'mcp-method': 'tools/call', 'mcp-name': '=?base64?!!!!?=' },
    ]) {
      const r = readOperations(new Headers(h), body)
      assert.ok('mismatch' in r, JSON.stringify(h))
      assert.equal(r.mismatch.id, 7)
    }
    assert.ok('mismatch' in readOperations(ok, [body, body]))
  })
  it('decodes the base64 sentinel form', () => {
    assert.equal(
      decodeHeaderValue(`=?base64?${Buffer.from('héllo wörld').toString('base64')}?=`),
      'héllo wörld',
    )
    assert.equal(decodeHeaderValue('plain'), 'plain')
    assert.equal(decodeHeaderValue('=?base64?%%%%?='), undefined)
  })
})
