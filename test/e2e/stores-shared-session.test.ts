/**
 * Many processes, one session, against the real engine (createSession + authorizedFetch), a real oidc-provider
 * with single-use rotating refresh tokens and 5-second access tokens, a JWT-checking MCP endpoint, the file
 * store and a real browser for the one interactive sign-in:
 * - four processes started together: one sign-in, all make authorized calls for 30 s, the AS sees no refresh
 *   token twice and no invalid_grant;
 * - kill -9 of a process in the middle of refreshing, 20 times: the store always loads; against this package's
 *   authorization server (refresh grace window, idempotent rotation) every session goes on without a new
 *   sign-in; against a strict single-use server the loss rate is reported.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { completeSignIn } from '../../scripts/consent-page.ts'
import { authorizedFetch, createSession } from '../../src/client/index.ts'
import { loopbackAuthorizer } from '../../src/client/interaction/loopback.ts'
import {
  freePort,
  startTestAuthorizationServer,
  type TestAuthorizationServer,
} from '../../src/client/interaction/testing/authorization-server.test-helper.ts'
import {
  startTestMcpServer,
  type TestMcpServer,
} from '../../src/client/interaction/testing/mcp-server.test-helper.ts'
import { actAsPerson } from '../../src/client/interaction/testing/person.test-helper.ts'
import { FileStore } from '../../src/client/stores/file-store.ts'
import { storeKey } from '../../src/client/stores/store.ts'
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, need } from '../support/environment.ts'
import {
  type RunningAuthorizationServer,
  startAuthorizationServer,
  testUser,
} from './authorization-server-helpers.ts'

/** An authorization server and MCP server pair a kill -9 loop runs against, and how a person signs in there. */
interface Target {
  serverUrl: string
  signIn(url: URL, redirectPrefix: string): Promise<void>
}

const SELF = fileURLToPath(import.meta.url)
const role = process.env['SESSION_WORKER']
const CLIENT_ID = 'mcp-oauth-test-client'

/** A session like the CLI makes one: file store, loopback authorizer on the fixed port, pre-registered client. */
function makeSession(dir: string, serverUrl: string, port: number, open: (url: URL) => void) {
  const store = new FileStore({ dir, log: (l) => process.stderr.write(`${l}\n`) })
  const authorizer = loopbackAuthorizer({ port, open, log: () => {}, timeoutMs: 60_000 })
  const session = createSession({
    serverUrl,
    store,
    authorizer,
    identity: {
      client_name: 'mcp-oauth test',
      preRegistered: { client_id: CLIENT_ID, token_endpoint_auth_method: 'none' },
    },
    dpop: 'never',
  })
  return { store, authorizer, session, fetch: authorizedFetch(session) }
}

async function call(fetch: typeof globalThis.fetch, serverUrl: string, id: number): Promise<number> {
  const res = await fetch(serverUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' }),
  })
  await res.text()
  return res.status
}

async function worker(): Promise<void> {
  const dir = process.env['STORE_DIR']!
  const serverUrl = process.env['SERVER_URL']!
  const port = Number(process.env['CALLBACK_PORT'])
  const say = (line: string) => process.stdout.write(`${line}\n`)
  const { session, fetch, authorizer } = makeSession(dir, serverUrl, port, (url) => say(`OPEN ${url.href}`))
  if (role === 'caller') {
    const until = Date.now() + Number(process.env['DURATION_MS'])
    let ok = 0
    const failures: number[] = []
    for (let id = 1; Date.now() < until; id++) {
      const status = await call(fetch, serverUrl, id)
      if (status === 200) ok++
      else failures.push(status)
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 150))
    }
    say(`RESULT ${JSON.stringify({ ok, failures })}`)
    await authorizer.close()
  } else if (role === 'refresher') {
    // Refresh again and again with short pauses, so kills land both inside and between refreshes.
    const tokens = await session.tokens()
    if (!tokens) throw new Error('no stored session')
    say('READY')
    let t = tokens
    for (;;) {
      t = await session.refresh(t)
      await new Promise((r) => setTimeout(r, Math.random() * 60))
    }
  }
}

if (role) {
  await worker()
} else {
  let browser: Browser | undefined
  let page: Page
  let as: TestAuthorizationServer
  let mcp: TestMcpServer
  let serverUrl: string
  let port: number
  /** The same scene against this package's authorization server, which has a refresh grace window. */
  let ours: {
    server: RunningAuthorizationServer
    mcp: TestMcpServer
    user: { username: string; password: string }
  }
  const dirs: string[] = []

  before(async () => {
    if (!chromiumAvailable()) return
    port = await freePort()
    mcp = await startTestMcpServer()
    serverUrl = mcp.url
    as = await startTestAuthorizationServer({
      redirectUris: [`http://127.0.0.1:${port}/callback`],
      resource: serverUrl,
      accessTokenTtl: 5,
    })
    mcp.setIssuer(as.issuer)
    const oursMcp = await startTestMcpServer()
    const { user, username, password } = await testUser()
    const server = await startAuthorizationServer({
      users: [user],
      resources: [{ uri: oursMcp.url, scopes: ['mcp:tools'], accessTokenTtlSeconds: 5 }],
      clients: [
        {
          client_id: CLIENT_ID,
          token_endpoint_auth_method: 'none',
          redirect_uris: [`http://127.0.0.1:${port}/callback`],
        },
      ],
      rateLimits: false,
    })
    oursMcp.setIssuer(server.issuer)
    ours = { server, mcp: oursMcp, user: { username, password } }
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
    page = await (await browser.newContext()).newPage()
  })

  after(async () => {
    await browser?.close()
    await as?.close()
    await mcp?.close()
    await ours?.server.close()
    await ours?.mcp.close()
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true })
  })

  const tempDir = async () => {
    const d = await fs.mkdtemp(join(tmpdir(), 'mcp-oauth-shared-'))
    dirs.push(d)
    return d
  }

  /** Spawn a worker; OPEN lines are the one interactive sign-in, done by the person in the browser. */
  function spawnWorker(kind: string, dir: string, extra: Record<string, string>, onOpen: (url: URL) => void) {
    const child = spawn(process.execPath, [SELF], {
      env: {
        ...process.env,
        SESSION_WORKER: kind,
        STORE_DIR: dir,
        SERVER_URL: serverUrl,
        CALLBACK_PORT: String(port),
        ...extra,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const lines: string[] = []
    let stderr = ''
    child.stderr!.on('data', (c) => {
      stderr += c
    })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line)
      if (line.startsWith('OPEN ')) onOpen(new URL(line.slice(5)))
    })
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    return { child, lines, exited, stderr: () => stderr }
  }

  function skipWithoutChromium(t: TestContext): boolean {
    return !need(t, 'chromium', chromiumAvailable())
  }

  describe('one session shared by several processes (engine + file store)', () => {
    it('four processes started together: one sign-in, 30 s of authorized calls, no refresh token reused', {
      timeout: 120_000,
    }, async (t) => {
      if (skipWithoutChromium(t)) return
      const dir = await tempDir()
      const before = { ...as.stats }
      const signIns: URL[] = []
      const people: Promise<void>[] = []
      const onOpen = (url: URL) => {
        signIns.push(url)
        people.push(actAsPerson(page, url, `http://127.0.0.1:${port}/callback`))
      }
      const workers = Array.from({ length: 4 }, () =>
        spawnWorker('caller', dir, { DURATION_MS: '30000' }, onOpen),
      )
      const codes = await Promise.all(workers.map((w) => w.exited))
      await Promise.all(people)
      for (const [i, w] of workers.entries()) assert.equal(codes[i], 0, `worker ${i} failed: ${w.stderr()}`)
      const results = workers.map((w) => {
        const line = w.lines.find((l) => l.startsWith('RESULT '))
        assert.ok(line, `worker printed no result: ${w.stderr()}`)
        return JSON.parse(line.slice(7)) as { ok: number; failures: number[] }
      })
      const refreshes = as.stats.refreshGrants - before.refreshGrants
      t.diagnostic(
        `sign-ins ${signIns.length}; calls ok ${results.map((r) => r.ok).join('/')}; refreshes ${refreshes}; ` +
          `reuse ${as.stats.refreshReuse - before.refreshReuse}; invalid_grant ${as.stats.invalidGrant - before.invalidGrant}`,
      )
      assert.equal(signIns.length, 1, 'exactly one interactive sign-in')
      assert.equal(as.stats.codeGrants - before.codeGrants, 1, 'exactly one code redeemed')
      for (const r of results) {
        assert.ok(r.ok > 30, 'each process made authorized calls throughout')
        assert.deepEqual(r.failures, [], 'every call was authorized')
      }
      assert.equal(as.stats.refreshReuse - before.refreshReuse, 0, 'no refresh token was presented twice')
      assert.equal(as.stats.invalidGrant - before.invalidGrant, 0, 'no invalid_grant')
      // 30 s of 5 s tokens: a handful of refreshes, each done once for all four processes.
      assert.ok(refreshes >= 4 && refreshes <= 12, `refreshes: ${refreshes}`)
    })

    /**
     * 20 kill -9s of a refresher, each followed by a new process that must go on from the store: a call and a
     * forced refresh. Returns how many went on without a new sign-in, and how many kills held the refresh lock.
     */
    async function killNineLoop(target: Target, dir: string) {
      const redirectPrefix = `http://127.0.0.1:${port}/callback`
      let signIns = 0
      const people: Promise<void>[] = []
      const open = (url: URL) => {
        signIns++
        people.push(target.signIn(url, redirectPrefix))
      }
      const first = makeSession(dir, target.serverUrl, port, open)
      assert.equal(await call(first.fetch, target.serverUrl, 1), 200)
      await Promise.all(people)
      await first.authorizer.close()
      assert.equal(signIns, 1)
      let killedHoldingRefreshLock = 0
      let continued = 0
      for (let i = 0; i < 20; i++) {
        const w = spawnWorker('refresher', dir, { SERVER_URL: target.serverUrl }, () => {
          throw new Error('the refresher must never need a sign-in')
        })
        await new Promise<void>((resolve, reject) => {
          const check = setInterval(() => {
            if (w.lines.includes('READY')) {
              clearInterval(check)
              resolve()
            }
          }, 5)
          w.exited.then(() => {
            clearInterval(check)
            reject(new Error(`refresher exited early: ${w.stderr()}`))
          })
        })
        await new Promise((r) => setTimeout(r, Math.random() * 400))
        w.child.kill('SIGKILL')
        await w.exited.catch(() => {})
        const locks = await fs.readdir(join(dir, 'locks')).catch(() => [] as string[])
        if (locks.some((f) => f.endsWith('.lock') && f !== 'init.lock')) killedHoldingRefreshLock++
        // The store always loads, whole.
        const warnings: string[] = []
        const store = new FileStore({ dir, log: (l) => warnings.push(l) })
        const pointer = await store.get<{ key: string }>(storeKey.current(target.serverUrl))
        assert.ok(pointer, 'the session pointer is there')
        const entry = await store.get<{ tokens: { refresh_token?: string } }>(pointer.value.key)
        assert.ok(entry?.value.tokens.refresh_token, 'the session is there')
        assert.deepEqual(warnings, [])
        const signInsBefore: number = signIns
        const next = makeSession(dir, target.serverUrl, port, open)
        assert.equal(await call(next.fetch, target.serverUrl, 2), 200, 'the next call succeeds')
        // The stored access token may still be valid: refresh too, so the stored refresh token is what counts.
        const refreshed = await next.session
          .tokens()
          .then((t) => (t ? next.session.refresh(t) : undefined))
          .catch(() => undefined)
        await Promise.all(people)
        if (!refreshed) assert.equal(await call(next.fetch, target.serverUrl, 3), 200, 'a sign-in recovers')
        await Promise.all(people)
        await next.authorizer.close()
        if (refreshed && signIns === signInsBefore) continued++
      }
      return { continued, killedHoldingRefreshLock }
    }

    it('kill -9 in the middle of a refresh, 20 times: with a grace window all 20 sessions go on without a new sign-in; a strict server loses some', {
      timeout: 480_000,
    }, async (t) => {
      if (skipWithoutChromium(t)) return
      const strict = await killNineLoop(
        { serverUrl, signIn: (url, prefix) => actAsPerson(page, url, prefix) },
        await tempDir(),
      )
      const graceful = await killNineLoop(
        { serverUrl: ours.mcp.url, signIn: (url) => completeSignIn(page, url.href, ours.user) },
        await tempDir(),
      )
      t.diagnostic(
        `strict single-use refresh tokens: ${20 - strict.continued}/20 sessions lost (kill between the AS answer and the store write), ${strict.killedHoldingRefreshLock} kills held the refresh lock`,
      )
      t.diagnostic(
        `mcp-oauth authorization server (grace window): ${20 - graceful.continued}/20 sessions lost, ${graceful.killedHoldingRefreshLock} kills held the refresh lock`,
      )
      assert.equal(graceful.continued, 20, 'every session goes on without a new sign-in')
      assert.ok(graceful.killedHoldingRefreshLock > 0, 'some kills landed in the middle of a refresh')
      assert.ok(strict.continued > 0)
    })
  })
}
