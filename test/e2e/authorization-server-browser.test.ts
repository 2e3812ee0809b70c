/**
 * Real browser sign-in (Debian chromium via playwright-core) against `startServe` (the code behind
 * `mcp-oauth serve`): the official SDK v2 client registers by DCR, and by a Client ID Metadata Document served
 * over https on loopback (development allowance), gets audience-bound tokens, calls tools, steps up, refreshes
 * and revokes. One browser for the whole file.
 */
import assert from 'node:assert/strict'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import * as jose from 'jose'
import { type Browser, chromium } from 'playwright-core'
import { type Serving, startServe } from '../../src/cli/commands/serve.ts'
import { type Authorizer, authorizedFetch, createSession, MemoryStore } from '../../src/client/index.ts'
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, need } from '../support/environment.ts'
import { BrowserProvider, callbackServer, connect, signedIn } from '../support/sdk-browser-client.ts'
import { json, selfSignedCertificate, testUser } from './authorization-server-helpers.ts'

describe('SDK v2 client signs in through a real browser against mcp-oauth serve', () => {
  let browser: Browser
  let serving: Serving
  let callbacks: Awaited<ReturnType<typeof callbackServer>>
  let documents: ReturnType<typeof createHttpsServer>
  let cimdUrl = ''
  const audit: Record<string, unknown>[] = []
  const alice = { username: 'alice', password: 'correct horse battery' }

  before(async () => {
    if (!chromiumAvailable()) return
    const tls = await selfSignedCertificate()
    callbacks = await callbackServer()
    documents = createHttpsServer({ key: tls.key, cert: tls.cert }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' })
      res.end(
        JSON.stringify({
          client_id: cimdUrl,
          client_name: 'CIMD Test App',
          redirect_uris: [callbacks.url],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
        }),
      )
    })
    await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve))
    cimdUrl = `https://127.0.0.1:${(documents.address() as AddressInfo).port}/oauth/client.json`
    serving = await startServe({
      port: 0,
      host: '127.0.0.1',
      store: 'memory',
      users: [(await testUser(alice.username, alice.password)).user],
      tokenFormat: 'jwt',
      allowPrivateCimd: true,
      cimdCa: tls.cert,
      audit: (line) => audit.push(JSON.parse(line)),
    })
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
  })
  after(async () => {
    await browser?.close()
    await serving?.close()
    callbacks?.server.close()
    documents?.close()
  })

  for (const registration of ['DCR', 'CIMD'] as const) {
    test(`${registration}: sign in, audience-bound token, tools, step-up, refresh, revoke`, async (t) => {
      if (!need(t, 'chromium', chromiumAvailable())) return
      const context = await browser.newContext()
      try {
        const provider = new BrowserProvider(
          context,
          callbacks,
          alice,
          registration === 'CIMD' ? cimdUrl : undefined,
        )
        t.diagnostic('connected: starting')
        const { client, transport } = await connect(provider, serving.mcp!)
        assert.equal(provider.authorizations, 1)
        const consent = provider.consentPages[0]!
        if (registration === 'CIMD') {
          assert.equal(provider.clientInformation()?.client_id, cimdUrl)
          assert.match(consent, /CIMD Test App/)
          assert.match(consent, new RegExp(`published at ${new URL(cimdUrl).host.replace(/\./g, '\\.')}`))
        } else {
          assert.match(consent, /SDK browser test/)
          assert.match(consent, new RegExp(`back to ${new URL(callbacks.url).host.replace(/\./g, '\\.')}`))
        }
        assert.match(consent, /tools:read/)

        const claims = jose.decodeJwt(provider.tokens()!.access_token)
        assert.equal(claims.aud, serving.mcp!)
        assert.equal(claims.iss, serving.issuer)

        t.diagnostic('tools listed: starting')
        const tools = await client.listTools()
        assert.deepEqual(tools.tools.map((tool) => tool.name).sort(), [
          'admin_report',
          'create_note',
          'server_time',
          'whoami',
        ])
        const who = await client.callTool({ name: 'whoami', arguments: {} })
        assert.match(JSON.stringify(who.content), /alice/)
        // Step-up: the first challenge asked for tools:read only; create_note (notes:write) and then
        // admin_report (admin) each answer 403 insufficient_scope and lead to a consent for the new scope alone.
        t.diagnostic('note step-up: starting')
        const note = await signedIn(
          provider,
          transport,
          () => client.callTool({ name: 'create_note', arguments: {} }),
          serving.mcp!,
        )
        assert.equal(note.isError ?? false, false, JSON.stringify(note))
        assert.equal(provider.authorizations, 2)
        assert.match(provider.consentPages[1]!, /notes:write/)
        t.diagnostic('admin step-up: starting')
        const report = await signedIn(
          provider,
          transport,
          () => client.callTool({ name: 'admin_report', arguments: {} }),
          serving.mcp!,
        )
        assert.equal(report.isError ?? false, false, JSON.stringify(report))
        assert.equal(provider.authorizations, 3)
        assert.match(provider.consentPages[2]!, /admin/)
        assert.doesNotMatch(provider.consentPages[2]!, /Sign in/)
        assert.ok(
          String(jose.decodeJwt(provider.tokens()!.access_token)['scope']).split(' ').includes('admin'),
        )

        // Refresh: a broken access token gets a 401; the SDK refreshes silently (no new authorization).
        const refreshesBefore = audit.filter((e) => e['type'] === 'token.refreshed').length
        provider.saveTokens({ ...provider.tokens()!, access_token: 'broken' })
        t.diagnostic('refresh: starting')
        await signedIn(
          provider,
          transport,
          () => client.callTool({ name: 'server_time', arguments: {} }),
          serving.mcp!,
        )
        assert.equal(provider.authorizations, 3)
        assert.equal(audit.filter((e) => e['type'] === 'token.refreshed').length, refreshesBefore + 1)

        // Revoke the refresh token: the grant can no longer be refreshed.
        const metadata = await json(await fetch(`${serving.issuer}/.well-known/oauth-authorization-server`))
        const clientId = provider.clientInformation()!.client_id
        const refreshToken = provider.tokens()!.refresh_token!
        const revoked = await fetch(metadata['revocation_endpoint'], {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: refreshToken, client_id: clientId }),
        })
        assert.equal(revoked.status, 200)
        const refused = await fetch(metadata['token_endpoint'], {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'refresh_token',
            refresh_token: refreshToken,
            client_id: clientId,
          }),
        })
        assert.equal((await json(refused))['error'], 'invalid_grant')
        await client.close()
      } finally {
        await context.close()
      }
    })
  }

  for (const registration of ['DCR', 'CIMD'] as const) {
    test(`mcp-oauth client, ${registration}: sign in, audience-bound DPoP token, tools, step-up, refresh, revoke`, async (t) => {
      if (!need(t, 'chromium', chromiumAvailable())) return
      const context = await browser.newContext()
      const consentPages: string[] = []
      const authorizer: Authorizer = {
        redirectUri: callbacks.url,
        async authorize(url) {
          const arrived = callbacks.next()
          const page = await context.newPage()
          try {
            await page.goto(url.href)
            if (await page.locator('#password').count()) {
              await page.fill('#username', alice.username)
              await page.fill('#password', alice.password)
              await page.click('button[type=submit]')
            }
            await page.waitForSelector('text=Allow access?', { timeout: 10_000 })
            consentPages.push((await page.textContent('main')) ?? '')
            await page.click('button:has-text("Allow")')
            return await arrived
          } finally {
            void page.close().catch(() => {})
          }
        },
      }
      try {
        const session = createSession({
          serverUrl: serving.mcp!,
          authorizer,
          store: new MemoryStore(),
          identity: {
            client_name: 'mcp-oauth client test',
            ...(registration === 'CIMD' ? { clientMetadataUrl: cimdUrl } : {}),
          },
        })
        const client = new Client({ name: 'mcp-oauth-client-browser', version: '1.0.0' })
        await client.connect(
          new StreamableHTTPClientTransport(new URL(serving.mcp!), { fetch: authorizedFetch(session) }),
        )
        const tokens = await session.tokens()
        assert.ok(tokens)
        const claims = jose.decodeJwt(tokens.access_token)
        assert.equal(claims.aud, serving.mcp!)
        assert.equal(tokens.token_type.toLowerCase(), 'dpop', 'the AS offers DPoP, the client uses it')
        assert.ok((claims['cnf'] as { jkt?: string } | undefined)?.jkt)
        if (registration === 'CIMD') {
          assert.equal(claims['client_id'], cimdUrl)
          assert.match(
            consentPages[0]!,
            new RegExp(`published at ${new URL(cimdUrl).host.replace(/\./g, '\\.')}`),
          )
        } else {
          assert.match(consentPages[0]!, /mcp-oauth client test/)
        }

        const listed = await client.listTools()
        assert.equal(listed.tools.length, 4)
        const note = await client.callTool({ name: 'create_note', arguments: {} })
        assert.equal(note.isError ?? false, false, JSON.stringify(note))
        const report = await client.callTool({ name: 'admin_report', arguments: {} })
        assert.equal(report.isError ?? false, false, JSON.stringify(report))
        assert.ok(
          consentPages.some((page) => /admin/.test(page)),
          'a step-up consent named the admin scope',
        )

        const before = (await session.tokens())!
        const refreshesBefore = audit.filter((e) => e['type'] === 'token.refreshed').length
        const refreshed = await session.refresh(before)
        assert.notEqual(refreshed.access_token, before.access_token)
        assert.equal(audit.filter((e) => e['type'] === 'token.refreshed').length, refreshesBefore + 1)
        const who = await client.callTool({ name: 'whoami', arguments: {} })
        assert.match(JSON.stringify(who.content), /alice/)

        const refreshToken = refreshed.refresh_token!
        // logout revokes (RFC 7009) the refresh token, which ends the grant; the JWT access token's revocation
        // is refused with unsupported_token_type, which the client tolerates.
        const clientId = String(jose.decodeJwt(refreshed.access_token)['client_id'])
        const form = (fields: Record<string, string>) => ({
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ client_id: clientId, ...fields }),
        })
        const active = async () =>
          (await json(await fetch(`${serving.issuer}/token/introspection`, form({ token: refreshToken }))))[
            'active'
          ]
        assert.equal(await active(), true)
        const out = await session.logout()
        assert.deepEqual(
          { revoked: out.revoked, refresh: out.refresh_token_revoked, failures: out.failures },
          { revoked: true, refresh: true, failures: undefined },
        )
        assert.equal(await active(), false)
        assert.ok(audit.some((e) => e['type'] === 'grant.revoked' && e['client_id'] === clientId))
        await client.close()
      } finally {
        await context.close()
      }
    })
  }
})
