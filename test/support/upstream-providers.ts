/**
 * Helpers of the upstream preset tests: a GitHub-style OAuth 2.0 provider on loopback, the MCP client's
 * callback, the person at the browser going through our login page, the provider and our consent, and the
 * checks that the provider's token never shows up where it must not.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import type { BrowserContext, Page } from 'playwright-core'
import { type Authorizer, authorizedFetch, createSession, MemoryStore } from '../../src/client/index.ts'

export const GITHUB_CLIENT = { id: 'gh-client-id', secret: randomBytes(16).toString('base64url') }

/** A GitHub-style provider: authorize page with Authorize/Cancel, token endpoint, /api/v3/user(/emails). */
export async function fakeGithub() {
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
export async function callbackServer() {
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
export interface Seen {
  bodies: string[]
  consent: string[]
}

/** The person: our login page → the provider → our consent; `atProvider` does the provider's part. */
export function browserAuthorizer(
  context: BrowserContext,
  callbacks: Awaited<ReturnType<typeof callbackServer>>,
  ours: string,
  seen: Seen,
  atProvider: (page: Page) => Promise<void>,
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
export async function signInAndCall(mcp: string, authorizer: Authorizer, seen: Seen) {
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

export function assertNowhere(secret: string, places: Record<string, string>) {
  assert.ok(secret.length > 20)
  for (const [where, text] of Object.entries(places))
    assert.equal(text.includes(secret), false, `the provider's token must not appear in ${where}`)
}

/** The store's bytes (database and its write-ahead log) and its model names. */
export async function storeContents(path: string): Promise<{ bytes: string; models: string[] }> {
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
