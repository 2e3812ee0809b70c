/**
 * The authorized fetch's step-up cap holds across calls: an AS that never grants the challenged scope costs
 * the person at most `maxStepUps` extra sign-ins for one operation, however often the caller retries it.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#step-up-authorization-flow
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { authorizedFetch } from './fetch.ts'
import { MemoryStore } from './stores/store.ts'
import { fakeFetch } from './testing.ts'

const MCP = 'https://mcp.example/mcp'
const AS = 'https://as.example'

/** A server whose tool needs `admin`, behind an AS that only ever grants `read`. */
function stingyWorld() {
  const valid = new Set<string>()
  let n = 0
  const { fetch } = fakeFetch({
    'https://mcp.example/.well-known/oauth-protected-resource/mcp': {
      json: { resource: MCP, authorization_servers: [AS] },
    },
    [`${AS}/.well-known/oauth-authorization-server`]: {
      json: {
        issuer: AS,
        authorization_endpoint: `${AS}/authorize`,
        token_endpoint: `${AS}/token`,
        code_challenge_methods_supported: ['S256'],
      },
    },
    [`POST ${AS}/token`]: () => {
      const at = `at-${++n}`
      valid.add(at)
      return { json: { access_token: at, token_type: 'Bearer', expires_in: 3600, scope: 'read' } }
    },
    [`POST ${MCP}`]: (req) =>
      valid.has(req.headers.get('authorization')?.replace(/^Bearer /, '') ?? '')
        ? { status: 403, headers: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="admin"' } }
        : { status: 401, headers: { 'www-authenticate': 'Bearer scope="read"' } },
  })
  const prompts: string[] = []
  const authorizer = {
    redirectUri: 'http://127.0.0.1:1/cb',
    async authorize(_url: URL, ctx: { state: string; reason: string }) {
      prompts.push(ctx.reason)
      return new URL(`http://127.0.0.1:1/cb?code=c&state=${ctx.state}`)
    },
  }
  return { fetch, authorizer, prompts }
}

describe('step-up retry cap', () => {
  for (const maxStepUps of [1, 2]) {
    it(`stops stepping up after ${maxStepUps} attempt(s) for one operation, across repeated calls`, async () => {
      const w = stingyWorld()
      const f = authorizedFetch({
        serverUrl: MCP,
        fetch: w.fetch,
        authorizer: w.authorizer,
        store: new MemoryStore(),
        identity: { client_name: 't', preRegistered: { client_id: 'pre' } },
        maxStepUps,
      })
      const statuses: number[] = []
      for (let i = 0; i < 5; i++) statuses.push((await f(MCP, { method: 'POST', body: '{}' })).status)
      assert.deepEqual(statuses, [403, 403, 403, 403, 403])
      assert.deepEqual(w.prompts, ['login', ...Array.from({ length: maxStepUps }, () => 'step-up')])
    })
  }
})

describe('signIn: false (courtesy requests)', () => {
  it('answers a 401 or a 403 with the refusal itself: no sign-in, no step-up', async () => {
    const w = stingyWorld()
    const options = {
      serverUrl: MCP,
      fetch: w.fetch,
      authorizer: w.authorizer,
      store: new MemoryStore(),
      identity: { client_name: 't', preRegistered: { client_id: 'pre' } },
    }
    const quiet = authorizedFetch(options, { signIn: false })
    const refused = await quiet(MCP, { method: 'POST', body: '{}' })
    assert.equal(refused.status, 401)
    assert.match(refused.headers.get('www-authenticate') ?? '', /Bearer/)
    assert.deepEqual(w.prompts, [], 'no sign-in for a 401')
    // Signed in through the ordinary fetch of the same session, the quiet one meets the step-up 403 as it is.
    const loud = authorizedFetch(quiet.session)
    await loud(MCP, { method: 'POST', body: '{}' })
    const before = w.prompts.length
    assert.equal((await quiet(MCP, { method: 'POST', body: '{}' })).status, 403)
    assert.equal(w.prompts.length, before, 'no step-up for a 403')
  })
})
