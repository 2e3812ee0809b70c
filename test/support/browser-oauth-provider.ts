/**
 * An in-memory OAuth client provider for the official SDK clients (v2 and v1 share its shape) whose
 * `redirectToAuthorization` is a person in real chromium: sign in, allow, and the redirect to the callback is
 * caught in the browser and kept; `connectWithSignIn`/`withSignIn` then finish the flow the way an app does.
 */
import type { Browser } from 'playwright-core'

export class BrowserOAuthProvider {
  readonly redirectUrl = 'http://127.0.0.1:9/callback'
  callback: URL | undefined
  authorizations = 0
  requestedScopes: string[] = []
  #client: Record<string, unknown> | undefined
  #tokens: Record<string, unknown> | undefined
  #verifier = ''
  #discovery: unknown
  readonly #browser: Browser
  readonly #credentials: { username: string; password: string }

  readonly sdk: 'v1' | 'v2'
  readonly #keepRefreshToken: boolean

  constructor(
    browser: Browser,
    credentials: { username: string; password: string },
    sdk: 'v1' | 'v2',
    options: { keepRefreshToken?: boolean } = {},
  ) {
    this.sdk = sdk
    this.#keepRefreshToken = options.keepRefreshToken ?? true
    this.#browser = browser
    this.#credentials = credentials
  }
  get clientMetadata() {
    return {
      client_name: 'browser e2e',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }
  }
  get clientId(): string | undefined {
    return this.#client?.['client_id'] as string | undefined
  }
  clientInformation() {
    return this.#client as never
  }
  saveClientInformation(info: unknown) {
    this.#client = info as Record<string, unknown>
  }
  tokens() {
    return this.#tokens as never
  }
  saveTokens(tokens: unknown) {
    const { refresh_token, ...rest } = tokens as Record<string, unknown>
    this.#tokens = this.#keepRefreshToken ? { ...rest, refresh_token } : rest
  }
  saveCodeVerifier(v: string) {
    this.#verifier = v
  }
  codeVerifier() {
    return this.#verifier
  }
  discoveryState() {
    return this.#discovery as never
  }
  saveDiscoveryState(state: unknown) {
    this.#discovery = state
  }
  async redirectToAuthorization(url: URL) {
    this.authorizations++
    this.requestedScopes.push(url.searchParams.get('scope') ?? '')
    const page = await this.#browser.newPage()
    try {
      let caught: string | undefined
      await page.route(`${this.redirectUrl}**`, (route) => {
        caught = route.request().url()
        return route.fulfill({ body: 'signed in' })
      })
      await page.goto(url.href)
      if (await page.locator('#password').count()) {
        await page.fill('#username', this.#credentials.username)
        await page.fill('#password', this.#credentials.password)
        await page.click('button[type=submit]')
      }
      await page.waitForSelector('button:has-text("Allow")', { timeout: 15_000 })
      await page.click('button:has-text("Allow")')
      await page.waitForURL(`${this.redirectUrl}**`)
      this.callback = new URL(caught ?? page.url())
    } finally {
      await page.close().catch(() => {})
    }
  }
}

interface FinishesAuth {
  finishAuth(callback: never): Promise<void>
}
// v1's UnauthorizedError keeps the name "Error"; both SDKs name the class.
const unauthorized = (e: unknown) => (e as object | undefined)?.constructor?.name === 'UnauthorizedError'

/** Connect; on UnauthorizedError finish the sign-in on that transport and connect again with a new one. */
export async function connectWithSignIn<T extends FinishesAuth>(
  provider: BrowserOAuthProvider,
  client: { connect(t: never): Promise<void> },
  makeTransport: () => T,
): Promise<T> {
  const first = makeTransport()
  try {
    await client.connect(first as never)
    return first
  } catch (e) {
    if (!unauthorized(e) || !provider.callback) throw e
    await first.finishAuth(take(provider))
    const second = makeTransport()
    await client.connect(second as never)
    return second
  }
}

/** Run `fn`; when the SDK asked for a sign-in (step-up), finish it and run `fn` again. */
export async function withSignIn<R>(
  provider: BrowserOAuthProvider,
  transport: FinishesAuth,
  fn: () => Promise<R>,
): Promise<R> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (e) {
      if (!unauthorized(e) || attempt >= 2 || !provider.callback) throw e
      await transport.finishAuth(take(provider))
    }
  }
}

/** What finishAuth takes: v2 the callback's parameters (it checks RFC 9207 `iss`), v1 the code. */
function take(provider: BrowserOAuthProvider): never {
  const params = provider.callback!.searchParams
  provider.callback = undefined
  return (provider.sdk === 'v1' ? params.get('code')! : params) as never
}
