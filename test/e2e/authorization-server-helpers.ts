/**
 * Test helpers for the authorization server: start it on a loopback port, and a headless user agent that
 * signs in and consents by submitting the real HTML forms (cookies kept, redirects followed by hand).
 */
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type AuthorizationServer,
  type AuthorizationServerOptions,
  createAuthorizationServer,
  hashPassword,
} from '../../src/authorization-server/index.ts'

export interface RunningAuthorizationServer {
  as: AuthorizationServer
  server: Server
  issuer: string
  origin: string
  close(): Promise<void>
}

/** Starts an authorization server on 127.0.0.1:0; `options` may omit the issuer. */
export async function startAuthorizationServer(
  options: Omit<AuthorizationServerOptions, 'issuer'> & { issuerPath?: string },
): Promise<RunningAuthorizationServer> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const as = await createAuthorizationServer({ ...options, issuer: `${origin}${options.issuerPath ?? ''}` })
  server.on('request', as.handler)
  return {
    as,
    server,
    issuer: as.issuer,
    origin,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await as.close()
    },
  }
}

export async function testUser(username = 'alice', password = 'correct horse battery') {
  return { username, password, user: { username, passwordHash: await hashPassword(password) } }
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** A tiny cookie-keeping browser substitute (cookies keyed by path and name; like browsers, not by port). */
export class HeadlessAgent {
  readonly cookies = new Map<string, { name: string; path: string; value: string }>()

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    const path = new URL(url).pathname
    const sending = [...this.cookies.values()].filter(
      (c) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`),
    )
    if (sending.length) headers.set('cookie', sending.map((c) => `${c.name}=${c.value}`).join('; '))
    const response = await fetch(url, { ...init, headers, redirect: 'manual' })
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';')
      const index = pair!.indexOf('=')
      const name = pair!.slice(0, index).trim()
      const value = pair!.slice(index + 1)
      const cookiePath =
        attributes
          .map((a) => a.trim())
          .find((a) => a.toLowerCase().startsWith('path='))
          ?.slice(5) || '/'
      const key = `${cookiePath}|${name}`
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(key)
      else this.cookies.set(key, { name, path: cookiePath, value })
    }
    return response
  }

  /**
   * Follows the authorization flow from `authorizeUrl`, signing in and allowing consent, until a redirect to
   * `callbackPrefix`; returns that URL. `decide` may deny consent.
   */
  async authorize(
    authorizeUrl: string,
    callbackPrefix: string,
    credentials: { username: string; password: string },
    decide: 'allow' | 'deny' = 'allow',
    formAction?: RegExp,
  ): Promise<{ callback: string; pages: string[] }> {
    let url = authorizeUrl
    let init: RequestInit = {}
    const pages: string[] = []
    for (let hop = 0; hop < 20; hop++) {
      const response = await this.request(url, init)
      init = {}
      const location = response.headers.get('location')
      if (response.status >= 300 && response.status < 400 && location) {
        const next = new URL(location, url).href
        if (next.startsWith(callbackPrefix)) return { callback: next, pages }
        url = next
        continue
      }
      const html = await response.text()
      pages.push(html)
      if (response.status !== 200)
        throw new Error(`unexpected ${response.status} at ${url}: ${html.slice(0, 500)}`)
      // oidc-provider's own auto-submitting pages (ending another account's session before a new login): post
      // their hidden fields as the page's script would.
      if (/document\.forms\[0\]\.submit\(\)/.test(html)) {
        const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]
        const fields = [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/?>/g)]
        if (action) {
          url = new URL(action.replace(/&amp;/g, '&'), url).href
          init = {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams(fields.map((m): [string, string] => [m[1]!, m[2]!])).toString(),
          }
          continue
        }
      }
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1]
      const actions = [...html.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]!)
      const action = (formAction && actions.find((a) => formAction.test(a))) ?? actions[0]
      if (!csrf || !action) throw new Error(`no form at ${url}: ${html.slice(0, 500)}`)
      const target = new URL(action.replace(/&amp;/g, '&'), url)
      const form = new URLSearchParams({ csrf })
      if (html.includes('name="password"') && !formAction?.test(action)) {
        form.set('username', credentials.username)
        form.set('password', credentials.password)
      } else if (decide === 'deny') {
        target.pathname = target.pathname.replace(/\/confirm$/, '/abort')
      }
      url = target.href
      init = {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      }
    }
    throw new Error('too many redirects')
  }
}

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies in tests are checked field by field by assertions
export type Json = Record<string, any>

/** Parses a JSON response body for assertions. */
export async function json(response: Response): Promise<Json> {
  return (await response.json()) as Json
}

/** A spawned `mcp-oauth serve` process and the JSON line it printed when ready. */
export interface ServeProcess {
  child: import('node:child_process').ChildProcess
  ready: { mcp: string; issuer: string; listen: string; pid: number }
  stderr: () => string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Spawns `bin/mcp-oauth.js serve --json …` (or another copy of the bin) with this Node and waits for its ready line. */
export async function spawnServe(
  args: string[],
  env: Record<string, string | undefined> = {},
  bin = new URL('../../bin/mcp-oauth.js', import.meta.url).pathname,
): Promise<ServeProcess> {
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, [bin, 'serve', '--json', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let err = ''
  child.stderr!.on('data', (chunk) => {
    err += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const ready = await new Promise<ServeProcess['ready']>((resolve, reject) => {
    let out = ''
    // A serve that never got ready is stopped, or it would keep the test file alive after the failure. The wait is
    // a hang guard, not a speed check: two test files at a time on two loaded cores have taken over 20 s to start it.
    const timer = setTimeout(() => {
      child.kill()
      reject(new Error(`serve not ready after 90 s: ${err}`))
    }, 90_000)
    child.stdout!.on('data', (chunk) => {
      out += chunk
      const line = out.split('\n')[0]
      if (out.includes('\n') && line) {
        clearTimeout(timer)
        resolve(JSON.parse(line))
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited with ${code}: ${err}`))
    })
  })
  return {
    child,
    ready,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal)
      return await exited
    },
  }
}

/**
 * `mcp-oauth serve` on a free port with one local user, a memory store, no rate limits and no banner: the
 * authorization server and demo MCP server most browser tests sign in to.
 */
export async function spawnServeWithUser(
  user: { username: string; password: string },
  extra: string[] = [],
): Promise<ServeProcess> {
  return await spawnServe([
    '--port',
    '0',
    '--store',
    'memory',
    '--no-rate-limits',
    '--quiet',
    ...extra,
    '--user',
    `${user.username}:${user.password}`,
  ])
}

/** A port that was free a moment ago (for tools that insist on a fixed port), outside the ephemeral range. */
export { freePort } from '../../src/client/interaction/testing/authorization-server.test-helper.ts'

/** Registers a public native client by DCR and returns its client_id. */
export async function registerClient(
  issuer: string,
  redirectUris: string[],
  extra: Json = {},
): Promise<Json> {
  const metadata = await json(await fetch(`${issuer}/.well-known/oauth-authorization-server`))
  const response = await fetch(metadata['registration_endpoint'], {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: redirectUris, token_endpoint_auth_method: 'none', ...extra }),
  })
  if (response.status !== 201)
    throw new Error(`registration failed: ${response.status} ${await response.text()}`)
  return await json(response)
}

/** A throwaway self-signed certificate for 127.0.0.1, made with the openssl command at run time. */
export async function selfSignedCertificate(): Promise<{ key: string; cert: string }> {
  const { execFileSync } = await import('node:child_process')
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-cert-'))
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
      ].concat([
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ]),
      { stdio: 'ignore' },
    )
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A public client's authorization code flow with PKCE through the real forms; returns the token response. */
export async function codeFlow(
  metadata: Json,
  clientId: string,
  redirectUri: string,
  user: { username: string; password: string },
  extra: Record<string, string>,
): Promise<Json> {
  const { verifier, challenge } = pkce()
  const { callback } = await new HeadlessAgent().authorize(
    `${metadata['authorization_endpoint']}?${new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...extra,
    })}`,
    redirectUri,
    user,
  )
  return await json(
    await fetch(metadata['token_endpoint'], {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: clientId,
        code: new URL(callback).searchParams.get('code')!,
        redirect_uri: redirectUri,
        code_verifier: verifier,
      }),
    }),
  )
}
