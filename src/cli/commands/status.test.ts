import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryStore } from '../../client/index.ts'
import { capture, seededStore } from './fixtures.test-helper.ts'
import { formatStatus, relative, run, storedServers } from './status.ts'

const A = 'https://a.example.com/mcp'
const B = 'https://b.example.com/mcp'

describe('mcp-oauth status', () => {
  it('lists every stored session with issuer, client and source, scopes, expiry; never a token', async () => {
    const store = await seededStore(A)
    await seededStore(B, { store, tokenType: 'DPoP', refresh: false })
    assert.deepEqual(await storedServers(store), [
      { server: A, account: 'default' },
      { server: B, account: 'default' },
    ])
    const { io, out } = capture()
    assert.equal(await run([], io, { store }), 0)
    assert.match(out.stdout, /^Store: memory\n/)
    assert.match(out.stdout, /https:\/\/a\.example\.com\/mcp\n {2}signed in {6}yes/)
    assert.match(out.stdout, /issuer\s+https:\/\/as\.example\.com/)
    assert.match(out.stdout, /client id\s+client-1 \(client ID metadata document\)/)
    assert.match(out.stdout, /scopes\s+files:read offline_access/)
    assert.match(out.stdout, /token type\s+DPoP \(bound to a key\)/)
    assert.match(out.stdout, /in 60 min; refreshed automatically/)
    assert.match(out.stdout, /no refresh token: sign in again then/)
    assert.doesNotMatch(out.stdout + out.stderr, /SECRET/)
  })

  it('--json: one document {store, sessions[]} with no token values', async () => {
    const store = await seededStore(A, { expiresInMs: -60_000 })
    const { io, out } = capture()
    assert.equal(await run([A, '--json'], io, { store }), 0)
    const doc = JSON.parse(out.stdout)
    assert.equal(doc.store, 'memory')
    assert.equal(doc.sessions.length, 1)
    assert.equal(doc.sessions[0].client_source, 'cimd')
    assert.equal(doc.sessions[0].expired, true)
    assert.equal(doc.sessions[0].has_refresh_token, true)
    assert.doesNotMatch(out.stdout, /SECRET/)
  })

  it('with a URL that has no session: says how to sign in and exits 3', async () => {
    const { io, out } = capture()
    assert.equal(await run([B], io, { store: new MemoryStore() }), 3)
    assert.match(out.stdout, /not signed in \(run: mcp-oauth login https:\/\/b\.example\.com\/mcp\)/)
  })

  it('an empty store says so and exits 0', async () => {
    const { io, out } = capture()
    assert.equal(await run([], io, { store: new MemoryStore() }), 0)
    assert.match(out.stdout, /No sessions stored/)
  })

  it('bad arguments exit 2', async () => {
    for (const args of [['not a url'], [A, B], ['--bogus']]) {
      const { io, out } = capture()
      assert.equal(await run(args, io, { store: new MemoryStore() }), 2, args.join(' '))
      assert.match(out.stderr, /next: /)
    }
  })

  it('formats relative times and an unsigned session', () => {
    assert.equal(relative(30_000), 'in 30 s')
    assert.equal(relative(-5 * 60_000), '5 min ago')
    assert.equal(relative(3 * 3_600_000), 'in 3 h')
    assert.match(formatStatus({ server: A, signed_in: false, store: 'file' }), /not signed in/)
  })
})

describe('status shows token_type as docs/cli.md documents it and never a URL credential', () => {
  it('"bearer" and "dpop" from a server are shown as "Bearer" and "DPoP"; userinfo and query are dropped', async () => {
    for (const [sent, shown] of [
      ['bearer', 'Bearer'],
      ['dpop', 'DPoP'],
    ]) {
      const url = 'https://a.example.com/mcp?token=abc'
      const { io, out } = capture()
      assert.equal(await run([url, '--json'], io, { store: await seededStore(url, { tokenType: sent }) }), 0)
      const s = (JSON.parse(out.stdout) as { sessions: Array<Record<string, unknown>> }).sessions[0]!
      assert.equal(s['token_type'], shown)
      assert.equal(s['server'], 'https://a.example.com/mcp')
      const human = capture()
      await run([url], human.io, { store: await seededStore(url, { tokenType: sent }) })
      assert.match(human.out.stdout, new RegExp(`token type\\s+${shown}`))
      assert.ok(!(out.stdout + human.out.stdout).includes('token=abc'))
    }
  })
})
