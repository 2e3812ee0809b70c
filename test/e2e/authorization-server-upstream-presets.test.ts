/**
 * Upstream presets end to end, real sockets and real chromium: a GitHub-style OAuth 2.0 provider on loopback (no
 * metadata at all, form-encoded token answers unless JSON is asked for, a /user API) as `--upstream github`
 * with its base URL overridden, and an OpenID provider (another mcp-oauth authorization server under
 * /realms/test) as `--upstream keycloak`. The MCP client (the project's engine) signs in through our login
 * page, the provider and our consent; the token it gets is ours, and the provider's access token never reaches
 * it, the browser pages, serve's stderr, or (unless kept, then sealed) the store.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import * as jose from 'jose'
import { type Browser, chromium, type Page } from 'playwright-core'
import { type Serving, startServe } from '../../src/cli/commands/serve.ts'
import { upstreamOptions } from '../../src/cli/upstream-options.ts'
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, need } from '../support/environment.ts'
import {
  assertNowhere,
  browserAuthorizer,
  callbackServer,
  fakeGithub,
  GITHUB_CLIENT,
  type Seen,
  signInAndCall,
  storeContents,
} from '../support/upstream-providers.ts'
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

describe('upstream presets: the person signs in at the provider, the MCP client gets our token', () => {
  let browser: Browser
  let github: Awaited<ReturnType<typeof fakeGithub>>
  let callbacks: Awaited<ReturnType<typeof callbackServer>>
  let idp: RunningAuthorizationServer
  let githubServing: Serving | undefined
  const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-upstream-'))
  const bob = { username: 'bob', password: 'bob has a long password' }
  const cleanups: (() => Promise<unknown> | unknown)[] = []
  const authorizeOnGithub = async (page: Page) => {
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
      // The allocator settings set: serve starts once instead of re-executing itself to set them.
      {
        MCP_OAUTH_UPSTREAM_CLIENT_SECRET: GITHUB_CLIENT.secret,
        MCP_OAUTH_DATA_DIR: dir,
        MALLOC_ARENA_MAX: '2',
        MALLOC_MMAP_THRESHOLD_: '1048576',
      },
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
      serving.mcp!,
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
    const atIdp = async (page: Page) => {
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
      serving.mcp!,
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
