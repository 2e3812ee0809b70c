/**
 * `mcp-oauth serve --resource` as the authorization server of a resource server that is not ours: a few lines of
 * node:http and `jose` in this file, checking tokens the way a .NET (or any) server does (issuer from the AS
 * metadata, keys from its jwks_uri, `typ: at+jwt`, its own audience). One spawned serve holds two resources
 * (flags) and, from a `--config` file, a local user and a confidential pre-registered client whose secret comes
 * from the environment, as nanobot wants it. Sign-in is the client engine with a headless agent walking the real
 * login and consent forms.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose'
import { type Authorizer, authorizedFetch, MemoryStore, Session } from '../../src/client/index.ts'
import {
  codeFlow,
  HeadlessAgent,
  type Json,
  json,
  type ServeProcess,
  spawnServe,
} from './authorization-server-helpers.ts'

const USER = { username: 'alice', password: randomBytes(12).toString('base64url') }
const NANOBOT_SECRET = randomBytes(32).toString('base64url')
const REDIRECT = 'http://127.0.0.1:9/callback'

/** The foreign resource server: two MCP endpoints, each accepting only tokens whose `aud` is its own URL. */
class ForeignResourceServer {
  server: Server = createServer((req, res) => void this.#handle(req, res))
  origin = ''
  issuer = ''
  /** Why the last token was refused, per path (jose's error code and claim). */
  refusals = new Map<string, string>()
  /** The bearer token last accepted, per path. */
  accepted = new Map<string, string>()
  #keys: ReturnType<typeof createRemoteJWKSet> | undefined

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  url(path: '/mcp' | '/other'): string {
    return `${this.origin}${path}`
  }

  /** Configured as a .NET server's Authority: the issuer's metadata names the keys. */
  async trust(issuer: string): Promise<void> {
    this.issuer = issuer
    const metadata = await json(await fetch(`${issuer}/.well-known/oauth-authorization-server`))
    this.#keys = createRemoteJWKSet(new URL(metadata['jwks_uri']))
  }

  async #handle(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(JSON.stringify(body))
    }
    const prm = /^\/\.well-known\/oauth-protected-resource(\/mcp|\/other)$/.exec(path)?.[1]
    if (prm) {
      send(200, {
        resource: this.url(prm as '/mcp'),
        authorization_servers: [this.issuer],
        scopes_supported: prm === '/mcp' ? ['mcp', 'tools:read'] : ['other'],
      })
      return
    }
    if (path !== '/mcp' && path !== '/other') return send(404, { error: 'not found' })
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const request = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Json
    const challenge = `Bearer resource_metadata="${this.origin}/.well-known/oauth-protected-resource${path}"`
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    if (!token) return send(401, { error: 'unauthorized' }, { 'www-authenticate': challenge })
    let claims: JWTPayload
    try {
      ;({ payload: claims } = await jwtVerify(token, this.#keys!, {
        issuer: this.issuer,
        audience: this.url(path),
        typ: 'at+jwt',
        algorithms: ['ES256'],
      }))
    } catch (error) {
      const e = error as { code?: string; claim?: string }
      this.refusals.set(path, `${e.code}${e.claim ? `:${e.claim}` : ''}`)
      return send(
        401,
        { error: 'invalid_token' },
        { 'www-authenticate': `${challenge}, error="invalid_token"` },
      )
    }
    this.accepted.set(path, token)
    send(200, {
      jsonrpc: '2.0',
      id: request['id'] ?? null,
      result: { sub: claims.sub, client_id: claims['client_id'], scope: claims['scope'], aud: claims.aud },
    })
  }
}

describe('serve --resource: the authorization server for a resource server that is not ours', () => {
  const foreign = new ForeignResourceServer()
  let serve: ServeProcess
  let dir = ''

  before(async () => {
    await foreign.start()
    dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-standalone-'))
    const config = join(dir, 'mcp-oauth.json')
    writeFileSync(
      config,
      JSON.stringify({
        $schema: 'https://unpkg.com/mcp-oauth-toolkit/schema/mcp-oauth.schema.json',
        store: 'memory',
        quiet: true,
        users: [{ username: USER.username, password: { env: 'TEST_ALICE_PASSWORD' } }],
        clients: [
          {
            client_id: 'nanobot',
            client_secret: { env: 'TEST_NANOBOT_SECRET' },
            // Registered without a port: a native app's loopback callback may use any (RFC 8252 §7.3).
            redirect_uris: ['http://127.0.0.1/callback'],
            token_endpoint_auth_method: 'client_secret_basic',
          },
        ],
      }),
      { mode: 0o600 },
    )
    serve = await spawnServe(
      [
        ...['--config', config, '--port', '0'],
        ...['--resource', foreign.url('/mcp'), '--scopes', 'mcp tools:read'],
        ...['--resource', foreign.url('/other'), '--scopes', 'other'],
      ],
      { TEST_ALICE_PASSWORD: USER.password, TEST_NANOBOT_SECRET: NANOBOT_SECRET },
    )
    await foreign.trust(serve.ready.issuer)
  })
  after(async () => {
    await serve?.stop()
    foreign.server.closeAllConnections()
    await new Promise((resolve) => foreign.server.close(resolve))
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const agent = new HeadlessAgent()
  const authorizer: Authorizer = {
    redirectUri: REDIRECT,
    authorize: async (url) => new URL((await agent.authorize(url.href, REDIRECT, USER)).callback),
  }
  const call = (fetch: typeof globalThis.fetch, url: string) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })

  test('only the authorization server runs, and it says what it issues for', async () => {
    const ready = serve.ready as ServeProcess['ready'] & { resources: string[] }
    assert.equal(ready.mcp, undefined)
    assert.deepEqual(ready.resources, [foreign.url('/mcp'), foreign.url('/other')])
    assert.equal((await fetch(`${serve.ready.issuer}/mcp`, { method: 'POST' })).status, 404, 'no demo /mcp')
    assert.match(
      serve.stderr(),
      new RegExp(
        `issuing RFC 9068 JWT access tokens with aud ${foreign.url('/mcp')} \\(scopes: mcp tools:read\\)`,
      ),
    )
    assert.match(serve.stderr(), /pre-registered confidential client nanobot/)
    assert.doesNotMatch(serve.stderr(), new RegExp(NANOBOT_SECRET), 'the secret is never printed')
  })

  test('what the .NET author patched by hand: RFC 8414 metadata, DCR, default scopes, no secret for public clients, scopes at /authorize', async () => {
    const metadata = await json(await fetch(`${serve.ready.issuer}/.well-known/oauth-authorization-server`))
    assert.equal(metadata['issuer'], serve.ready.issuer)
    assert.ok(metadata['registration_endpoint'], 'registration_endpoint is advertised')
    for (const scope of ['mcp', 'tools:read', 'other'])
      assert.ok(metadata['scopes_supported'].includes(scope), scope)
    // An inspector-style registration: public, no scope.
    const registered = await fetch(metadata['registration_endpoint'], {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }),
    })
    assert.equal(registered.status, 201)
    const client = await json(registered)
    assert.equal(client['client_secret'], undefined, 'a public client gets no secret')
    assert.deepEqual(
      client['scope'].split(' ').sort(),
      ['mcp', 'other', 'tools:read'],
      'default scopes registered',
    )
    // /authorize with a resource indicator and no scope: that resource's scopes are injected.
    const tokens = await codeFlow(metadata, client['client_id'], REDIRECT, USER, {
      resource: foreign.url('/other'),
    })
    assert.equal(tokens['scope'], 'other', 'the token response names the injected scope')
    const accepted = await fetch(foreign.url('/other'), {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens['access_token']}`, 'content-type': 'application/json' },
      body: '{}',
    })
    assert.equal(accepted.status, 200, 'the foreign server accepts it')
  })

  test("a client signs in through the foreign server's metadata; it accepts the token, and refuses one issued for another resource", async () => {
    const mcp = new Session({
      serverUrl: foreign.url('/mcp'),
      store: new MemoryStore(),
      authorizer,
      dpop: 'never',
    })
    const response = await call(authorizedFetch(mcp), foreign.url('/mcp'))
    assert.equal(response.status, 200)
    const { result } = await json(response)
    assert.equal(result.sub, USER.username)
    assert.equal(result.aud, foreign.url('/mcp'))
    assert.ok(String(result.scope).split(' ').includes('mcp'), result.scope)

    const other = new Session({
      serverUrl: foreign.url('/other'),
      store: new MemoryStore(),
      authorizer,
      dpop: 'never',
    })
    assert.equal((await call(authorizedFetch(other), foreign.url('/other'))).status, 200)
    const otherToken = (await other.tokens())!.access_token
    const wrongAudience = await fetch(foreign.url('/mcp'), {
      method: 'POST',
      headers: { authorization: `Bearer ${otherToken}`, 'content-type': 'application/json' },
      body: '{}',
    })
    assert.equal(wrongAudience.status, 401)
    assert.equal(foreign.refusals.get('/mcp'), 'ERR_JWT_CLAIM_VALIDATION_FAILED:aud')
  })

  test('the confidential pre-registered client from the config file signs in with explicit endpoints, as nanobot does', async () => {
    const issuer = serve.ready.issuer
    const nanobot = new Session({
      serverUrl: foreign.url('/mcp'),
      store: new MemoryStore(),
      authorizer,
      dpop: 'never',
      identity: {
        client_name: 'nanobot',
        preRegistered: {
          client_id: 'nanobot',
          client_secret: NANOBOT_SECRET,
          token_endpoint_auth_method: 'client_secret_basic',
        },
      },
      authorizationServerMetadata: {
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
      },
    })
    const response = await call(authorizedFetch(nanobot), foreign.url('/mcp'))
    assert.equal(response.status, 200)
    const { result } = await json(response)
    assert.equal(result.client_id, 'nanobot')
    assert.equal(result.sub, USER.username)
    // The secret is checked: a wrong one, or none, is refused before any grant is looked at.
    for (const authorization of [
      `Basic ${Buffer.from(`nanobot:${NANOBOT_SECRET}x`).toString('base64')}`,
      undefined,
    ]) {
      const refused = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(authorization ? { authorization } : {}),
        },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: (await nanobot.tokens())!.refresh_token ?? 'none',
          ...(authorization ? {} : { client_id: 'nanobot' }),
        }),
      })
      assert.equal(refused.status, 401)
      assert.equal((await json(refused))['error'], 'invalid_client')
    }
  })
})
