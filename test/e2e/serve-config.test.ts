/**
 * `serve`'s config sections that need a running server to be believed, in process (no spawn): per-tool scopes
 * advertised and enforced on its own /mcp, and an opaque-token resource whose server introspects with a
 * confidential pre-registered client.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { startServe } from '../../src/cli/commands/serve.ts'
import { parseServeConfig } from '../../src/cli/serve-config.ts'
import { codeFlow, json, registerClient, testUser } from './authorization-server-helpers.ts'

const USER = { username: 'alice', password: randomBytes(12).toString('base64url') }
const REDIRECT = 'http://127.0.0.1:9/callback'

describe('serve with toolScopes (its own /mcp)', () => {
  test('a tool scope from the config is advertised by the AS and the PRM, and enforced on the demo /mcp', async () => {
    const serving = await startServe({
      port: 0,
      host: '127.0.0.1',
      store: 'memory',
      users: [(await testUser(USER.username, USER.password)).user],
      tokenFormat: 'jwt',
      allowPrivateCimd: false,
      toolScopes: { whoami: ['whoami:read'] },
    })
    try {
      const metadata = await json(await fetch(`${serving.issuer}/.well-known/oauth-authorization-server`))
      assert.ok(metadata['scopes_supported'].includes('whoami:read'))
      const prm = await json(await fetch(`${serving.issuer}/.well-known/oauth-protected-resource/mcp`))
      assert.ok(prm['scopes_supported'].includes('whoami:read'))
      const clientId = String((await registerClient(serving.issuer, [REDIRECT]))['client_id'])
      const tokens = await codeFlow(metadata, clientId, REDIRECT, USER, { scope: 'tools:read' })
      const refused = await fetch(serving.mcp!, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tokens['access_token']}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'whoami', arguments: {} },
        }),
      })
      assert.equal(refused.status, 403)
      assert.match(refused.headers.get('www-authenticate') ?? '', /insufficient_scope[\s\S]*whoami:read/)
    } finally {
      await serving.close()
    }
  })
})

describe('serve with an opaque-token resource from the config', () => {
  test('its resource server introspects with a confidential pre-registered client that has no grant', async () => {
    const rsSecret = randomBytes(32).toString('base64url')
    const resource = 'https://opaque.example/mcp'
    const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-opaque-'))
    const file = join(dir, 'mcp-oauth.json')
    writeFileSync(
      file,
      JSON.stringify({
        resources: [{ uri: resource, scopes: ['mcp'], tokenFormat: 'opaque' }],
        clients: [{ client_id: 'opaque-rs', client_secret: { env: 'TEST_RS_SECRET' }, grant_types: [] }],
      }),
      { mode: 0o600 },
    )
    const config = parseServeConfig(['--config', file], { env: { TEST_RS_SECRET: rsSecret } })
    rmSync(dir, { recursive: true, force: true })
    const serving = await startServe({
      port: 0,
      host: '127.0.0.1',
      store: 'memory',
      users: [(await testUser(USER.username, USER.password)).user],
      tokenFormat: 'jwt',
      allowPrivateCimd: false,
      resources: config.resources.map((r) => ({
        uri: r.uri,
        scopes: r.scopes,
        accessTokenFormat: r.tokenFormat!,
      })),
      clients: config.clients.map((c) => ({ ...c, response_types: [] })),
    })
    try {
      const metadata = await json(await fetch(`${serving.issuer}/.well-known/oauth-authorization-server`))
      const clientId = String((await registerClient(serving.issuer, [REDIRECT]))['client_id'])
      const tokens = await codeFlow(metadata, clientId, REDIRECT, USER, { resource })
      assert.doesNotMatch(String(tokens['access_token']), /^ey/, 'opaque, not a JWT')
      const introspect = (secret: string) =>
        fetch(metadata['introspection_endpoint'], {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`opaque-rs:${secret}`).toString('base64')}`,
          },
          body: new URLSearchParams({ token: tokens['access_token'] }),
        })
      const active = await json(await introspect(rsSecret))
      assert.equal(active['active'], true)
      assert.equal(active['aud'], resource)
      assert.equal(active['sub'], USER.username)
      assert.equal((await introspect(`${rsSecret}x`)).status, 401, 'a wrong secret is refused')
    } finally {
      await serving.close()
    }
  })
})
