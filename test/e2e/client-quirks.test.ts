/**
 * The client fixes real authorization servers force (issue 11), through real sockets: a plain oidc-provider with
 * its defaults (registered scope is a ceiling, refresh tokens only for offline_access with prompt=consent) in front
 * of an SDK v2 MCP server whose `deploy` tool needs a second scope, bent per test with koa middleware into the
 * quirk at hand (resource refused like Entra's AADSTS9010010, no metadata like a GitHub OAuth app).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, beforeEach, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { createMcpHandler } from '@modelcontextprotocol/server'
import type Provider from 'oidc-provider'
import { runDoctor } from '../../src/cli/doctor/run.ts'
import { type Authorizer, authorizedFetch, MemoryStore, Session, storeKey } from '../../src/client/index.ts'
import { createResourceServer, jwtVerifier, type ResourceServer } from '../../src/server/index.ts'
import { buildMcpServer, type Listening, serveFetch } from '../../src/server/testing/mcp.test-helper.ts'
import {
  headlessAgent,
  startAuthorizationServer,
  type TestAuthorizationServer,
} from '../../src/server/testing/oidc.test-helper.ts'

const REDIRECT = 'http://127.0.0.1:9/callback'
const bin = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))

/** What the AS saw, and how it is bent for the current test. */
const seen = { wellKnown: 0, registrations: 0, grants: [] as string[], authorizeUrls: [] as URL[] }
const quirks = { refuseResource: false, hideMetadata: false }

describe('client quirks against oidc-provider defaults', () => {
  let as: TestAuthorizationServer
  let mcp: Listening
  let rs: ResourceServer
  let resource = ''

  before(async () => {
    as = await startAuthorizationServer({
      resource: () => resource,
      scopes: ['mcp', 'deploy'],
      // Both registrable: oidc-provider then holds a DCR client to the scope it registered with.
      registrableScopes: ['mcp', 'deploy'],
    })
    const provider = as.provider as Provider & {
      use(fn: (ctx: never, next: () => Promise<void>) => unknown): void
    }
    provider.use(
      async (
        ctx: {
          path: string
          method: string
          query: Record<string, string>
          status: number
          redirect(u: string): void
        },
        next: () => Promise<void>,
      ) => {
        if (ctx.path.startsWith('/.well-known/')) {
          seen.wellKnown++
          if (quirks.hideMetadata) {
            ctx.status = 404
            return
          }
        }
        if (ctx.path === '/reg' && ctx.method === 'POST') seen.registrations++
        if (ctx.path === '/auth' && quirks.refuseResource && ctx.query['resource'] && ctx.query['scope']) {
          // Entra v2 refuses `resource` next to scopes; this is its answer, sent back to the client.
          const back = new URL(ctx.query['redirect_uri']!)
          back.searchParams.set('error', 'invalid_request')
          back.searchParams.set(
            'error_description',
            "AADSTS9010010: The resource parameter provided in the request doesn't match with the requested scopes.",
          )
          back.searchParams.set('state', ctx.query['state'] ?? '')
          back.searchParams.set('iss', as.issuer)
          ctx.redirect(back.href)
          return
        }
        await next()
      },
    )
    provider.on('grant.success', (ctx: { oidc: { params?: { grant_type?: unknown } } }) => {
      seen.grants.push(String(ctx.oidc.params?.grant_type))
    })
    const handler = createMcpHandler(() => buildMcpServer())
    mcp = await serveFetch((req) => rs.handle(req, (r, { authInfo }) => handler.fetch(r, { authInfo })))
    resource = `${mcp.url}/mcp`
    rs = createResourceServer({
      resource,
      authorizationServers: [as.issuer],
      scopesSupported: ['mcp', 'deploy'],
      // The JWKS location is given: the GitHub-style test hides the AS metadata the verifier would read.
      verifier: jwtVerifier({ issuer: as.issuer, jwksUri: `${as.issuer}/jwks` }),
      policy: { required: ['mcp'], tools: { deploy: ['deploy'] } },
    })
  })
  after(async () => {
    await mcp.close()
    await as.close()
  })
  beforeEach(() => {
    seen.wellKnown = 0
    seen.registrations = 0
    seen.grants.length = 0
    seen.authorizeUrls.length = 0
    quirks.refuseResource = false
    quirks.hideMetadata = false
  })

  function authorizer(reasons: string[] = []): Authorizer {
    const agent = headlessAgent()
    return {
      redirectUri: REDIRECT,
      authorize: (url, context) => {
        reasons.push(context.reason)
        seen.authorizeUrls.push(new URL(url))
        return agent.authorize(url, REDIRECT)
      },
    }
  }

  async function connect(fetch: ReturnType<typeof authorizedFetch>): Promise<Client> {
    const client = new Client({ name: 'client-quirks', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(resource), { fetch }))
    return client
  }

  const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text

  it('registers once with every scope, steps up without invalid_scope or rediscovery, and gets a refresh token', async () => {
    const reasons: string[] = []
    const store = new MemoryStore()
    const fetch = authorizedFetch({
      serverUrl: resource,
      authorizer: authorizer(reasons),
      store,
      dpop: 'never',
    })
    const client = await connect(fetch)
    assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /user-1/)
    const metadataBeforeStepUp = seen.wellKnown
    assert.equal(text(await client.callTool({ name: 'deploy', arguments: {} })), 'deployed')
    assert.deepEqual(reasons, ['login', 'step-up'])
    assert.equal(seen.registrations, 1, 'the first registration already allowed the step-up scope')
    assert.equal(seen.wellKnown, metadataBeforeStepUp, 'step-up reused the cached discovery')
    // oidc-provider keeps offline_access only with prompt=consent: the refresh token proves it was sent.
    const status = await fetch.session.status()
    assert.equal(status.has_refresh_token, true)
    assert.ok(seen.authorizeUrls.every((u) => u.searchParams.get('prompt') === 'consent'))
    const tokens = (await fetch.session.tokens())!
    const refreshed = await fetch.session.refresh(tokens)
    assert.notEqual(refreshed.access_token, tokens.access_token)
    assert.ok(seen.grants.includes('refresh_token'))
    assert.equal(text(await client.callTool({ name: 'deploy', arguments: {} })), 'deployed')
    assert.deepEqual(reasons, ['login', 'step-up'], 'no further sign-in')
    await client.close()
  })

  it('a stored client registered with the first scope only is registered again on invalid_scope', async () => {
    // What an earlier version left behind: a real DCR client at this AS whose scope is the first sign-in's.
    const r = await fetch(`${as.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        application_type: 'native',
        scope: 'openid offline_access mcp',
      }),
    })
    assert.equal(r.status, 201)
    const old = (await r.json()) as { client_id: string }
    const store = new MemoryStore()
    await store.set(storeKey.registration(as.issuer), {
      issuer: as.issuer,
      client_id: old.client_id,
      token_endpoint_auth_method: 'none',
      redirect_uris: [REDIRECT],
      scope: 'openid offline_access mcp',
      source: 'dcr',
      created_at: Date.now(),
    })
    const reasons: string[] = []
    const logs: string[] = []
    const fetch2 = authorizedFetch({
      serverUrl: resource,
      authorizer: authorizer(reasons),
      store,
      dpop: 'never',
      log: (m) => logs.push(m),
    })
    const client = await connect(fetch2)
    assert.equal(text(await client.callTool({ name: 'deploy', arguments: {} })), 'deployed')
    assert.ok(
      logs.some((l) => /registered scope; registering again/.test(l)),
      logs.join('\n'),
    )
    const ids = seen.authorizeUrls.map((u) => u.searchParams.get('client_id'))
    assert.equal(ids[0], old.client_id)
    assert.notEqual(ids.at(-1), old.client_id)
    await client.close()
  })

  it('an AS refusing resource (Entra AADSTS9010010) is retried once without it, remembered for the issuer', async () => {
    quirks.refuseResource = true
    const store = new MemoryStore()
    const logs: string[] = []
    const fetch = authorizedFetch({
      serverUrl: resource,
      authorizer: authorizer(),
      store,
      dpop: 'never',
      log: (m) => logs.push(m),
      authorizationParams: { access_type: 'offline' },
    })
    const client = await connect(fetch)
    assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /user-1/)
    assert.deepEqual(
      seen.authorizeUrls.map((u) => u.searchParams.has('resource')),
      [true, false],
    )
    assert.ok(seen.authorizeUrls.every((u) => u.searchParams.get('access_type') === 'offline'))
    assert.ok(logs.some((l) => /refused the resource parameter/.test(l)))
    assert.ok(fetch.session.trace.steps.some((s) => s.code === 'resource_parameter_refused'))
    // The step-up does not try the parameter again.
    assert.equal(text(await client.callTool({ name: 'deploy', arguments: {} })), 'deployed')
    assert.equal(seen.authorizeUrls.length, 3)
    assert.equal(seen.authorizeUrls[2]!.searchParams.has('resource'), false)
    await client.close()
  })

  it('an AS without metadata is used through the endpoints the user gives (GitHub-style)', async () => {
    quirks.hideMetadata = true
    const reg = await fetch(`${as.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        application_type: 'native',
      }),
    })
    const app = (await reg.json()) as { client_id: string }
    const store = new MemoryStore()
    const noHints = authorizedFetch({ serverUrl: resource, authorizer: authorizer(), store, dpop: 'never' })
    await assert.rejects(connect(noHints), /no metadata|authorization_server_metadata_not_found/)
    const withEndpoints = authorizedFetch({
      serverUrl: resource,
      authorizer: authorizer(),
      store,
      dpop: 'never',
      identity: { client_name: 'quirks', preRegistered: { client_id: app.client_id } },
      authorizationServerMetadata: {
        issuer: as.issuer,
        authorization_endpoint: `${as.issuer}/auth`,
        token_endpoint: `${as.issuer}/token`,
      },
    })
    const client = await connect(withEndpoints)
    assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /user-1/)
    assert.equal(seen.authorizeUrls.at(-1)!.searchParams.get('client_id'), app.client_id)
    await client.close()
  })

  it('doctor names the quirks: offline_access needs consent, resource refused (from its sign-in), no metadata', async () => {
    quirks.refuseResource = true
    const store = new MemoryStore()
    const report = await runDoctor(resource, {
      login: {
        session: (offlineAccess) =>
          new Session({ serverUrl: resource, authorizer: authorizer(), store, offlineAccess, dpop: 'never' }),
        callTools: [],
      },
    })
    const diagnoses = report.checks.map((c) => c.diagnosis).filter(Boolean)
    assert.ok(diagnoses.includes('offline_access_needs_consent'), diagnoses.join(', '))
    assert.ok(diagnoses.includes('resource_parameter_refused'), diagnoses.join(', '))
    quirks.refuseResource = false
    quirks.hideMetadata = true
    const bare = await runDoctor(resource)
    assert.ok(bare.checks.some((c) => c.diagnosis === 'no_authorization_server_metadata'))
  })

  it('mcp-oauth login takes the endpoints, --authorize-param and --resource-parameter omit from its flags', async () => {
    quirks.hideMetadata = true
    const reg = await fetch(`${as.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: ['http://127.0.0.1/callback'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        application_type: 'native',
      }),
    })
    const app = (await reg.json()) as { client_id: string }
    const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-quirks-'))
    const env: NodeJS.ProcessEnv = { ...process.env, BROWSER: 'true' }
    for (const name of ['DISPLAY', 'WAYLAND_DISPLAY', 'DBUS_SESSION_BUS_ADDRESS']) delete env[name]
    const args = [
      ...['login', resource, '--store', 'memory', '--store-dir', dir, '--client-id', app.client_id],
      ...['--authorization-endpoint', `${as.issuer}/auth`, '--token-endpoint', `${as.issuer}/token`],
      ...['--issuer', as.issuer, '--authorize-param', 'access_type=offline', '--resource-parameter', 'omit'],
    ]
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    child.stdin.end()
    let stderr = ''
    let signIn: Promise<URL> | undefined
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
      const printed = /open this URL in a browser:\n\s+(\S+)/.exec(stderr)?.[1]
      if (printed && !signIn) {
        const url = new URL(printed)
        const agent = headlessAgent()
        signIn = agent.authorize(url, url.searchParams.get('redirect_uri')!).then(async (callback) => {
          await (await fetch(callback)).arrayBuffer()
          return url
        })
      }
    })
    try {
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
      assert.equal(code, 0, stderr)
      const url = await signIn!
      assert.equal(url.origin + url.pathname, `${as.issuer}/auth`)
      assert.equal(url.searchParams.get('client_id'), app.client_id)
      assert.equal(url.searchParams.get('access_type'), 'offline')
      assert.equal(url.searchParams.get('prompt'), 'consent')
      assert.equal(url.searchParams.has('resource'), false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
