import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { MemoryStore, storeKey } from '../../client/index.ts'
import { capture, seededStore } from './fixtures.test-helper.ts'
import { run } from './logout.ts'

async function closedPortUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return `http://127.0.0.1:${port}/mcp`
}

describe('mcp-oauth logout', () => {
  it('not signed in: says so, exit 0', async () => {
    const { io, out } = capture()
    assert.equal(await run(['https://a.example.com/mcp'], io, { store: new MemoryStore() }), 0)
    assert.match(out.stderr, /Not signed in to https:\/\/a\.example\.com\/mcp; nothing to do/)
  })

  it('server unreachable: the local copy is deleted, the output says the tokens were NOT revoked, exit 1', async () => {
    const url = await closedPortUrl()
    const store = await seededStore(url)
    const { io, out } = capture()
    assert.equal(await run([url, '--json'], io, { store }), 1)
    const o = JSON.parse(out.stdout)
    assert.equal(o.signed_in, true)
    assert.equal(o.revoked, false)
    assert.equal(typeof o.error, 'string')
    assert.match(out.stderr, /could not revoke the tokens/)
    assert.match(out.stderr, /next: /)
    assert.equal(await store.get(storeKey.current(url)), undefined)
    assert.doesNotMatch(out.stdout + out.stderr, /SECRET/)
    const human = capture()
    assert.equal(await run([url], human.io, { store: await seededStore(url) }), 1)
    assert.match(human.out.stderr, /refused the connection/)
    assert.match(
      human.out.stderr,
      /Signed out of http:\/\/127\.0\.0\.1:\d+\/mcp locally; nothing was revoked \(see above\)/,
    )
    assert.doesNotMatch(human.out.stderr, /revoked the/)
  })

  it('--all with an empty store: nothing to do; a URL with --all is a usage error', async () => {
    const { io, out } = capture()
    assert.equal(await run(['--all'], io, { store: new MemoryStore() }), 0)
    assert.match(out.stderr, /No sessions stored/)
    const bad = capture()
    assert.equal(await run(['--all', 'https://a.example.com/mcp'], bad.io, { store: new MemoryStore() }), 2)
  })
})

describe('mcp-oauth logout says nothing was revoked when the authorization server offers no revocation', () => {
  it('no revocation_endpoint: "nothing was revoked", the access token stays valid, revoked false', async () => {
    const server = createServer((req, res) => {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const json = (body: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      }
      if (req.url?.startsWith('/.well-known/oauth-protected-resource'))
        return json({ resource: `${origin}/mcp`, authorization_servers: [origin] })
      if (req.url === '/.well-known/oauth-authorization-server')
        return json({
          issuer: origin,
          authorization_endpoint: `${origin}/authorize`,
          token_endpoint: `${origin}/token`,
          response_types_supported: ['code'],
          code_challenge_methods_supported: ['S256'],
        })
      res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const url = `${origin}/mcp`
      const store = await seededStore(url, { issuer: origin })
      const { io, out } = capture()
      assert.equal(await run([url, '--json'], io, { store }), 0, out.stderr)
      const o = JSON.parse(out.stdout)
      assert.equal(o.revoked, false)
      assert.equal(o.refresh_token_revoked, undefined)
      assert.equal(o.access_token_revoked, undefined)
      assert.equal(o.not_sent, 'no_revocation_endpoint')
      assert.ok(!Number.isNaN(Date.parse(o.valid_until)))
      const human = capture()
      await run([url], human.io, { store: await seededStore(url, { issuer: origin }) })
      assert.match(
        human.out.stderr,
        /locally; nothing was revoked: the authorization server offers no revocation \(RFC 7009\)/,
      )
      assert.doesNotMatch(human.out.stderr, /revoked the/)
    } finally {
      server.close()
    }
  })
})

/** An AS on loopback whose revocation endpoint answers each token type as `answer` says. */
async function revokingServer(answer: (hint: string) => { status: number; body?: unknown }) {
  const seen: string[] = []
  const server = createServer((req, res) => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (req.url?.startsWith('/.well-known/oauth-protected-resource'))
      return json(200, { resource: `${origin}/mcp`, authorization_servers: [origin] })
    if (req.url === '/.well-known/oauth-authorization-server')
      return json(200, {
        issuer: origin,
        authorization_endpoint: `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        revocation_endpoint: `${origin}/revoke`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
      })
    if (req.url === '/revoke') {
      let body = ''
      req.on('data', (d: Buffer) => (body += d))
      req.on('end', () => {
        const hint = new URLSearchParams(body).get('token_type_hint') ?? ''
        seen.push(hint)
        const a = answer(hint)
        if (a.body === undefined) res.writeHead(a.status).end()
        else json(a.status, a.body)
      })
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { origin, url: `${origin}/mcp`, seen, close: () => server.close() }
}

describe('mcp-oauth logout reports each token as the revocation endpoint answered it', () => {
  it('refresh token revoked, access token revocation failing: says the refresh token was revoked and the access token was not, exit 1', async () => {
    const as = await revokingServer((hint) =>
      hint === 'refresh_token' ? { status: 200 } : { status: 400, body: { error: 'invalid_request' } },
    )
    try {
      const { io, out } = capture()
      const store = await seededStore(as.url, { issuer: as.origin })
      assert.equal(await run([as.url, '--json'], io, { store }), 1)
      const o = JSON.parse(out.stdout)
      assert.deepEqual(
        [o.revoked, o.refresh_token_revoked, o.access_token_revoked],
        [true, true, false],
        out.stderr,
      )
      assert.equal(typeof o.valid_until, 'string')
      assert.match(out.stderr, /could not revoke the access token for http:\/\/127\.0\.0\.1:\d+\/mcp/)
      const human = capture()
      await run([as.url], human.io, { store: await seededStore(as.url, { issuer: as.origin }) })
      assert.match(
        human.out.stderr,
        /revoked the refresh token \(the grant: no new access tokens\); the access token was not revoked: it stays valid until /,
      )
      assert.doesNotMatch(human.out.stderr, /nothing was revoked/)
      assert.doesNotMatch(human.out.stdout + human.out.stderr + out.stdout + out.stderr, /SECRET/)
      assert.deepEqual(as.seen.slice(0, 2), ['refresh_token', 'access_token'])
    } finally {
      as.close()
    }
  })

  it('an opaque access token refused with unsupported_token_type: not claimed as revoked, no failure', async () => {
    const as = await revokingServer((hint) =>
      hint === 'refresh_token' ? { status: 200 } : { status: 400, body: { error: 'unsupported_token_type' } },
    )
    try {
      const { io, out } = capture()
      const store = await seededStore(as.url, { issuer: as.origin })
      assert.equal(await run([as.url, '--json'], io, { store }), 0, out.stderr)
      const o = JSON.parse(out.stdout)
      assert.deepEqual([o.revoked, o.refresh_token_revoked, o.access_token_revoked], [true, true, false])
      const human = capture()
      await run([as.url], human.io, { store: await seededStore(as.url, { issuer: as.origin }) })
      assert.match(
        human.out.stderr,
        /the authorization server did not revoke the access token: it stays valid until /,
      )
    } finally {
      as.close()
    }
  })

  it('refresh token revocation failing, access token revoked: says the refresh token stays valid', async () => {
    const as = await revokingServer((hint) =>
      hint === 'refresh_token'
        ? { status: 503, body: { error: 'temporarily_unavailable' } }
        : { status: 200 },
    )
    try {
      const { io, out } = capture()
      const store = await seededStore(as.url, { issuer: as.origin })
      assert.equal(await run([as.url], io, { store }), 1)
      assert.match(out.stderr, /could not revoke the refresh token/)
      assert.match(
        out.stderr,
        /revoked the access token; the refresh token was NOT revoked \(see above\): it stays valid until the server expires it/,
      )
    } finally {
      as.close()
    }
  })
})

describe('mcp-oauth logout when no token could be sent to the authorization server', () => {
  it('the client registration is gone from the store: says so, not "offers no revocation"; an expired token is said to have expired', async () => {
    const as = await revokingServer(() => ({ status: 200 }))
    try {
      const store = await seededStore(as.url, { issuer: as.origin, expiresInMs: -60_000 })
      await store.delete(storeKey.registration(as.origin))
      const { io, out } = capture()
      assert.equal(await run([as.url], io, { store }), 0, out.stderr)
      assert.match(
        out.stderr,
        /nothing was revoked: the client registration these tokens were issued to is no longer in the store/,
      )
      assert.match(out.stderr, /until it expires \(it already did, at /)
      assert.doesNotMatch(out.stderr, /offers no revocation|ago\)/)
      assert.equal(as.seen.length, 0)
    } finally {
      as.close()
    }
  })
})
