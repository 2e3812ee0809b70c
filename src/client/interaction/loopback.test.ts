import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { describe, it } from 'node:test'
import { isMcpOAuthError } from '../../shared/errors.ts'
import type { AuthorizeContext } from '../authorizer.ts'
import { loopbackAuthorizer } from './loopback.ts'

const ISSUER = 'https://as.example.com'

function context(state: string, extra: Partial<AuthorizeContext> = {}): AuthorizeContext {
  return {
    state,
    expectedIssuer: ISSUER,
    issParameterSupported: true,
    resource: 'https://mcp.example.com/mcp',
    reason: 'login',
    ...extra,
  }
}

function authUrl(redirectUri: string): URL {
  const url = new URL(`${ISSUER}/authorize`)
  url.searchParams.set('redirect_uri', redirectUri)
  return url
}

/** A raw HTTP/1.1 GET with keep-alive requested: returns head, body and whether the server closed the socket. */
function rawGet(
  url: string,
): Promise<{ status: number; headers: string; body: string; closedByServer: boolean }> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) })
    let data = ''
    socket.setEncoding('utf8')
    socket.on('connect', () =>
      socket.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: keep-alive\r\n\r\n`,
      ),
    )
    socket.on('data', (c) => {
      data += c
    })
    socket.on('error', reject)
    socket.on('end', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n')
      resolve({ status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body, closedByServer: true })
    })
  })
}

function callback(redirect: string, params: Record<string, string>): string {
  const u = new URL(redirect)
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v)
  return u.href
}

const quiet = () => {}

describe('loopbackAuthorizer', () => {
  it('binds 127.0.0.1 on an ephemeral port and answers the right callback with Connection: close', async () => {
    const a = loopbackAuthorizer({ log: quiet, open: () => {} })
    try {
      const redirect = await a.redirectUri()
      assert.match(redirect, /^http:\/\/127\.0\.0\.1:\d+\/callback$/)
      const flow = a.authorize(authUrl(redirect), context('s1'))
      const res = await rawGet(callback(redirect, { code: 'c0de', state: 's1', iss: ISSUER }))
      assert.equal(res.status, 200)
      assert.match(res.headers, /connection: close/)
      assert.match(res.headers, /cache-control: no-store/)
      assert.match(res.headers, /referrer-policy: no-referrer/)
      assert.ok(res.closedByServer)
      assert.match(res.body, /signed in/i)
      const url = await flow
      assert.equal(url.searchParams.get('code'), 'c0de')
      assert.equal(url.origin + url.pathname, redirect)
    } finally {
      await a.close()
    }
  })

  it('refuses a wrong state with an error page and keeps waiting for the right one', async () => {
    const a = loopbackAuthorizer({ log: quiet, open: () => {} })
    try {
      const redirect = await a.redirectUri()
      const flow = a.authorize(authUrl(redirect), context('right'))
      const wrong = await rawGet(callback(redirect, { code: 'x', state: 'wrong', iss: ISSUER }))
      assert.equal(wrong.status, 400)
      assert.match(wrong.body, /not the one in progress/)
      const ok = await rawGet(callback(redirect, { code: 'y', state: 'right', iss: ISSUER }))
      assert.equal(ok.status, 200)
      assert.equal((await flow).searchParams.get('code'), 'y')
    } finally {
      await a.close()
    }
  })

  it('rejects an iss mismatch and never shows the error_description', async () => {
    const a = loopbackAuthorizer({ log: quiet, open: () => {} })
    try {
      const redirect = await a.redirectUri()
      const flow = a.authorize(authUrl(redirect), context('s'))
      flow.catch(() => {})
      const res = await rawGet(
        callback(redirect, {
          error: 'access_denied',
          error_description: 'EVIL-TEXT',
          state: 's',
          iss: `${ISSUER}/`,
        }),
      )
      assert.equal(res.status, 400)
      assert.doesNotMatch(res.body, /EVIL-TEXT|access_denied/)
      await assert.rejects(flow, (e) => isMcpOAuthError(e, 'iss_mismatch'))
    } finally {
      await a.close()
    }
  })

  it('rejects a missing iss when the AS advertises it, and proceeds without it otherwise', async () => {
    const a = loopbackAuthorizer({ log: quiet, open: () => {} })
    try {
      const redirect = await a.redirectUri()
      const strict = a.authorize(authUrl(redirect), context('s1'))
      strict.catch(() => {})
      await rawGet(callback(redirect, { code: 'c', state: 's1' }))
      await assert.rejects(strict, (e) => isMcpOAuthError(e, 'iss_missing'))
      const lax = a.authorize(authUrl(redirect), context('s2', { issParameterSupported: false }))
      await rawGet(callback(redirect, { code: 'c', state: 's2' }))
      assert.equal((await lax).searchParams.get('code'), 'c')
    } finally {
      await a.close()
    }
  })

  it('shows an actionable page for access_denied and hands the error URL to the engine', async () => {
    const a = loopbackAuthorizer({ log: quiet, open: () => {} })
    try {
      const redirect = await a.redirectUri()
      const flow = a.authorize(authUrl(redirect), context('s'))
      const res = await rawGet(
        callback(redirect, {
          error: 'access_denied',
          error_description: 'user <b>said</b> no',
          state: 's',
          iss: ISSUER,
        }),
      )
      assert.match(res.body, /access_denied/)
      assert.match(res.body, /start the sign-in again/i)
      assert.match(res.body, /&lt;b&gt;said/)
      assert.equal((await flow).searchParams.get('error'), 'access_denied')
    } finally {
      await a.close()
    }
  })

  it('times out and aborts with typed errors', async () => {
    const a = loopbackAuthorizer({ log: quiet, open: () => {}, timeoutMs: 50 })
    try {
      const redirect = await a.redirectUri()
      await assert.rejects(a.authorize(authUrl(redirect), context('t')), (e) =>
        isMcpOAuthError(e, 'sign_in_timeout'),
      )
      const ac = new AbortController()
      const b = loopbackAuthorizer({ log: quiet, open: () => ac.abort() })
      await assert.rejects(
        b.authorize(authUrl(await b.redirectUri()), context('u', { signal: ac.signal })),
        (e) => isMcpOAuthError(e, 'sign_in_aborted'),
      )
      await b.close()
    } finally {
      await a.close()
    }
  })

  it('prints the URL and calls open; an opener failure is reported, not fatal', async () => {
    const lines: string[] = []
    const a = loopbackAuthorizer({
      log: (l) => lines.push(l),
      open: () => {
        throw new Error('no opener')
      },
    })
    try {
      const redirect = await a.redirectUri()
      const url = authUrl(redirect)
      const flow = a.authorize(url, context('p'))
      await rawGet(callback(redirect, { code: 'c', state: 'p', iss: ISSUER }))
      await flow
      assert.ok(lines.some((l) => l.includes(url.href)))
      assert.ok(lines.some((l) => l.includes('no opener')))
    } finally {
      await a.close()
    }
  })

  it('rebinds the same fixed port after close, again and again', async () => {
    const probe = loopbackAuthorizer({ log: quiet })
    const port = Number(new URL(await probe.redirectUri()).port)
    await probe.close()
    for (let i = 0; i < 3; i++) {
      const a = loopbackAuthorizer({ log: quiet, open: () => {}, port, path: '/cb' })
      const redirect = await a.redirectUri()
      assert.equal(redirect, `http://127.0.0.1:${port}/cb`)
      const flow = a.authorize(authUrl(redirect), context(`r${i}`))
      await rawGet(callback(redirect, { code: 'c', state: `r${i}`, iss: ISSUER }))
      await flow
      await a.close()
    }
  })

  it('names a busy fixed port held by another program', async () => {
    const other = http.createServer((_req, res) => res.end('not us'))
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r))
    const port = (other.address() as net.AddressInfo).port
    const a = loopbackAuthorizer({ log: quiet, port })
    try {
      await assert.rejects(a.redirectUri(), (e) => isMcpOAuthError(e, 'callback_port_in_use'))
    } finally {
      await a.close()
      await new Promise((r) => other.close(r))
    }
  })

  it('relays through a sibling holding the fixed port, so both flows complete', async () => {
    const first = loopbackAuthorizer({ log: quiet, open: () => {} })
    const redirect = await first.redirectUri()
    const port = Number(new URL(redirect).port)
    const lines: string[] = []
    const second = loopbackAuthorizer({ log: (l) => lines.push(l), open: () => {}, port })
    try {
      const flowA = first.authorize(authUrl(redirect), context('A'))
      assert.equal(await second.redirectUri(), redirect)
      assert.equal(second.mode, 'relay')
      assert.ok(lines.some((l) => l.includes(`pid ${process.pid}`)))
      const flowB = second.authorize(authUrl(redirect), context('B'))
      // The browser of B's sign-in lands on the sibling's listener.
      let relayed: { body: string } | undefined
      for (let i = 0; i < 50 && !relayed?.body.includes('Another mcp-oauth process'); i++) {
        relayed = await rawGet(callback(redirect, { code: 'forB', state: 'B', iss: ISSUER }))
        if (!relayed.body.includes('Another mcp-oauth process')) await new Promise((r) => setTimeout(r, 20))
      }
      assert.match(relayed?.body ?? '', /another mcp-oauth process/i)
      assert.equal((await flowB).searchParams.get('code'), 'forB')
      await rawGet(callback(redirect, { code: 'forA', state: 'A', iss: ISSUER }))
      assert.equal((await flowA).searchParams.get('code'), 'forA')
    } finally {
      await second.close()
      await first.close()
    }
  })

  it('takes the port over when the sibling leaves mid-flow', async () => {
    const first = loopbackAuthorizer({ log: quiet })
    const redirect = await first.redirectUri()
    const port = Number(new URL(redirect).port)
    const second = loopbackAuthorizer({ log: quiet, open: () => {}, port })
    try {
      await second.redirectUri()
      assert.equal(second.mode, 'relay')
      const flow = second.authorize(authUrl(redirect), context('C'))
      await first.close()
      let res: { status: number } | undefined
      for (let i = 0; i < 100 && res?.status !== 200; i++) {
        res = await rawGet(callback(redirect, { code: 'mine', state: 'C', iss: ISSUER })).catch(
          () => undefined,
        )
        if (res?.status !== 200) await new Promise((r) => setTimeout(r, 20))
      }
      assert.equal((await flow).searchParams.get('code'), 'mine')
      assert.equal(second.mode, 'listening')
    } finally {
      await second.close()
      await first.close()
    }
  })

  it('refuses an absolute-form request target (it must not pick the origin handed to the engine)', async () => {
    const a = loopbackAuthorizer({ log: quiet, open: () => {} })
    try {
      const redirect = await a.redirectUri()
      const flow = a.authorize(authUrl(redirect), context('abs'))
      const u = new URL(redirect)
      const head = await new Promise<string>((resolve, reject) => {
        const socket = net.connect({ host: '127.0.0.1', port: Number(u.port) })
        let data = ''
        socket.on('connect', () =>
          socket.write(
            `GET http://evil.example/callback?code=c&state=abs&iss=${encodeURIComponent(ISSUER)} HTTP/1.1\r\nHost: evil.example\r\n\r\n`,
          ),
        )
        socket.on('data', (c) => {
          data += c
        })
        socket.on('end', () => resolve(data))
        socket.on('error', reject)
      })
      assert.match(head, /^HTTP\/1\.1 400/)
      const ok = await rawGet(callback(redirect, { code: 'c', state: 'abs', iss: ISSUER }))
      assert.equal(ok.status, 200)
      assert.equal((await flow).origin, u.origin)
    } finally {
      await a.close()
    }
  })

  it('answers whoami to programs but not to web pages, and the relay only with its header', async () => {
    const a = loopbackAuthorizer({ log: quiet })
    try {
      const base = new URL(await a.redirectUri()).origin
      const who = await rawGet(`${base}/.mcp-oauth/whoami`)
      assert.equal(JSON.parse(who.body).app, 'mcp-oauth')
      const relay = await rawGet(`${base}/.mcp-oauth/relay?state=x`)
      assert.equal(relay.status, 403)
    } finally {
      await a.close()
    }
  })

  it('listens on 127.0.0.1 and, where available, ::1 for a localhost redirect', async () => {
    const a = loopbackAuthorizer({ log: quiet, open: () => {}, host: 'localhost' })
    try {
      const redirect = await a.redirectUri()
      assert.match(redirect, /^http:\/\/localhost:\d+\/callback$/)
      const port = new URL(redirect).port
      const flow = a.authorize(authUrl(redirect), context('L'))
      const res = await rawGet(
        `http://127.0.0.1:${port}/callback?state=L&code=c&iss=${encodeURIComponent(ISSUER)}`,
      )
      assert.equal(res.status, 200)
      assert.equal((await flow).origin, `http://localhost:${port}`)
    } finally {
      await a.close()
    }
  })
})
