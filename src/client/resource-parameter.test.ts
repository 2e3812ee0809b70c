/**
 * The resource policy and its fallback (issue 11): only Entra's refusal of the parameter itself is retried
 * without it, remembered per issuer and resource for a while; an AS refusing the resource gets a typed error.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isMcpOAuthError, OAuthResponseError } from '../shared/errors.ts'
import { isResourceRefusal, resourceRefusalKey } from './authorization-parameters.ts'
import { AS, MCP, world } from './authorization-world.test-helper.ts'
import { Session } from './session.ts'
import { MemoryStore } from './stores/store.ts'

describe('the resource parameter', () => {
  it('omit sends no resource; { value } sends that value', async () => {
    const w = world()
    await new Session(w.options({ resourceParameter: 'omit' })).authorize({ reason: 'login' })
    await new Session(w.options({ resourceParameter: { value: 'api://x' } })).authorize({ reason: 'login' })
    const tokenBodies = w.calls.filter((c) => c.url === `${AS}/token`).map((c) => new URLSearchParams(c.body))
    assert.equal(w.authorizeUrls[0]!.searchParams.has('resource'), false)
    assert.equal(tokenBodies[0]!.has('resource'), false)
    assert.equal(w.authorizeUrls[1]!.searchParams.get('resource'), 'api://x')
    assert.equal(tokenBodies[1]!.get('resource'), 'api://x')
  })

  it('an AS refusing resource gets one retry without it, remembered for the issuer, logged and traced', async () => {
    const w = world({ refuseResource: true })
    const store = new MemoryStore()
    const logs: string[] = []
    const s = new Session(w.options({ store, log: (m) => logs.push(m) }))
    const t = await s.authorize({ reason: 'login', challengedScope: 'read' })
    assert.ok(t.access_token)
    assert.deepEqual(
      w.authorizeUrls.map((u) => u.searchParams.has('resource')),
      [true, false],
    )
    assert.ok(await store.get(resourceRefusalKey(AS, MCP)))
    assert.equal(await store.get(resourceRefusalKey(AS, 'https://other.example/mcp')), undefined)
    assert.ok(logs.some((l) => /refused the resource parameter/.test(l)))
    assert.ok(s.trace.steps.some((x) => x.code === 'resource_parameter_refused'))
    // A refresh and the next sign-in leave it out from the start.
    await s.refresh(t)
    const refresh = w.calls.filter((c) => c.url === `${AS}/token`).at(-1)!
    assert.equal(new URLSearchParams(refresh.body).has('resource'), false)
    await new Session(w.options({ store })).authorize({ reason: 'login', challengedScope: 'read' })
    assert.equal(w.authorizeUrls.length, 3, 'the next sign-in needs no retry')
  })

  it('a plain invalid_target is never retried without resource: a typed error names the resource and the AS', async () => {
    const w = world({ unknownTarget: true })
    const store = new MemoryStore()
    await assert.rejects(
      new Session(w.options({ store })).authorize({ reason: 'login', challengedScope: 'read' }),
      (e: unknown) =>
        isMcpOAuthError(e) &&
        e.code === 'resource_not_served' &&
        e.message.includes(MCP) &&
        e.message.includes(AS) &&
        /--resource-parameter omit/.test(e.hint),
    )
    assert.equal(w.authorizeUrls.length, 1, 'no second trip without resource')
    assert.equal(
      w.calls.filter((c) => c.url === `${AS}/token` && !new URLSearchParams(c.body).has('resource')).length,
      0,
    )
    assert.equal(await store.get(resourceRefusalKey(AS, MCP)), undefined)
  })

  it('an expired refusal is forgotten: resource is sent again', async () => {
    const w = world()
    const store = new MemoryStore()
    const at = Date.now() - 2 * 86_400_000
    await store.set(resourceRefusalKey(AS, MCP), {
      issuer: AS,
      resource: MCP,
      error: 'invalid_request',
      at,
      expires_at: at + 86_400_000,
    })
    await new Session(w.options({ store })).authorize({ reason: 'login', challengedScope: 'read' })
    assert.equal(w.authorizeUrls[0]!.searchParams.get('resource'), MCP)
  })

  it('recognizes Entra refusals of the parameter, not an unknown resource or other errors', () => {
    assert.equal(isResourceRefusal(new OAuthResponseError('invalid_target', undefined)), false)
    assert.equal(isResourceRefusal(new OAuthResponseError('invalid_target', 'unknown resource')), false)
    assert.equal(isResourceRefusal(new OAuthResponseError('invalid_target', 'AADSTS9010010: …')), true)
    assert.equal(
      isResourceRefusal(
        new OAuthResponseError(
          'invalid_request',
          "The resource parameter provided in the request doesn't match with the requested scopes.",
        ),
      ),
      true,
    )
    assert.equal(isResourceRefusal(new OAuthResponseError('invalid_request', 'AADSTS9010010: …')), true)
    assert.equal(isResourceRefusal(new OAuthResponseError('invalid_request', 'code expired')), false)
    assert.equal(isResourceRefusal(new OAuthResponseError('invalid_grant', 'resource')), false)
  })
})
