/**
 * What the gateway end-to-end tests share: `mcp-oauth serve --proxy` spawned as a person runs it, and sign-in
 * through serve's login and consent pages in real chromium for clients that hand over an authorization URL.
 */
import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext } from 'playwright-core'
import { HeadlessSdkProvider } from '../../src/server/testing/sdk-client.test-helper.ts'
import { SdkV1Provider } from './sdk-v1-provider.ts'

const BIN = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))

export const GATEWAY_USER = { username: 'gwuser', password: randomBytes(12).toString('base64url') }

const contexts = new WeakMap<Browser, BrowserContext>()

export interface GatewayServe {
  mcp: string
  issuer: string
  /** Everything serve wrote to stderr so far (banner, audit). */
  stderr(): string
  close(): Promise<void>
}

/** Spawn `mcp-oauth serve --proxy url` on a free port; resolves once it printed its JSON line. */
export async function startGatewayServe(url: string, extra: string[] = []): Promise<GatewayServe> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--proxy',
      url,
      '--port',
      '0',
      '--store',
      'memory',
      '--no-rate-limits',
      '--user',
      `${GATEWAY_USER.username}:${GATEWAY_USER.password}`,
      '--tool-scope',
      'admin_op=admin',
      '--json',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let err = ''
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()))
  const ready = await new Promise<{ mcp: string; issuer: string }>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line && out.includes('\n')) resolve(JSON.parse(line) as { mcp: string; issuer: string })
    })
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)))
  })
  return {
    ...ready,
    stderr: () => err,
    close: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}

/**
 * Complete serve's login and consent pages for `authorizationUrl` in chromium and return the URL the browser
 * was sent back to (the first request `redirect` matches: a prefix, or a test).
 */
export async function signInThroughPages(
  browser: Browser,
  authorizationUrl: string,
  redirect: string | ((url: string) => boolean),
): Promise<URL> {
  const isRedirect = typeof redirect === 'string' ? (u: string) => u.startsWith(redirect) : redirect
  // One context per browser: the person stays signed in at serve, so a step-up is only a consent.
  let context = contexts.get(browser)
  if (!context) {
    context = await browser.newContext()
    contexts.set(browser, context)
  }
  const page = await context.newPage()
  let callback: string | undefined
  // Redirects are not routed by Playwright, but every hop is a request event: the one to the client is the answer.
  page.on('request', (r) => {
    if (isRedirect(r.url())) callback ??= r.url()
  })
  try {
    await page.goto(authorizationUrl).catch(() => {})
    for (let step = 0; step < 6 && !callback; step++) {
      const before = page.url()
      if (process.env.DEBUG_GW) console.error(Date.now() % 100000, 'step', step, before.split('?')[0])
      if ((await page.locator('input[name=username]').count()) > 0) {
        await page.fill('input[name=username]', GATEWAY_USER.username)
        await page.fill('input[name=password]', GATEWAY_USER.password)
        await page.click('button[type=submit]')
      } else if ((await page.locator('button', { hasText: 'Allow' }).count()) > 0) {
        await page.click('button:has-text("Allow")')
      } else if (!callback) {
        throw new Error(
          `unexpected page ${page.url().split('?')[0]}: ${(await page.textContent('body'))?.slice(0, 300)}`,
        )
      }
      await page.waitForURL((u) => u.href !== before || callback !== undefined).catch(() => {})
      await page.waitForLoadState('load').catch(() => {})
    }
    if (!callback) throw new Error('the browser never came back to the client')
    await page.waitForLoadState('load').catch(() => {})
    return new URL(callback)
  } finally {
    await page.close()
  }
}

/** The SDK v2 client's provider, signing in through serve's pages in chromium. */
export class BrowserSdkProvider extends HeadlessSdkProvider {
  readonly browser: Browser
  constructor(browser: Browser) {
    super()
    this.browser = browser
  }
  override async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizations++
    this.requestedScopes.push(url.searchParams.get('scope') ?? '')
    this.callback = await signInThroughPages(this.browser, url.href, this.redirectUrl)
  }
}

/** Stdio server parameters for `mcp-oauth connect url` with its own file store in `dir` (a display, so it opens the browser path). */
export function connectParams(url: string, dir: string) {
  return {
    command: process.execPath,
    args: [BIN, 'connect', url, '--store', 'file', '--store-dir', dir],
    env: { ...(process.env as Record<string, string>), DISPLAY: ':99', XDG_CONFIG_HOME: dir },
    stderr: 'pipe' as const,
  }
}

/** The SDK v1 client's provider (`@modelcontextprotocol/sdk` 1.x), signing in through serve's pages in chromium. */
export class BrowserV1Provider extends SdkV1Provider {
  readonly browser: Browser
  constructor(browser: Browser) {
    super({
      clientName: 'sdk v1 via gateway',
      signIn: (url, redirectUrl) => signInThroughPages(browser, url.href, redirectUrl),
      // SDK v1 answers insufficient_scope by refreshing when it holds a refresh token, which brings back the old
      // scope (an AS cannot widen a grant on refresh): it then gives up. Keeping none makes it re-authorize.
      dropRefreshTokens: true,
    })
    this.browser = browser
  }
}

/** JSON-RPC over a stdio child's lines (mcp-remote): send a request, wait for the answer with its id. */
export function lineRpc(child: ChildProcessWithoutNullStreams) {
  let buffer = ''
  const waiting = new Map<number, (message: Record<string, unknown>) => void>()
  child.stdout.on('data', (chunk) => {
    buffer += chunk
    for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
      const line = buffer.slice(0, newline).trim()
      buffer = buffer.slice(newline + 1)
      if (!line) continue
      const message = JSON.parse(line) as Record<string, unknown>
      if (typeof message['id'] === 'number') waiting.get(message['id'])?.(message)
    }
  })
  let next = 1
  return {
    request(method: string, params: Record<string, unknown> = {}) {
      const id = next++
      const answer = new Promise<Record<string, unknown>>((resolve) => waiting.set(id, resolve))
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`)
      return answer
    },
    notify(method: string) {
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method })}\n`)
    },
  }
}

/**
 * The person for a process that prints sign-in URLs on stderr (`mcp-oauth connect`): each URL is completed in
 * this browser's shared context (signed in once per file, so a step-up is a consent only) up to the loopback
 * `/callback`, which the browser then loads.
 */
export function signInsFrom(
  stderr: { on(event: 'data', listener: (chunk: Buffer) => void): unknown },
  browser: Browser,
) {
  let text = ''
  const urls: string[] = []
  const flows: Promise<unknown>[] = []
  stderr.on('data', (chunk: Buffer) => {
    text += chunk.toString()
    for (const m of text.matchAll(/open this URL in a browser:\s*\n\s*(\S+)/g)) {
      if (urls.includes(m[1]!)) continue
      urls.push(m[1]!)
      flows.push(signInThroughPages(browser, m[1]!, (u) => new URL(u).pathname === '/callback'))
    }
  })
  return {
    get count() {
      return urls.length
    },
    get stderr() {
      return text
    },
    settled: () => Promise.allSettled(flows),
  }
}
