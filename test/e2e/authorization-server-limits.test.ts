/**
 * Hostile input, part two (issue 12, problems 5-9): CIMD documents under the DCR redirect policy, one fetch per
 * document, a fetch budget per address, uniform document errors; limits on PAR, revocation, introspection and
 * per-account sign-in; metadata from the issuer only; consent that names what it cannot verify.
 */
import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { createMemoryCounters } from '../../src/authorization-server/index.ts'
import {
  HeadlessAgent,
  pkce,
  type RunningAuthorizationServer,
  registerClient,
  selfSignedCertificate,
  startAuthorizationServer,
  testUser,
} from './authorization-server-helpers.ts'

const RESOURCE = 'https://mcp.example.com/mcp'
const REDIRECT = 'http://127.0.0.1:9/callback'

describe('authorization server: limits, CIMD policy, metadata and consent', () => {
  let development: RunningAuthorizationServer
  let limited: RunningAuthorizationServer
  let documents: Server
  let origin: string
  const hits = new Map<string, number>()
  let alice: Awaited<ReturnType<typeof testUser>>
  let bob: Awaited<ReturnType<typeof testUser>>

  before(async () => {
    alice = await testUser()
    bob = await testUser('bob', randomBytes(12).toString('base64url'))
    const tls = await selfSignedCertificate()
    documents = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      const path = req.url ?? '/'
      hits.set(path, (hits.get(path) ?? 0) + 1)
      const self = `${origin}${path}`
      const send = (document: Record<string, unknown>) => {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' })
        res.end(JSON.stringify({ client_id: self, token_endpoint_auth_method: 'none', ...document }))
      }
      if (path === '/evil.json')
        return send({ client_name: 'Evil', redirect_uris: ['http://evil.example/cb'] })
      if (path === '/good.json')
        return send({ client_name: 'Claude Desktop\u202Egnp.exe', redirect_uris: [REDIRECT] })
      if (path === '/banner.json') {
        res.writeHead(200, { 'content-type': 'application/json' })
        return res.end('<html>internal-banner-7f3a do not leak</html>')
      }
      res.writeHead(404)
      res.end()
    })
    await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve))
    origin = `https://127.0.0.1:${(documents.address() as AddressInfo).port}`
    const cimd = { allowPrivateNetwork: true, trustedCertificates: tls.cert }
    development = await startAuthorizationServer({
      resources: [{ uri: RESOURCE, scopes: ['tools:read'] }],
      users: [alice.user],
      clientIdMetadataDocuments: cimd,
      rateLimits: false,
    })
    const two = { max: 2, windowSeconds: 600 }
    limited = await startAuthorizationServer({
      resources: [{ uri: RESOURCE, scopes: ['tools:read'] }],
      users: [alice.user, bob.user],
      clientIdMetadataDocuments: cimd,
      trustProxy: true,
      rateLimits: { par: two, revocation: two, introspection: two, loginAccount: two, cimdFetch: two },
    })
  })
  after(async () => {
    await development.close()
    await limited.close()
    documents.closeAllConnections()
    await new Promise((resolve) => documents.close(resolve))
  })

  const authorizeUrl = (server: RunningAuthorizationServer, clientId: string, extra = {}) =>
    `${server.issuer}/auth?${new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      ...extra,
    })}`

  test('a CIMD document with an http redirect URI on a public host is refused; the code never leaves', async () => {
    const response = await fetch(
      authorizeUrl(development, `${origin}/evil.json`, { redirect_uri: 'http://evil.example/cb' }),
      { redirect: 'manual' },
    )
    const body = await response.text()
    assert.equal(response.status, 400, body.slice(0, 300))
    assert.equal(response.headers.get('location'), null)
    assert.match(body, /invalid_client_metadata/)
    assert.match(body, /uses http on a non-loopback host/)
    assert.doesNotMatch(body, /evil\.example/, 'the document is not echoed')
  })

  test('a failing CIMD lookup fetches once, and a repeat within the failure cache fetches nothing', async () => {
    const id = `${origin}/missing-${Date.now()}.json`
    for (let i = 0; i < 3; i++) {
      const response = await fetch(authorizeUrl(development, id), { redirect: 'manual' })
      assert.equal(response.status, 400)
    }
    assert.equal(hits.get(new URL(id).pathname), 1)
  })

  test('CIMD errors are one message: no DNS oracle, no echo of the document', async () => {
    const page = async (clientId: string) => {
      const response = await fetch(authorizeUrl(development, clientId), { redirect: 'manual' })
      assert.equal(response.status, 400)
      return await response.text()
    }
    const banner = await page(`${origin}/banner.json`)
    assert.doesNotMatch(banner, /internal-banner|do not leak|<html>/)
    const strictServer = await startAuthorizationServer({
      resources: [{ uri: RESOURCE, scopes: ['tools:read'] }],
      rateLimits: false,
    })
    try {
      const strictPage = async (clientId: string) =>
        (await fetch(authorizeUrl(strictServer, clientId), { redirect: 'manual' })).text()
      const nonPublic = await strictPage('https://localhost/client.json')
      const unresolvable = await strictPage('https://no-such-host.invalid/client.json')
      assert.equal(nonPublic, unresolvable, 'a non-public name and an unresolvable one read the same')
      assert.doesNotMatch(nonPublic, /non-public|ENOTFOUND|resolve/)
    } finally {
      await strictServer.close()
    }
  })

  test('CIMD fetches are budgeted per address: distinct client_id URLs stop causing fetches', async () => {
    const before = [...hits.values()].reduce((a, b) => a + b, 0)
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) {
      const response = await fetch(authorizeUrl(limited, `${origin}/budget-${i}.json`), {
        redirect: 'manual',
        headers: { 'x-forwarded-for': '198.51.100.7' },
      })
      statuses.push(response.status)
    }
    const fetched = [...hits.values()].reduce((a, b) => a + b, 0) - before
    assert.equal(fetched, 2, 'only the budget of 2 fetches left the server')
    assert.deepEqual(statuses, [400, 400, 400, 400, 400])
  })

  test('PAR, revocation and introspection are limited per client_id and address', async () => {
    for (const path of ['/request', '/token/revocation', '/token/introspection']) {
      const post = (clientId: string) =>
        fetch(`${limited.issuer}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ client_id: clientId, token: 'x', response_type: 'code' }),
        })
      const answers = [(await post('a')).status, (await post('a')).status]
      assert.ok(!answers.includes(429), `${path}: within budget`)
      const third = await post('a')
      assert.equal(third.status, 429, path)
      assert.ok(Number(third.headers.get('retry-after')) >= 1)
      assert.notEqual((await post('b')).status, 429, `${path}: another client keeps its own budget`)
    }
  })

  test('an address rotating client_id meets its ceiling (five per-client budgets) and writes no more counters', async () => {
    const post = (clientId: string, address: string) =>
      fetch(`${limited.issuer}/request`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': address },
        body: new URLSearchParams({ client_id: clientId, response_type: 'code' }),
      })
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) statuses.push((await post(`rotated-${i}`, '198.51.100.20')).status)
    // par is 2 per client_id and address here, so the address's ceiling is 10 whatever client_id it names.
    assert.ok(!statuses.slice(0, 10).includes(429), `within the ceiling: ${statuses}`)
    assert.deepEqual(statuses.slice(10), [429, 429])
    assert.notEqual(
      (await post('rotated-0', '198.51.100.21')).status,
      429,
      'another address keeps its own ceiling',
    )
  })

  test('parallel wrong passwords for one account: no more than the budget reaches verification', async () => {
    const client = await registerClient(limited.issuer, [REDIRECT])
    const agent = new HeadlessAgent()
    let response = await agent.request(authorizeUrl(limited, client['client_id'], { scope: 'tools:read' }))
    while (response.status === 302 || response.status === 303)
      response = await agent.request(new URL(response.headers.get('location')!, limited.issuer).href)
    const html = await response.text()
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!
    const action = new URL(/action="([^"]+\/login)"/.exec(html)![1]!, limited.issuer).href
    const statuses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        agent
          .request(action, {
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              'x-forwarded-for': `192.0.2.${i + 1}`,
            },
            body: new URLSearchParams({ csrf, username: bob.username, password: `wrong-${i}` }).toString(),
          })
          .then((answer) => answer.status),
      ),
    )
    // loginAccount is 2 here: two guesses are verified (401), every other one is refused before scrypt (429).
    assert.deepEqual(
      statuses.toSorted((a, b) => a - b),
      [401, 401, 429, 429, 429, 429, 429, 429],
    )
  })

  test('a replay marker that cannot be recorded refuses the DPoP proof, saying why (fail closed)', async () => {
    const storeDown = {
      ...createMemoryCounters(),
      once: async () => {
        throw new Error('counter store unavailable')
      },
    }
    const server = await startAuthorizationServer({
      resources: [{ uri: RESOURCE, scopes: ['tools:read'] }],
      users: [alice.user],
      counters: storeDown,
    })
    try {
      const client = await registerClient(server.issuer, [REDIRECT])
      const { verifier, challenge } = pkce()
      const { callback } = await new HeadlessAgent().authorize(
        authorizeUrl(server, client['client_id'], { scope: 'tools:read', code_challenge: challenge }),
        REDIRECT,
        alice,
      )
      const { privateKey, publicKey } = await generateKeyPair('ES256')
      const proof = await new SignJWT({ htm: 'POST', htu: `${server.issuer}/token`, jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
        .setIssuedAt()
        .sign(privateKey)
      const response = await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
        body: new URLSearchParams({
          client_id: client['client_id'],
          grant_type: 'authorization_code',
          code: new URL(callback).searchParams.get('code')!,
          redirect_uri: REDIRECT,
          code_verifier: verifier,
        }),
      })
      const answer = (await response.json()) as Record<string, string>
      assert.equal(response.status, 400, JSON.stringify(answer))
      assert.equal(answer['error'], 'temporarily_unavailable')
      assert.match(answer['error_description']!, /replay check could not be recorded/)
      assert.equal(answer['access_token'], undefined)
    } finally {
      await server.close()
    }
  })

  test('a token request body beyond 64 KiB is refused before oidc-provider reads it, limits on or off', async () => {
    // Limits off: no client_id to key, so the front handler reads nothing; the declared length still decides.
    for (const server of [limited, development]) {
      const response = await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `client_id=a&padding=${'x'.repeat(100 * 1024)}`,
      })
      assert.equal(response.status, 400)
      const answer = (await response.json()) as { error: string; error_description: string }
      assert.equal(answer.error, 'invalid_request')
      assert.match(answer.error_description, /64 KiB/)
    }
  })

  test('failed sign-ins are limited per account across addresses: then even the right password waits', async () => {
    const client = await registerClient(limited.issuer, [REDIRECT])
    const agent = new HeadlessAgent()
    let response = await agent.request(authorizeUrl(limited, client['client_id'], { scope: 'tools:read' }))
    while (response.status === 302 || response.status === 303)
      response = await agent.request(new URL(response.headers.get('location')!, limited.issuer).href)
    const html = await response.text()
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!
    const action = new URL(/action="([^"]+\/login)"/.exec(html)![1]!, limited.issuer).href
    const login = (password: string, address: string) =>
      agent.request(action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': address },
        body: new URLSearchParams({ csrf, username: alice.username, password }).toString(),
      })
    assert.equal((await login('wrong-1', '203.0.113.1')).status, 401)
    assert.equal((await login('wrong-2', '203.0.113.2')).status, 401)
    const refused = await login(alice.password, '203.0.113.3')
    assert.equal(refused.status, 429)
    assert.match(await refused.text(), /Too many failed sign-ins/)
  })

  test('metadata comes from the configured issuer whatever the Host header, with Cache-Control', async () => {
    const { port } = new URL(development.issuer)
    const answer = await new Promise<{ body: string; cacheControl: string | undefined }>(
      (resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/.well-known/oauth-authorization-server',
            headers: {
              host: 'evil.example',
              'x-forwarded-host': 'evil.example',
              'x-forwarded-proto': 'https',
            },
          },
          (res) => {
            let body = ''
            res.on('data', (chunk) => {
              body += chunk
            })
            res.on('end', () => resolve({ body, cacheControl: res.headers['cache-control'] }))
          },
        )
        req.on('error', reject)
        req.end()
      },
    )
    const metadata = JSON.parse(answer.body) as Record<string, string>
    assert.equal(metadata['token_endpoint'], `${development.issuer}/token`)
    assert.doesNotMatch(answer.body, /evil\.example/)
    assert.match(answer.cacheControl ?? '', /max-age=\d+/)
  })

  test('consent: a DCR name is marked self-asserted, bidi overrides are gone, the redirect host is named', async () => {
    const client = await registerClient(development.issuer, [REDIRECT], {
      client_name: 'Claude Desktop\u202Egnp.exe\u0007',
    })
    const { pages } = await new HeadlessAgent().authorize(
      authorizeUrl(development, client['client_id'], { scope: 'tools:read' }),
      REDIRECT,
      alice,
    )
    const consent = pages.find((p) => p.includes('Allow access'))!
    assert.match(
      consent,
      /calls itself <strong>"Claude Desktop gnp\.exe"<\/strong> <em>\(name not verified\)/,
    )
    assert.doesNotMatch(consent, /[\u202E\u0007]/)
    assert.match(consent, /access is sent back to <strong>127\.0\.0\.1:9<\/strong>/)
  })

  test('consent: a CIMD client is shown by its document host, and the redirect host is named', async () => {
    const { pages } = await new HeadlessAgent().authorize(
      authorizeUrl(development, `${origin}/good.json`, { scope: 'tools:read' }),
      REDIRECT,
      alice,
    )
    const consent = pages.find((p) => p.includes('Allow access'))!
    assert.ok(consent.includes(`published at <strong>${new URL(origin).host}</strong>`), consent)
    assert.doesNotMatch(consent, /\u202E/)
    assert.match(consent, /access is sent back to <strong>127\.0\.0\.1:9<\/strong>/)
  })
})
