/**
 * Hostile input against the authorization server: each case gets a clear OAuth error and changes nothing
 * in the store (rows counted in the SQLite file before and after).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, before, describe, test } from 'node:test'
import {
  createSealer,
  createSqliteStorage,
  generateStorageKey,
} from '../../src/authorization-server/index.ts'
import {
  HeadlessAgent,
  json,
  pkce,
  type RunningAuthorizationServer,
  registerClient,
  selfSignedCertificate,
  startAuthorizationServer,
  testUser,
} from './authorization-server-helpers.ts'

const RESOURCE = 'https://mcp.example.com/mcp'
// Every document failure reads the same: no DNS oracle, no echo of what the URL answered.
const DOCUMENT_FAILURE =
  /could not be used: it must be served with status 200 over https from a public address/

describe('authorization server: hostile input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-hostile-'))
  let strict: RunningAuthorizationServer
  let development: RunningAuthorizationServer
  let documents: Server
  let documentsOrigin: string
  let alice: Awaited<ReturnType<typeof testUser>>
  const rows = (file: string) => {
    const db = new DatabaseSync(file, { readOnly: true })
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM mcp_oauth_models').get() as { n: number }).n
    } finally {
      db.close()
    }
  }

  /** MB of each 50 MB document handed to the socket so far: the authorization server must answer long before the end. */
  const written = new Map<string, number>()

  before(async () => {
    alice = await testUser()
    const tls = await selfSignedCertificate()
    /** 50 chunks of 1 MB, paced by the socket; each chunk handed to it counts in `written`. */
    const stream50 = (url: string, res: ServerResponse, byte: number, last?: string) => {
      const chunk = Buffer.alloc(1024 * 1024, byte)
      let sent = 0
      const flushed = () => written.set(url, (written.get(url) ?? 0) + 1)
      const pump = () => {
        while (sent < 50 && res.write(chunk, flushed)) sent++
        if (sent < 50) res.once('drain', pump)
        else res.end(last)
      }
      res.on('error', () => {})
      pump()
    }
    documents = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      if (req.url === '/huge.json') {
        // 50 MB announced and streamed: the server must stop reading long before the end.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) })
        stream50(req.url, res, 0x20)
        return
      }
      if (req.url === '/huge-chunked.json') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write('{"client_id":"')
        stream50(req.url, res, 0x61, '"}')
        return
      }
      if (req.url?.startsWith('/loop')) {
        res.writeHead(302, { location: `/loop${Number(req.url.slice(5) || 0) + 1}` })
        res.end()
        return
      }
      res.writeHead(404)
      res.end()
    })
    await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve))
    documentsOrigin = `https://127.0.0.1:${(documents.address() as AddressInfo).port}`
    const open = (name: string) =>
      createSqliteStorage(join(dir, name), { sealer: createSealer(generateStorageKey()) })
    strict = await startAuthorizationServer({
      resources: [{ uri: RESOURCE, scopes: ['tools:read'] }],
      users: [alice.user],
      storage: await open('strict.db'),
      rateLimits: false,
    })
    development = await startAuthorizationServer({
      resources: [{ uri: RESOURCE, scopes: ['tools:read'] }],
      users: [alice.user],
      storage: await open('dev.db'),
      clientIdMetadataDocuments: { allowPrivateNetwork: true, trustedCertificates: tls.cert },
      rateLimits: false,
    })
  })
  after(async () => {
    await strict.close()
    await development.close()
    documents.closeAllConnections()
    await new Promise((resolve) => documents.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  })

  async function authorizeWithClientId(server: RunningAuthorizationServer, clientId: string) {
    const url = new URL(`${server.issuer}/auth`)
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: 'http://127.0.0.1:9/callback',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      scope: 'tools:read',
    }).toString()
    const response = await fetch(url, { redirect: 'manual' })
    return {
      status: response.status,
      location: response.headers.get('location'),
      body: await response.text(),
    }
  }

  const cimdCases: [string, () => RunningAuthorizationServer, () => string, RegExp][] = [
    ['a CIMD URL at 127.0.0.1', () => strict, () => `${documentsOrigin}/client.json`, DOCUMENT_FAILURE],
    [
      'a CIMD URL at 169.254.169.254 (cloud metadata)',
      () => strict,
      () => 'https://169.254.169.254/latest/meta-data.json',
      DOCUMENT_FAILURE,
    ],
    [
      'a 50 MB CIMD document (content-length)',
      () => development,
      () => `${documentsOrigin}/huge.json`,
      DOCUMENT_FAILURE,
    ],
    [
      'a 50 MB CIMD document (chunked)',
      () => development,
      () => `${documentsOrigin}/huge-chunked.json`,
      DOCUMENT_FAILURE,
    ],
    ['a CIMD redirect loop', () => development, () => `${documentsOrigin}/loop`, DOCUMENT_FAILURE],
  ]
  for (const [name, server, clientId, reason] of cimdCases) {
    test(`${name}: invalid_client, nothing stored`, async () => {
      const file = join(dir, server() === strict ? 'strict.db' : 'dev.db')
      const before = rows(file)
      const answer = await authorizeWithClientId(server(), clientId())
      assert.equal(answer.status, 400, answer.body.slice(0, 300))
      assert.equal(answer.location, null, 'never redirects to an unverified client')
      assert.match(answer.body, /invalid_client/)
      assert.match(answer.body, reason)
      // Read to the end, the document would have been handed to the socket whole (50 MB) before the answer;
      // what the kernel buffers on loopback is a few MB.
      const path = new URL(clientId()).pathname
      if (written.has(path))
        assert.ok(written.get(path)! < 25, `${written.get(path)} MB of 50 handed to the socket`)
      assert.equal(rows(file), before)
    })
  }

  const registrationCases: [string, string, string][] = [
    [
      'a javascript: redirect URI',
      JSON.stringify({ redirect_uris: ['javascript:alert(1)'] }),
      'invalid_redirect_uri',
    ],
    [
      '10,000 redirect URIs',
      JSON.stringify({ redirect_uris: Array.from({ length: 10_000 }, (_, i) => `http://127.0.0.1/cb${i}`) }),
      'invalid_client_metadata',
    ],
    [
      '200 redirect URIs (under the size limit)',
      JSON.stringify({ redirect_uris: Array.from({ length: 200 }, (_, i) => `http://127.0.0.1/cb${i}`) }),
      'invalid_redirect_uri',
    ],
    ['a malformed JSON body', '{"redirect_uris": ["http://127.0.0.1/cb"', 'invalid_client_metadata'],
    ['a JSON array body', '[1,2]', 'invalid_client_metadata'],
    [
      'an http redirect URI on a public host',
      JSON.stringify({ redirect_uris: ['http://evil.example/cb'] }),
      'invalid_redirect_uri',
    ],
  ]
  // oidc-provider's router ignores case and a trailing slash; the checks in front of it must too.
  for (const [name, body, error, path] of [
    ...registrationCases.map(([n, b, e]) => [n, b, e, '/reg'] as const),
    [
      'an http redirect URI on a public host, at /REG/',
      JSON.stringify({ redirect_uris: ['http://evil.example/cb'] }),
      'invalid_redirect_uri',
      '/REG/',
    ] as const,
  ]) {
    test(`DCR with ${name}: ${error}, nothing stored`, async () => {
      const before = rows(join(dir, 'strict.db'))
      const response = await fetch(`${strict.issuer}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      assert.equal(response.status, 400)
      const answer = await json(response)
      assert.equal(answer['error'], error)
      assert.ok(answer['error_description'])
      assert.equal(rows(join(dir, 'strict.db')), before)
    })
  }

  test('an authorization request with a mismatched redirect URI: error page, no redirect, nothing stored', async () => {
    const client = await registerClient(strict.issuer, ['http://127.0.0.1:9/callback'])
    const before = rows(join(dir, 'strict.db'))
    const url = new URL(`${strict.issuer}/auth`)
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: client['client_id'],
      redirect_uri: 'http://127.0.0.1:9/other',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    }).toString()
    const response = await new HeadlessAgent().request(url.href)
    assert.equal(response.status, 400)
    assert.equal(response.headers.get('location'), null)
    assert.match(await response.text(), /redirect_uri did not match/)
    assert.equal(rows(join(dir, 'strict.db')), before)
  })
})
