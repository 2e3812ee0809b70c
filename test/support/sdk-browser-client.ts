/**
 * The official SDK v2 client in redirect mode with a person in real chromium: a loopback page that records each
 * callback, an OAuth provider whose redirect step signs in and allows on mcp-oauth's pages, and the retry loop an
 * app runs around `finishAuth` (including step-up).
 */
import assert from 'node:assert/strict'
import { createServer as createHttpServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  auth,
  Client,
  InsufficientScopeError,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from '@modelcontextprotocol/client'
import type { BrowserContext } from 'playwright-core'
import { MemorySdkProvider } from '../../src/server/testing/sdk-client.test-helper.ts'

/** Loopback redirect target: records each callback URL. */
export async function callbackServer(): Promise<{ url: string; server: Server; next(): Promise<URL> }> {
  let waiting: ((url: URL) => void) | undefined
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    res.end('signed in; you can close this tab')
    // Only the redirect itself counts (the browser also asks for /favicon.ico).
    if (url.pathname !== '/callback' || !waiting) return
    const resolve = waiting
    waiting = undefined
    resolve(url)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`
  return {
    url,
    server,
    next: () =>
      new Promise<URL>((resolve) => {
        waiting = resolve
      }),
  }
}

/** An SDK OAuth provider whose redirect step is a person in a real browser: sign in if asked, then Allow. */
export class BrowserProvider extends MemorySdkProvider {
  consentPages: string[] = []

  readonly context: BrowserContext
  readonly callbacks: Awaited<ReturnType<typeof callbackServer>>
  readonly credentials: { username: string; password: string }
  readonly clientMetadataUrl: string | undefined

  constructor(
    context: BrowserContext,
    callbacks: Awaited<ReturnType<typeof callbackServer>>,
    credentials: { username: string; password: string },
    clientMetadataUrl?: string,
  ) {
    super('SDK browser test')
    this.context = context
    this.callbacks = callbacks
    this.credentials = credentials
    this.clientMetadataUrl = clientMetadataUrl
  }

  get redirectUrl() {
    return this.callbacks.url
  }
  async redirectToAuthorization(url: URL) {
    this.authorizations++
    const arrived = this.callbacks.next()
    const page = await this.context.newPage()
    try {
      await page.goto(url.href)
      if (await page.locator('#password').count()) {
        await page.fill('#username', this.credentials.username)
        await page.fill('#password', this.credentials.password)
        await page.click('button[type=submit]')
      }
      await page.waitForSelector('text=Allow access?', { timeout: 10_000 }).catch(async (error) => {
        throw new Error(
          `no consent page at ${page.url()}: ${((await page.textContent('body')) ?? '').slice(0, 300)}`,
          {
            cause: error,
          },
        )
      })
      this.consentPages.push((await page.textContent('main')) ?? '')
      await page.click('button:has-text("Allow")')
      this.callback = await arrived
    } finally {
      // Not awaited: under load chromium sometimes never acknowledges closing a page that just navigated to
      // the loopback callback; the context is closed at the end of the test anyway.
      void page.close().catch(() => {})
    }
  }
}

/**
 * Runs `fn` the way an app drives the SDK in redirect mode: on UnauthorizedError (including after the SDK's
 * own step-up redirect) hand the callback to finishAuth and retry; an InsufficientScopeError (a transport in
 * `onInsufficientScope: 'throw'` mode) is answered by authorizing the union of granted and challenged scopes.
 */
export async function signedIn<T>(
  provider: BrowserProvider,
  transport: StreamableHTTPClientTransport,
  fn: () => Promise<T>,
  mcp: string,
) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (attempt >= 2) throw error
      if (error instanceof InsufficientScopeError) {
        const scope = [
          ...new Set([
            ...(provider.tokens()?.scope ?? '').split(' '),
            ...(error.requiredScope ?? '').split(' '),
          ]),
        ]
          .filter(Boolean)
          .join(' ')
        assert.equal(await auth(provider, { serverUrl: mcp, scope, forceReauthorization: true }), 'REDIRECT')
      } else if (!(error instanceof UnauthorizedError)) throw error
      if (!provider.callback) throw error
      const callback = provider.callback
      provider.callback = undefined
      await transport.finishAuth(callback.searchParams)
    }
  }
}

/** Connect an SDK v2 client, finishing the sign-in the first 401 starts. */
export async function connect(provider: BrowserProvider, mcp: string) {
  const client = new Client({ name: 'sdk-browser', version: '1.0.0' })
  let transport = new StreamableHTTPClientTransport(new URL(mcp), {
    authProvider: provider,
  })
  try {
    await client.connect(transport)
  } catch (error) {
    if (!(error instanceof UnauthorizedError) || !provider.callback) throw error
    await transport.finishAuth(provider.callback.searchParams)
    provider.callback = undefined
    transport = new StreamableHTTPClientTransport(new URL(mcp), {
      authProvider: provider,
    })
    await client.connect(transport)
  }
  return { client, transport }
}
