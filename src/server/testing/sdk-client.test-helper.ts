/**
 * Test helper: an in-memory `OAuthClientProvider` for the official SDK v2 client whose
 * `redirectToAuthorization` drives the authorization headlessly and keeps the callback URL, plus a runner
 * that completes the flow the way an app does (finishAuth, then retry) when the SDK throws UnauthorizedError.
 */
import {
  type OAuthClientInformationMixed,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
  type StreamableHTTPClientTransport,
  UnauthorizedError,
} from '@modelcontextprotocol/client'
import { headlessAgent } from './oidc.test-helper.ts'

/**
 * The in-memory half of an SDK v2 `OAuthClientProvider` (client, tokens, PKCE verifier, discovery state, and the
 * callback URL the sign-in ended on); a subclass says where the redirect goes and who answers it.
 */
export abstract class MemorySdkProvider implements OAuthClientProvider {
  abstract readonly redirectUrl: string
  callback: URL | undefined
  authorizations = 0
  readonly #clientName: string
  #client: StoredOAuthClientInformation | undefined
  #tokens: StoredOAuthTokens | undefined
  #verifier = ''
  #discovery: OAuthDiscoveryState | undefined

  constructor(clientName: string) {
    this.#clientName = clientName
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.#clientName,
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }
  }
  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.#client
  }
  saveClientInformation(info: StoredOAuthClientInformation | OAuthClientInformationMixed): void {
    this.#client = info as StoredOAuthClientInformation
  }
  tokens(): StoredOAuthTokens | undefined {
    return this.#tokens
  }
  saveTokens(tokens: StoredOAuthTokens): void {
    this.#tokens = tokens
  }
  saveCodeVerifier(v: string): void {
    this.#verifier = v
  }
  codeVerifier(): string {
    return this.#verifier
  }
  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#discovery
  }
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state
  }
  abstract redirectToAuthorization(url: URL): Promise<void>
}

/** A provider whose redirect step is answered headlessly (auto-approving interactions) at a fixed loopback URL. */
export class HeadlessSdkProvider extends MemorySdkProvider {
  readonly redirectUrl = 'http://127.0.0.1:9/callback'
  readonly agent = headlessAgent()
  requestedScopes: string[] = []

  constructor() {
    super('sdk e2e')
  }
  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizations++
    this.requestedScopes.push(url.searchParams.get('scope') ?? '')
    this.callback = await this.agent.authorize(url, this.redirectUrl)
  }
}

/** Connect like an app does: on UnauthorizedError, finish the sign-in on that transport and reconnect with a new one. */
export async function connectWithSignIn(
  provider: HeadlessSdkProvider,
  client: { connect(t: StreamableHTTPClientTransport): Promise<void> },
  makeTransport: () => StreamableHTTPClientTransport,
): Promise<StreamableHTTPClientTransport> {
  const first = makeTransport()
  try {
    await client.connect(first)
    return first
  } catch (e) {
    if (!(e instanceof UnauthorizedError) || !provider.callback) throw e
    const callback = provider.callback
    provider.callback = undefined
    await first.finishAuth(callback.searchParams)
    const second = makeTransport()
    await client.connect(second)
    return second
  }
}

/** Run `fn`; when the SDK asks for a redirect, hand it the callback (finishAuth) and run `fn` again. */
export async function withSignIn<T>(
  provider: HeadlessSdkProvider,
  transport: StreamableHTTPClientTransport,
  fn: () => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (e) {
      if (!(e instanceof UnauthorizedError) || attempt >= 2 || !provider.callback) throw e
      const callback = provider.callback
      provider.callback = undefined
      await transport.finishAuth(callback.searchParams)
    }
  }
}
