/**
 * The zoo's five steps, the same for every profile, through the library (authorizedFetch in the SDK v2
 * transport) and through `mcp-oauth connect` (the SDK v2 client over stdio): sign in, `tools/call`, step-up to the
 * second scope, a call after the access token expired (served by a refresh: no second sign-in, each refresh token
 * redeemed once, from the authorization server's own log), logout. Prints, per profile, the requests from the
 * first 401 to the first successful `tools/call`, cold (empty store) and warm (stored client, signed out).
 * Each run gets its own server of the profile, so the two run at once (the waits for expiry overlap) and each
 * reads a log nobody else wrote to.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { type Browser, chromium } from 'playwright-core'
import { type Authorizer, authorizedFetch, MemoryStore, type SessionOptions } from '../../src/client/index.ts'
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, need } from '../support/environment.ts'
import { personAtBrowser } from '../support/sign-in.ts'
import { type Credentials, formAgent, personOnStderr } from './person.ts'
import type { LoggedRequest, ZooServer } from './zoo-server.ts'

const BIN = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))

/** What a profile declares: its server, and what a user must set (exactly what docs/compatibility.md says). */
export interface Profile {
  name: string
  start(): Promise<ZooServer>
  credentials: Credentials
  /** The token subject of that person (default `user-1`, oidc-provider's development login). */
  subject?: string
  /** Access-token lifetime in seconds: the refresh step waits just past it. */
  accessTokenTtl: number
  /** Library options the user sets (pre-registered client, endpoints, authorization parameters…). */
  session?: (zoo: ZooServer) => Partial<SessionOptions> & Record<string, unknown>
  /** The library's redirect URI, when the client is pre-registered with a fixed one. */
  redirectUri?: (zoo: ZooServer) => string
  /** `connect` flags the user sets. */
  cli?: (zoo: ZooServer) => string[]
  /** Environment the user sets for `connect` (a client secret's variable). */
  env?: Record<string, string>
  /**
   * Authorization requests the server refuses before the person signs in, once per issuer (Entra refuses the first
   * one, with `resource`; the client retries without it and remembers): each is one more trip through the browser.
   */
  refusedAuthorizations?: number
  /** `connect`'s sign-ins go through real chromium (mcp-oauth's own login and consent pages) instead of plain HTTP. */
  browser?: boolean
  /** Checks that the profile's quirk is real (its server answers as the product does), run against the server. */
  checks?: Record<string, (zoo: ZooServer) => Promise<void>>
  /** The authorization server offers RFC 7009 revocation. */
  revocation: boolean
}

function text(result: unknown): string {
  return (result as { content: { text: string }[] }).content[0]?.text ?? ''
}

/** Requests from the first 401 after `mark` to the end: what reaching the first successful tools/call cost. */
function fromFirst401(requests: LoggedRequest[], mark: number): LoggedRequest[] {
  const slice = requests.slice(mark)
  const first = slice.findIndex((r) => r.status === 401)
  return first < 0 ? [] : slice.slice(first)
}

function describeRequests(requests: LoggedRequest[]): string {
  // Interaction ids are noise in the figures.
  const path = (p: string) => p.replace(/\/(?=[a-z-]*[A-Z0-9_])[A-Za-z0-9_-]{20,}/g, '/…')
  return `${requests.length} requests: ${requests.map((r) => `${r.method} ${path(r.path)} ${r.status}`).join(', ')}`
}

/** Each refresh token presented was redeemed once (a repeat would be a second redemption). */
function assertRedeemedOnce(zoo: ZooServer): void {
  const seen = zoo.as.log.refreshTokens
  assert.equal(new Set(seen).size, seen.length, `a refresh token was presented twice: ${seen.join(' ')}`)
}

/** Run the five steps of `profile` through the library and through `connect`. */
export function runProfile(profile: Profile): void {
  describe(`zoo: ${profile.name}`, () => {
    const servers: { library?: ZooServer; connect?: ZooServer } = {}
    let browser: Browser | undefined
    const dirs: string[] = []
    before(async () => {
      // One server per run, so that both run at once and each reads its own server's log.
      ;[servers.library, servers.connect] = await Promise.all([profile.start(), profile.start()])
      if (profile.browser && chromiumAvailable())
        browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
    })
    after(async () => {
      await browser?.close()
      await Promise.all([servers.library?.close(), servers.connect?.close()])
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    })

    describe('library and connect', { concurrency: true }, () => {
      it('library: sign in, tools/call, step-up, refresh after expiry, logout', async (t) => {
        const zoo = servers.library!
        const log = zoo.as.log
        const agent = formAgent(profile.credentials)
        const redirectUri = profile.redirectUri?.(zoo) ?? 'http://127.0.0.1:9/callback'
        const authorizer: Authorizer = { redirectUri, authorize: (url) => agent.signIn(url, redirectUri) }
        const store = new MemoryStore()
        const options = { serverUrl: zoo.mcp, authorizer, store, ...profile.session?.(zoo) }
        const open = async () => {
          const fetch = authorizedFetch(options as SessionOptions)
          const client = new Client({ name: 'zoo-library', version: '1.0.0' })
          await client.connect(new StreamableHTTPClientTransport(new URL(zoo.mcp), { fetch }))
          return { fetch, client }
        }
        const grants = log.codeGrants
        const mark = zoo.requests.length
        // 1. Sign in.
        const { fetch, client } = await open().catch((e: Error) => {
          throw new Error(`${e.message}\n${describeRequests(zoo.requests.slice(mark))}`, { cause: e })
        })
        const refused = profile.refusedAuthorizations ?? 0
        assert.equal(agent.signIns, 1 + refused, `one sign-in: ${describeRequests(zoo.requests.slice(mark))}`)
        assert.equal(log.codeGrants, grants + 1)
        // 2. tools/call.
        assert.equal(
          JSON.parse(text(await client.callTool({ name: 'read', arguments: {} }))).subject,
          profile.subject ?? 'user-1',
        )
        t.diagnostic(`cold, library: ${describeRequests(fromFirst401(zoo.requests, mark))}`)
        // 3. Step-up to the second scope.
        assert.equal(text(await client.callTool({ name: 'write', arguments: {} })), 'written')
        assert.equal(agent.signIns, 2 + refused, 'one more sign-in for the step-up')
        await expiredCall(t, zoo, profile, async () => {
          assert.ok(text(await client.callTool({ name: 'read', arguments: {} })))
        })
        assert.equal(agent.signIns, 2 + refused, 'the refresh needed no sign-in')
        // 5. Logout.
        const result = await fetch.session.logout()
        assert.equal(result.signed_in, true)
        if (profile.revocation) assert.equal(result.refresh_token_revoked, true, JSON.stringify(result))
        else assert.equal(result.revoked, false, 'nothing to revoke at: logout says so')
        assert.equal((await fetch.session.status()).signed_in, false)
        await client.close()
        // Warm: the client registration and the metadata are stored; the person signs in again.
        const warmMark = zoo.requests.length
        const again = await open()
        assert.equal(
          JSON.parse(text(await again.client.callTool({ name: 'read', arguments: {} }))).subject,
          profile.subject ?? 'user-1',
        )
        assert.equal(agent.signIns, 3 + refused, 'signed out: the next call asks the person again')
        t.diagnostic(`warm, library: ${describeRequests(fromFirst401(zoo.requests, warmMark))}`)
        await again.client.close()
      })

      it('connect: sign in, tools/call, step-up, refresh after expiry, logout', async (t) => {
        if (profile.browser && !need(t, 'chromium', chromiumAvailable())) return
        const zoo = servers.connect!
        const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-zoo-'))
        dirs.push(dir)
        const env = {
          ...(process.env as Record<string, string>),
          DISPLAY: ':99',
          XDG_CONFIG_HOME: dir,
          ...profile.env,
        }
        const flags = ['--store', 'file', '--store-dir', dir, ...(profile.cli?.(zoo) ?? [])]
        const agent = formAgent(profile.credentials)
        const open = async () => {
          const transport = new StdioClientTransport({
            command: process.execPath,
            args: [BIN, 'connect', zoo.mcp, ...flags],
            env,
            stderr: 'pipe',
          })
          const stderr = transport.stderr as never
          const person = browser
            ? inBrowser(personAtBrowser(stderr, browser, profile.credentials))
            : personOnStderr(stderr, agent, () => void transport.close())
          const client = new Client({ name: 'zoo-host', version: '1.0.0' })
          await client.connect(transport).catch((e: Error) => {
            throw new Error(`${e.message}\n--- bridge stderr ---\n${person.stderr}`)
          })
          return { client, person }
        }
        const log = zoo.as.log
        const grants = log.codeGrants
        const mark = zoo.requests.length
        const { client, person } = await open()
        try {
          assert.equal(log.codeGrants, grants + 1, person.stderr)
          assert.equal(
            JSON.parse(text(await client.callTool({ name: 'read', arguments: {} }))).subject,
            profile.subject ?? 'user-1',
          )
          t.diagnostic(`cold, connect: ${describeRequests(fromFirst401(zoo.requests, mark))}`)
          assert.equal(
            text(await client.callTool({ name: 'write', arguments: {} })),
            'written',
            person.stderr,
          )
          assert.equal(log.codeGrants, grants + 2, 'one more sign-in for the step-up')
          await expiredCall(t, zoo, profile, async () => {
            assert.ok(text(await client.callTool({ name: 'read', arguments: {} })))
          })
          assert.equal(log.codeGrants, grants + 2, 'the refresh needed no sign-in')
          assert.equal(person.asked, 2 + (profile.refusedAuthorizations ?? 0), person.stderr)
          assert.doesNotMatch(person.stderr, /eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/, 'no token (JWT) on stderr')
        } finally {
          await client.close()
        }
        const out = await cli(['logout', zoo.mcp, '--json', ...flags], env)
        assert.equal(out.code, 0, out.stderr)
        const line = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>
        assert.equal(line['signed_in'], true, out.stdout)
        if (profile.revocation) assert.equal(line['refresh_token_revoked'], true, out.stdout)
        else assert.equal(line['revoked'], false, out.stdout)
      })
    })

    // After both runs: a probe may leave the server's log in a state the five steps would refuse (a reused token).
    for (const [name, check] of Object.entries(profile.checks ?? {}))
      it(name, async () => {
        await check(servers.library!)
        await check(servers.connect!)
      })
  })
}

/** 4. Wait until the access token expired, make a call, and check the server refreshed it without a sign-in. */
async function expiredCall(t: TestContext, zoo: ZooServer, profile: Profile, call: () => Promise<void>) {
  const log = zoo.as.log
  const refreshes = log.refreshGrants
  const grants = log.codeGrants
  await sleep(profile.accessTokenTtl * 1000 + 250)
  const mark = zoo.requests.length
  await call()
  assert.ok(
    log.refreshGrants > refreshes,
    `served by a refresh (token errors: ${log.tokenErrors.join(', ')}; ${describeRequests(zoo.requests.slice(mark))})`,
  )
  assert.equal(log.codeGrants, grants, 'no second sign-in')
  assertRedeemedOnce(zoo)
  t.diagnostic(`refresh grants: ${log.refreshGrants - refreshes}`)
}

/** The chromium person, seen as the plain-HTTP one is (sign-in URLs it was given, what the bridge said). */
function inBrowser(person: ReturnType<typeof personAtBrowser>) {
  return {
    get asked() {
      return person.signIns
    },
    get stderr() {
      return person.stderr
    },
  }
}

/** Run the CLI to completion. */
function cli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d
    })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}
