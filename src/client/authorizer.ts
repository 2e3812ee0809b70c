/**
 * The one interactive seam of the client engine: how a person is asked to sign in.
 * Apps choose a browser with a loopback callback, a headless agent, the device grant or a paste prompt.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */

/** Why the engine needs the person. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#step-up-authorization-flow */
export type AuthorizeReason = 'login' | 'step-up' | 'reauthorize'

/** What the engine tells the authorizer about the request it is about to send the person to. */
export interface AuthorizeContext {
  /** The `state` the callback must carry. */
  state: string
  /** The issuer recorded from validated metadata; a callback `iss` must equal it (RFC 9207). */
  expectedIssuer: string
  /** Whether the AS advertises `authorization_response_iss_parameter_supported`. */
  issParameterSupported: boolean
  /** The MCP server the sign-in is for (for display). */
  resource: string
  reason: AuthorizeReason
  signal?: AbortSignal
}

/** The user-facing half of an RFC 8628 device authorization response. @see https://www.rfc-editor.org/rfc/rfc8628#section-3.2 */
export interface DeviceCodePrompt {
  user_code: string
  verification_uri: string
  verification_uri_complete?: string
  /** Seconds until the code expires. */
  expires_in: number
}

/**
 * How the engine asks a person to authorize. `authorize` resolves with the full callback URL the authorization
 * server redirected to (query string included); the engine validates `state` and `iss` again before using it.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1
 */
export interface Authorizer {
  /** Redirect URI to register and send. A function may start a listener first (loopback) and is awaited once per flow. */
  redirectUri: string | (() => Promise<string>)
  /** Send the person to `url`; resolve with the callback URL. */
  authorize(url: URL, context: AuthorizeContext): Promise<URL>
  /** Prefer the device authorization grant when the AS offers it (no display, SSH, containers). */
  preferDeviceCode?: boolean
  /**
   * Show a device code to the person; the engine polls the token endpoint meanwhile and, when polling ends,
   * calls the function this resolves to (if any) to take the prompt down.
   * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.3
   */
  showDeviceCode?(
    prompt: DeviceCodePrompt,
    context: Omit<AuthorizeContext, 'state'>,
  ): Promise<void | (() => void)>
  /**
   * The error `authorize` would give whatever the URL (nobody here can answer: CI), or undefined. The engine asks
   * before it registers a client or keeps a pending request, so a sign-in that cannot happen changes nothing at the
   * authorization server. `scope` is the one the authorization request would carry.
   * @see https://www.rfc-editor.org/rfc/rfc7591#section-3
   */
  refusal?(scope: string | undefined, context: Omit<AuthorizeContext, 'state' | 'signal'>): Error | undefined
  /** How long the pending request is kept for its callback (default 10 min). */
  pendingTtlMs?: number
  /** Free what the authorizer holds (listening sockets). */
  close?(): Promise<void>
}
