/**
 * Upstream presets end to end, real sockets and real chromium: a GitHub-style OAuth 2.0 provider on loopback (no
 * metadata at all, form-encoded token answers unless JSON is asked for, a /user API) as `--upstream github`
 * with its base URL overridden, and an OpenID provider (another mcp-oauth authorization server under
 * /realms/test) as `--upstream keycloak`. The MCP client (the project's engine) signs in through our login
 * page, the provider and our consent; the token it gets is ours, and the provider's access token never reaches
 * it, the browser pages, serve's stderr, or (unless kept, then sealed) the store.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import * as jose from 'jose'
import { type Browser, type BrowserContext, chromium } from 'playwright-core'
import { type Serving, startServe } from '../../src/cli/commands/serve.ts'
import { upstreamOptions } from '../../src/cli/upstream-options.ts'
import { type Authorizer, authorizedFetch, createSession, MemoryStore } from '../../src/client/index.ts'
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, need } from '../support/environment.ts'
import {
  freePort,
  HeadlessAgent,
  pkce,
  type RunningAuthorizationServer,
  registerClient,
  type ServeProcess,
  spawnServe,
  startAuthorizationServer,
  testUser,
} from './authorization-server-helpers.ts'

const GITHUB_CLIENT = { id: 'gh-client-id', secret: randomBytes(16).toString('base64url') }

/** A GitHub-style provider: authorize page with Authorize/Cancel, token endpoint, /api/v3/user(/emails). */
async function fakeGithub() {
  const codes = new Map<string, { challenge: string; redirect: string }>()
  const state = {
    issued: [] as string[],
    paths: [] as string[],
    tokenRequests: [] as { accept: string; form: URLSearchParams }[],
    /** Answer form-encoded whatever Accept says (older GitHub Enterprise, proxies that drop the header). */
    alwaysForm: false,
    /** Answer the token request with GitHub's status-200 error. */
    refuseCode: false,
  }
  const read = async (req: IncomingMessage) => {
    let body = ''
    for await (const chunk of req) body += chunk
    return new URLSearchParams(body)
  }
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    state.paths.push(url.pathname)
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const q = url.searchParams
      if (q.get('client_id') !== GITHUB_CLIENT.id || q.get('code_challenge_method') !== 'S256') {
        res.writeHead(400).end('bad authorization request')
        return
      }
      const back = (params: Record<string, string>) =>
        `${q.get('redirect_uri')}?${new URLSearchParams({ ...params, state: q.get('state') ?? '' })}`
      const code = randomBytes(10).toString('hex')
      codes.set(code, { challenge: q.get('code_challenge') ?? '', redirect: q.get('redirect_uri') ?? '' })
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(`<!doctype html><title>Authorize</title><h1>Authorize application</h1>
<p>scopes: ${q.get('scope')}</p>
<form method="get" action="/approve"><input type="hidden" name="to" value="${back({ code })}">
<button type="submit">Authorize</button></form>
<form method="get" action="/approve"><input type="hidden" name="to" value="${back({ error: 'access_denied' })}">
<button type="submit">Cancel</button></form>`)
      return
    }
    if (url.pathname === '/approve') {
      res.writeHead(302, { location: url.searchParams.get('to')! }).end()
      return
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      const form = await read(req)
      const accept = String(req.headers.accept ?? '')
      state.tokenRequests.push({ accept, form })
      const grant = codes.get(form.get('code') ?? '')
      codes.delete(form.get('code') ?? '')
      const verifier = createHash('sha256')
        .update(form.get('code_verifier') ?? '')
        .digest('base64url')
      let answer: Record<string, string>
      if (
        state.refuseCode ||
        !grant ||
        grant.challenge !== verifier ||
        grant.redirect !== form.get('redirect_uri') ||
        form.get('client_secret') !== GITHUB_CLIENT.secret
      ) {
        answer = {
          error: 'bad_verification_code',
          error_description: 'The code passed is incorrect or expired.',
        }
      } else {
        const token = `gho_${randomBytes(18).toString('base64url')}`
        state.issued.push(token)
        answer = { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' }
      }
      // GitHub: 200 either way; JSON only when asked for.
      if (accept.includes('application/json') && !state.alwaysForm) {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(answer))
      } else {
        res
          .writeHead(200, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' })
          .end(new URLSearchParams(answer).toString())
      }
      return
    }
    const bearer = String(req.headers.authorization ?? '').replace(/^Bearer /i, '')
    if (url.pathname.startsWith('/api/v3/user') && !state.issued.includes(bearer)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Bad credentials"}')
      return
    }
    if (url.pathname === '/api/v3/user') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ id: 4242, login: 'octo', name: 'Octo Cat', email: null }))
      return
    }
    if (url.pathname === '/api/v3/user/emails') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify([
          { email: 'old@example.com', primary: false, verified: true },
          { email: 'octo@example.com', primary: true, verified: true },
        ]),
      )
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, state, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

/** Loopback redirect target of the MCP client. */
async function callbackServer() {
  let waiting: ((url: URL) => void) | undefined
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    res.end('signed in')
    if (url.pathname === '/callback' && waiting) {
      const resolve = waiting
      waiting = undefined
      resolve(url)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`,
    next: () => new Promise<URL>((resolve) => (waiting = resolve)),
  }
}

/** Everything the MCP client received: token and MCP response bodies, and our pages as the browser got them. */
interface Seen {
  bodies: string[]
  consent: string[]
}

/** The person: our login page → the provider → our consent; `atProvider` does the provider's part. */
function browserAuthorizer(
  context: BrowserContext,
  callbacks: Awaited<ReturnType<typeof callbackServer>>,
  ours: string,
  seen: Seen,
  atProvider: (page: import('playwright-core').Page) => Promise<void>,
): Authorizer {
  context.on('response', (response) => {
    if (response.url().startsWith(ours) && response.request().resourceType() === 'document')
      response.text().then(
        (t) => seen.bodies.push(t),
        () => {},
      )
  })
  return {
    redirectUri: callbacks.url,
    async authorize(url) {
      const arrived = callbacks.next()
      const page = await context.newPage()
      try {
        await page.goto(url.href)
        await page.click('button:has-text("Sign in with")')
        await atProvider(page)
        await page.waitForURL((u) => u.href.startsWith(ours), { timeout: 15_000 })
        await page.waitForSelector('text=Allow access?', { timeout: 15_000 })
        seen.consent.push((await page.textContent('main')) ?? '')
        await page.click('button:has-text("Allow")')
        return await arrived
      } finally {
        void page.close().catch(() => {})
      }
    },
  }
}

/** Signs the engine in and calls whoami; returns the session's tokens and the whoami text. */
async function signInAndCall(mcp: string, authorizer: Authorizer, seen: Seen) {
  const recording = (inner: typeof fetch): typeof fetch =>
    (async (input: string | URL | Request, init?: RequestInit) => {
      const response = await inner(input, init)
      seen.bodies.push(await response.clone().text())
      return response
    }) as typeof fetch
  const session = createSession({
    serverUrl: mcp,
    authorizer,
    store: new MemoryStore(),
    identity: { client_name: 'upstream preset test' },
    fetch: recording(fetch),
  })
  const client = new Client({ name: 'upstream-presets', version: '1.0.0' })
  await client.connect(
    new StreamableHTTPClientTransport(new URL(mcp), {
      fetch: recording(authorizedFetch(session) as typeof fetch),
    }),
  )
  const who = JSON.stringify((await client.callTool({ name: 'whoami', arguments: {} })).content)
  const tokens = (await session.tokens())!
  await client.close()
  return { tokens, who }
}

function assertNowhere(secret: string, places: Record<string, string>) {
  assert.ok(secret.length > 20)
  for (const [where, text] of Object.entries(places))
    assert.equal(text.includes(secret), false, `the provider's token must not appear in ${where}`)
}

/** The store's bytes (database and its write-ahead log) and its model names. */
async function storeContents(path: string): Promise<{ bytes: string; models: string[] }> {
  const { DatabaseSync } = await import('node:sqlite')
  const db = new DatabaseSync(path, { readOnly: true })
  const models = (db.prepare('SELECT DISTINCT model FROM mcp_oauth_models').all() as { model: string }[]).map(
    (r) => r.model,
  )
  db.close()
  const bytes = [path, `${path}-wal`]
    .filter(existsSync)
    .map((p) => readFileSync(p).toString('latin1'))
    .join('')
  return { bytes, models }
}

describe('upstream presets: the person signs in at the provider, the MCP client gets our token', () => {
  let browser: Browser
  let github: Awaited<ReturnType<typeof fakeGithub>>
  let callbacks: Awaited<ReturnType<typeof callbackServer>>
  let idp: RunningAuthorizationServer
  let githubServing: Serving | undefined
  const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-upstream-'))
  const bob = { username: 'bob', password: 'bob has a long password' }
  const cleanups: (() => Promise<unknown> | unknown)[] = []
  const authorizeOnGithub = async (page: import('playwright-core').Page) => {
    await page.waitForSelector('text=Authorize application')
    await page.click('button:has-text("Authorize")')
  }

  before(async () => {
    github = await fakeGithub()
    callbacks = await callbackServer()
    idp = await startAuthorizationServer({
      issuerPath: '/realms/test',
      resources: [{ uri: 'https://idp.example.com/api', scopes: ['api'] }],
      users: [{ ...(await testUser(bob.username, bob.password)).user, displayName: 'Bob Builder' }],
    })
    if (chromiumAvailable())
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
  })
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
    await browser?.close()
    github.server.closeAllConnections()
    github.server.close()
    callbacks.server.close()
    await idp.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('--upstream github (CLI, upstream-only): JSON token answer, our token, nothing of GitHub kept', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const store = join(dir, 'github.db')
    const serve: ServeProcess = await spawnServe(
      [
        '--port',
        '0',
        '--store',
        `sqlite:${store}`,
        '--upstream',
        'github',
        '--upstream-base-url',
        github.base,
        '--upstream-client-id',
        GITHUB_CLIENT.id,
        '--upstream-only',
      ],
      { MCP_OAUTH_UPSTREAM_CLIENT_SECRET: GITHUB_CLIENT.secret, MCP_OAUTH_DATA_DIR: dir },
    )
    cleanups.push(() => serve.stop())
    assert.match(serve.stderr(), /upstream github at http:\/\/127\.0\.0\.1:\d+\/login\/oauth\/authorize/)
    assert.match(serve.stderr(), /register the redirect URI http:\/\/127\.0\.0\.1:\d+\/upstream\/callback/)
    const context = await browser.newContext()
    cleanups.push(() => context.close())
    const seen: Seen = { bodies: [], consent: [] }
    let loginPage = ''
    const authorizer = browserAuthorizer(context, callbacks, serve.ready.issuer, seen, async (page) => {
      loginPage = seen.bodies.find((b) => b.includes('Sign in with')) ?? ''
      await authorizeOnGithub(page)
    })
    const { tokens, who } = await signInAndCall(serve.ready.mcp, authorizer, seen)

    assert.match(loginPage, /Sign in with GitHub \(127\.0\.0\.1:\d+\)/)
    assert.doesNotMatch(loginPage, /id="password"/, '--upstream-only hides the password form')
    assert.match(seen.consent[0]!, /Octo Cat \(octo@example\.com\)/)
    const claims = jose.decodeJwt(tokens.access_token)
    assert.equal(claims.iss, serve.ready.issuer)
    assert.equal(claims.aud, serve.ready.mcp)
    const account = `${new URL(github.base).host}:4242`
    assert.equal(claims.sub, account)
    assert.match(who, new RegExp(account.replace(/[.]/g, '\\.')))

    const request = github.state.tokenRequests.at(-1)!
    assert.match(request.accept, /application\/json/)
    assert.equal(request.form.get('client_id'), GITHUB_CLIENT.id)
    assert.ok(request.form.get('code_verifier'))
    assert.equal(
      github.state.paths.some((p) => p.startsWith('/.well-known')),
      false,
      'no metadata was looked for',
    )
    const upstreamToken = github.state.issued.at(-1)!

    // --upstream-only refuses the password form even when it is posted by hand.
    const other = await registerClient(serve.ready.issuer, [callbacks.url], {
      client_name: 'password poster',
    })
    const agent = new HeadlessAgent()
    let response = await agent.request(
      `${serve.ready.issuer}/auth?${new URLSearchParams({
        response_type: 'code',
        client_id: other['client_id'],
        redirect_uri: callbacks.url,
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        scope: 'tools:read',
      })}`,
    )
    while (response.status === 303 || response.status === 302)
      response = await agent.request(new URL(response.headers.get('location')!, serve.ready.issuer).href)
    const page = await response.text()
    const interaction = new URL(response.url).pathname
    const posted = await agent.request(`${serve.ready.issuer}${interaction}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        csrf: /name="csrf" value="([^"]+)"/.exec(page)![1]!,
        username: 'dev',
        password: 'whatever it is',
      }),
    })
    assert.equal(posted.status, 400)
    assert.match(await posted.text(), /sign-in is not expected at this step/)
    await serve.stop()
    const { bytes, models } = await storeContents(store)
    assert.ok(models.includes('UpstreamAccount'))
    assert.deepEqual(
      models.filter((m) => m.startsWith('UpstreamTokens')),
      [],
      'without --upstream-pass-tokens nothing of the provider is kept',
    )
    assertNowhere(upstreamToken, {
      'the client tokens': JSON.stringify(tokens),
      'responses the client received': seen.bodies.join('\n'),
      "serve's stderr": serve.stderr(),
      'the store': bytes,
    })
  })

  test('github with form-encoded answers and --upstream-pass-tokens: kept sealed, for the operator, until the grant ends', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    github.state.alwaysForm = true
    const store = join(dir, 'github-kept.db')
    const upstream = upstreamOptions(
      {
        upstream: 'github',
        'upstream-base-url': github.base,
        'upstream-client-id': GITHUB_CLIENT.id,
        'upstream-pass-tokens': true,
      },
      { MCP_OAUTH_UPSTREAM_CLIENT_SECRET: GITHUB_CLIENT.secret },
    )!
    const stderr: string[] = []
    const serving: Serving = await startServe({
      port: 0,
      host: '127.0.0.1',
      store: `sqlite:${store}`,
      users: [(await testUser('alice', 'correct horse battery')).user],
      tokenFormat: 'jwt',
      allowPrivateCimd: false,
      upstream,
      audit: (line) => stderr.push(line),
    })
    githubServing = serving
    cleanups.push(() => serving.close())
    const context = await browser.newContext()
    cleanups.push(() => context.close())
    const seen: Seen = { bodies: [], consent: [] }
    const { tokens } = await signInAndCall(
      serving.mcp,
      browserAuthorizer(context, callbacks, serving.issuer, seen, authorizeOnGithub),
      seen,
    )
    github.state.alwaysForm = false
    assert.match(github.state.tokenRequests.at(-1)!.accept, /application\/json/)
    const upstreamToken = github.state.issued.at(-1)!
    const jti = String(jose.decodeJwt(tokens.access_token).jti)
    const kept = await serving.authorizationServer.upstreamTokens({ jti })
    assert.equal(kept?.access_token, upstreamToken)
    assert.equal(kept?.token_type, 'bearer')
    assertNowhere(upstreamToken, {
      'the client tokens': JSON.stringify(tokens),
      'responses the client received': seen.bodies.join('\n'),
      'the audit log': stderr.join(''),
      'the store (kept sealed)': (await storeContents(store)).bytes,
    })

    // Revoking the refresh token ends the grant, and the kept tokens with it.
    const revoked = await fetch(`${serving.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: tokens.refresh_token!,
        client_id: String(jose.decodeJwt(tokens.access_token)['client_id']),
      }),
    })
    assert.equal(revoked.status, 200)
    assert.equal(await serving.authorizationServer.upstreamTokens({ jti }), undefined)
    assert.equal((await storeContents(store)).models.includes('UpstreamTokens'), false)
  })

  test('--upstream keycloak (an OpenID provider under /realms/test): ID token login, tokens kept for the operator', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const port = await freePort()
    const registration = await registerClient(idp.issuer, [`http://127.0.0.1:${port}/upstream/callback`], {
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid profile',
      client_name: 'MCP authorization server',
    })
    const upstream = upstreamOptions(
      {
        upstream: 'keycloak',
        'upstream-issuer': idp.issuer,
        'upstream-client-id': registration['client_id'],
        'upstream-scopes': 'openid profile',
        'upstream-pass-tokens': true,
      },
      { MCP_OAUTH_UPSTREAM_CLIENT_SECRET: registration['client_secret'] },
    )!
    const serving: Serving = await startServe({
      port,
      host: '127.0.0.1',
      store: 'memory',
      users: [],
      tokenFormat: 'jwt',
      allowPrivateCimd: false,
      upstream,
    })
    cleanups.push(() => serving.close())
    const context = await browser.newContext()
    cleanups.push(() => context.close())
    const seen: Seen = { bodies: [], consent: [] }
    const atIdp = async (page: import('playwright-core').Page) => {
      await page.waitForSelector('#password')
      await page.fill('#username', bob.username)
      await page.fill('#password', bob.password)
      await page.click('button[type=submit]')
      // The IdP's own consent, before ours.
      await page.waitForSelector('text=Allow access?')
      assert.ok(page.url().startsWith(idp.origin))
      await page.click('button:has-text("Allow")')
    }
    const { tokens, who } = await signInAndCall(
      serving.mcp,
      browserAuthorizer(context, callbacks, serving.issuer, seen, atIdp),
      seen,
    )
    assert.match(seen.consent[0]!, /Bob Builder/)
    const claims = jose.decodeJwt(tokens.access_token)
    assert.equal(claims.iss, serving.issuer)
    assert.equal(claims.aud, serving.mcp)
    assert.equal(claims.sub, `${new URL(idp.issuer).host}/realms/test:bob`)
    assert.match(who, /realms\/test:bob/)
    const kept = await serving.authorizationServer.upstreamTokens({ jti: String(claims.jti) })
    assert.ok(kept?.access_token && kept.id_token)
    assert.equal(jose.decodeJwt(kept.id_token).iss, idp.issuer)
    assertNowhere(kept.access_token, {
      'the client tokens': JSON.stringify(tokens),
      'responses the client received': seen.bodies.join('\n'),
    })
  })

  test('a refusal at the provider, or a refused code, ends on an error page with what to do next', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    assert.ok(githubServing, 'the pass-tokens test started the server')
    const serving = githubServing
    const client = await registerClient(serving.issuer, [callbacks.url], { client_name: 'refusals' })
    // Plain HTTP with a cookie jar: the browser's part was shown above; here only the pages matter.
    const attempt = async (button: 'Authorize' | 'Cancel') => {
      const agent = new HeadlessAgent()
      let response = await agent.request(
        `${serving.issuer}/auth?${new URLSearchParams({
          response_type: 'code',
          client_id: client['client_id'],
          redirect_uri: callbacks.url,
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
          scope: 'tools:read',
        })}`,
      )
      while (response.status === 303 || response.status === 302)
        response = await agent.request(new URL(response.headers.get('location')!, serving.issuer).href)
      const login = await response.text()
      assert.match(login, /id="password"/, 'local users and the provider coexist')
      const csrf = /name="csrf" value="([^"]+)"/.exec(login)![1]!
      const action = /<form method="post" action="([^"]+\/upstream)"/.exec(login)![1]!
      const toProvider = await agent.request(new URL(action, serving.issuer).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf }),
      })
      assert.equal(toProvider.status, 303)
      const page = await (await fetch(toProvider.headers.get('location')!)).text()
      const back = [...page.matchAll(/name="to" value="([^"]+)">\s*<button type="submit">(\w+)/g)].find(
        (m) => m[2] === button,
      )![1]!
      const answer = await agent.request(back)
      return { status: answer.status, text: await answer.text() }
    }
    const denied = await attempt('Cancel')
    assert.equal(denied.status, 400)
    assert.match(denied.text, /upstream_denied/)
    assert.match(denied.text, /approve the request at the provider/)
    github.state.refuseCode = true
    try {
      const refused = await attempt('Authorize')
      assert.equal(refused.status, 400)
      assert.match(
        refused.text,
        /upstream_token_error<\/strong>: the provider refused the code: bad_verification_code/,
      )
      assert.match(refused.text, /MCP_OAUTH_UPSTREAM_CLIENT_SECRET/)
    } finally {
      github.state.refuseCode = false
    }
  })
})
