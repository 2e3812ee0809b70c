/**
 * The OAuth provider an SDK v1 client (`@modelcontextprotocol/sdk` 1.x, what most deployed hosts and mcp-remote
 * build on) is given: a public client registered by DCR, everything kept in memory, and a sign-in function that
 * plays the person and returns the callback URL (read by the test for `finishAuth`).
 */
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js'

/** How {@link SdkV1Provider} signs in and what it keeps. */
export interface SdkV1ProviderOptions {
  clientName: string
  /** Complete the authorization at `url`; resolves with the callback URL the AS redirected to. */
  signIn(url: URL, redirectUrl: string): Promise<URL>
  /** false: keep no refresh token (the step-up workaround of docs/gateway.md, "SDK v1 clients and step-up"). */
  keepRefreshToken?: boolean
}

/** An in-memory SDK v1 `OAuthClientProvider` whose sign-ins are done by `signIn`. */
export class SdkV1Provider {
  readonly redirectUrl = 'http://127.0.0.1:9/callback'
  callback: URL | undefined
  authorizations = 0
  requestedScopes: string[] = []
  readonly #options: SdkV1ProviderOptions
  #client: OAuthClientInformationMixed | undefined
  #tokens: OAuthTokens | undefined
  #verifier = ''
  constructor(options: SdkV1ProviderOptions) {
    this.#options = options
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.#options.clientName,
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }
  }
  clientInformation() {
    return this.#client
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.#client = info
  }
  tokens() {
    return this.#tokens
  }
  saveTokens(tokens: OAuthTokens) {
    const { refresh_token, ...rest } = tokens
    const keep = (this.#options.keepRefreshToken ?? true) && refresh_token
    this.#tokens = keep ? { ...rest, refresh_token } : rest
  }
  saveCodeVerifier(v: string) {
    this.#verifier = v
  }
  codeVerifier() {
    return this.#verifier
  }
  async redirectToAuthorization(url: URL) {
    this.authorizations++
    this.requestedScopes.push(url.searchParams.get('scope') ?? '')
    this.callback = await this.#options.signIn(url, this.redirectUrl)
  }
}
