/**
 * Client registration in the spec's priority order: pre-registered → Client ID Metadata Document →
 * Dynamic Client Registration → a typed error saying what to configure. Credentials are keyed by issuer.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration
 */
import * as oauth from 'oauth4webapi'
import type { AuthorizationServerMetadata } from '../shared/authorization-server.ts'
import {
  InvalidArgumentError,
  McpOAuthError,
  OAuthResponseError,
  ProtocolViolationError,
  SPEC,
} from '../shared/errors.ts'
import { isLoopbackUrl } from '../shared/resource.ts'
import { readLimited } from './http.ts'
import { mapError, type O4wPolicy, requestOptions } from './o4w.ts'
import { storeKey, type TokenStore } from './stores/store.ts'
import type { DiscoveryTrace } from './trace.ts'

/** Client authentication at the token endpoint. @see https://www.rfc-editor.org/rfc/rfc7591#section-2 */
export type TokenEndpointAuthMethod =
  | 'none'
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'private_key_jwt'

/** Credentials an app was given out of band (a pre-registered client). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration#pre-registration */
export interface PreRegisteredClient {
  client_id: string
  client_secret?: string
  token_endpoint_auth_method?: TokenEndpointAuthMethod
  /** PKCS#8 PEM private key for private_key_jwt. */
  private_key_pem?: string
  /** JWS algorithm of `private_key_pem` (default ES256). */
  signing_algorithm?: string
  /** The issuer these credentials belong to; when set they are never sent to another one. */
  issuer?: string
}

/** A client usable with one issuer. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration */
export interface ClientInfo {
  issuer: string
  client_id: string
  client_secret?: string
  client_secret_expires_at?: number
  token_endpoint_auth_method: TokenEndpointAuthMethod
  private_key_pem?: string
  signing_algorithm?: string
  redirect_uris?: string[]
  /** The scope the AS says it registered, when it says: some ASes hold the client to it (RFC 7591 §2). */
  scope?: string
  source: 'pre-registered' | 'cimd' | 'dcr'
  registration_access_token?: string
  registration_client_uri?: string
  created_at: number
}

/** What the app says about itself for registration. */
export interface ClientIdentity {
  client_name: string
  client_uri?: string
  logo_uri?: string
  software_id?: string
  software_version?: string
  /** HTTPS URL of this app's Client ID Metadata Document, used when the AS supports CIMD. */
  clientMetadataUrl?: string
  /** Pre-registered credentials (one client, or several bound to issuers). */
  preRegistered?: PreRegisteredClient | PreRegisteredClient[]
  /** Initial access token for protected DCR endpoints. @see https://www.rfc-editor.org/rfc/rfc7591#section-3 */
  initialAccessToken?: string
}

/** Inputs of {@link resolveClient}. */
export interface ResolveClientOptions {
  issuer: string
  metadata: AuthorizationServerMetadata
  identity: ClientIdentity
  store: TokenStore
  /** Redirect URI the flow will use; undefined for grants without a browser. */
  redirectUri?: string
  /** Scope to register with, so ASes that restrict clients to registered scopes allow it. */
  scope?: string
  grantTypes?: string[]
  /** A stored DCR client to register anew and overwrite in one write (never deleted first: other sessions use it). */
  replacing?: string
  policy: O4wPolicy
  trace?: DiscoveryTrace
  signal?: AbortSignal
}

/**
 * Bind pre-registered credentials given without an issuer to the first authorization server they are used with;
 * a server that later points elsewhere gets an error instead of those credentials (MCP 2026-07-28).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration#authorization-server-binding
 */
export async function bindPreRegistered(store: TokenStore, clientId: string, issuer: string): Promise<void> {
  const key = `preregistered ${clientId}`
  const bound = await store.get<{ issuer: string }>(key)
  if (!bound) {
    await store.set(key, { issuer }, 0)
    return
  }
  if (bound.value.issuer === issuer) return
  throw new McpOAuthError(
    'preregistered_client_issuer_mismatch',
    `client ${clientId} was used with ${bound.value.issuer}; the server now names ${issuer}`,
    {
      spec: SPEC.mcpRegistration,
      hint: `Get a client for ${issuer} from the server operator, or pass the credentials with their issuer (--client-info {"client_id", "issuer"}).`,
      details: { client_id: clientId, bound_issuer: bound.value.issuer, issuer },
    },
  )
}

function pickPreRegistered(identity: ClientIdentity, issuer: string): PreRegisteredClient | undefined {
  const list = identity.preRegistered === undefined ? [] : [identity.preRegistered].flat()
  return list.find((c) => c.issuer === issuer) ?? list.find((c) => c.issuer === undefined)
}

/** Choose client authentication from what we hold and what the AS supports. @see https://www.rfc-editor.org/rfc/rfc8414#section-2 */
export function chooseAuthMethod(
  held: { client_secret?: string | undefined; private_key_pem?: string | undefined },
  supported: readonly string[] | undefined,
): TokenEndpointAuthMethod {
  if (held.private_key_pem) return 'private_key_jwt'
  if (!held.client_secret) return 'none'
  // RFC 8414: an absent list means client_secret_basic.
  const list = supported ?? ['client_secret_basic']
  if (list.includes('client_secret_basic')) return 'client_secret_basic'
  if (list.includes('client_secret_post')) return 'client_secret_post'
  return 'client_secret_basic'
}

/** The auth method to ask for in DCR: public when the AS allows it, else the first secret method it lists. */
function dcrAuthMethod(supported: readonly string[] | undefined): TokenEndpointAuthMethod {
  if (!supported || supported.includes('none')) return 'none'
  if (supported.includes('client_secret_basic')) return 'client_secret_basic'
  if (supported.includes('client_secret_post')) return 'client_secret_post'
  return 'none'
}

function isPrivateUseScheme(uri: string): boolean {
  try {
    const u = new URL(uri)
    return u.protocol !== 'http:' && u.protocol !== 'https:'
  } catch {
    return false
  }
}

/**
 * Find or create a client for `issuer`: pre-registered, CIMD, a stored DCR client, or a new DCR client.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration
 */
export async function resolveClient(o: ResolveClientOptions): Promise<ClientInfo> {
  const { issuer, metadata, identity, store } = o
  const pre = pickPreRegistered(identity, issuer)
  if (pre && pre.issuer === undefined) await bindPreRegistered(store, pre.client_id, issuer)
  if (!pre && identity.preRegistered !== undefined) {
    o.trace?.warn(
      `the pre-registered client is bound to another authorization server than ${issuer}; registering anew`,
    )
  }
  if (pre) {
    return {
      issuer,
      client_id: pre.client_id,
      ...(pre.client_secret ? { client_secret: pre.client_secret } : {}),
      ...(pre.private_key_pem ? { private_key_pem: pre.private_key_pem } : {}),
      ...(pre.signing_algorithm ? { signing_algorithm: pre.signing_algorithm } : {}),
      token_endpoint_auth_method:
        pre.token_endpoint_auth_method ??
        chooseAuthMethod(pre, metadata.token_endpoint_auth_methods_supported),
      source: 'pre-registered',
      created_at: Date.now(),
    }
  }
  if (identity.clientMetadataUrl && metadata.client_id_metadata_document_supported === true) {
    const url = new URL(identity.clientMetadataUrl)
    if (url.protocol !== 'https:' || url.pathname === '/') {
      throw new InvalidArgumentError(
        'invalid_client_metadata_url',
        'a Client ID Metadata Document URL must be https with a path',
        {
          spec: SPEC.mcpRegistration,
          hint: 'Host the document at an https URL such as https://app.example/oauth/client.json',
        },
      )
    }
    return {
      issuer,
      client_id: url.href,
      token_endpoint_auth_method: 'none',
      source: 'cimd',
      created_at: Date.now(),
    }
  }
  const key = storeKey.registration(issuer)
  const stored = await store.get<ClientInfo>(key)
  const replaced = o.replacing !== undefined && stored?.value.client_id === o.replacing
  if (stored && !replaced && stored.value.issuer === issuer && usable(stored.value, o.redirectUri)) {
    o.trace?.add({ kind: 'registration', url: issuer, outcome: 'cached', note: 'reusing the stored client' })
    return stored.value
  }
  if (!metadata.registration_endpoint) {
    throw new McpOAuthError(
      'no_registration_method',
      `cannot register with ${issuer}: no pre-registered client, no Client ID Metadata Document support, no registration endpoint`,
      {
        spec: SPEC.mcpRegistration,
        hint: 'Ask the server operator for a client ID and pass it with --client-id (and --client-secret-env if it has a secret).',
        details: { issuer },
      },
    )
  }
  const client = await registerClient(o)
  await store.set(key, client)
  return client
}

function usable(c: ClientInfo, redirectUri: string | undefined): boolean {
  if (c.client_secret_expires_at && c.client_secret_expires_at * 1000 < Date.now() + 60_000) return false
  if (redirectUri === undefined) return true
  if (!Array.isArray(c.redirect_uris)) return false
  if (c.redirect_uris.includes(redirectUri)) return true
  // RFC 8252 §7.3: an authorization server must accept any port on a loopback redirect URI, so a native
  // client registered with another ephemeral port is reused rather than registered again on every run.
  return c.redirect_uris.some((r) => typeof r === 'string' && sameExceptLoopbackPort(r, redirectUri))
}

function sameExceptLoopbackPort(a: string, b: string): boolean {
  try {
    const x = new URL(a)
    const y = new URL(b)
    return (
      x.protocol === 'http:' &&
      y.protocol === 'http:' &&
      isLoopbackUrl(x) &&
      x.hostname === y.hostname &&
      x.pathname === y.pathname &&
      x.search === y.search
    )
  } catch {
    return false
  }
}

/**
 * RFC 7591 registration of a native (loopback or private-use scheme) or web client.
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-3.1
 */
export async function registerClient(o: ResolveClientOptions): Promise<ClientInfo> {
  const { metadata, identity } = o
  const endpoint = metadata.registration_endpoint!
  const redirect_uris = o.redirectUri ? [o.redirectUri] : []
  const native = redirect_uris.every((u) => isLoopbackUrl(u) || isPrivateUseScheme(u))
  const method = dcrAuthMethod(metadata.token_endpoint_auth_methods_supported)
  const grant_types = o.grantTypes ?? ['authorization_code', 'refresh_token']
  const body: Record<string, unknown> = {
    client_name: identity.client_name,
    redirect_uris,
    grant_types,
    response_types: grant_types.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: method,
    application_type: native ? 'native' : 'web',
  }
  if (o.scope) body['scope'] = o.scope
  for (const k of ['client_uri', 'logo_uri', 'software_id', 'software_version'] as const) {
    if (identity[k]) body[k] = identity[k]
  }
  const as = metadata as oauth.AuthorizationServer
  let response: Response
  try {
    response = await oauth.dynamicClientRegistrationRequest(
      as,
      body as Partial<oauth.OmitSymbolProperties<oauth.Client>>,
      {
        ...requestOptions(endpoint, o.policy, o.signal),
        ...(identity.initialAccessToken ? { initialAccessToken: identity.initialAccessToken } : {}),
      },
    )
  } catch (e) {
    o.trace?.add({ kind: 'registration', url: endpoint, outcome: 'network-error', code: 'network_error' })
    throw mapError(e, 'client registration', SPEC.rfc7591)
  }
  o.trace?.add({
    kind: 'registration',
    url: endpoint,
    status: response.status,
    outcome: response.ok ? 'ok' : 'http-error',
  })
  if (response.status === 401 || response.status === 403) {
    const detail = await readLimited(response, MAX_REGISTRATION_BYTES)
      .then((t) => JSON.parse(t) as unknown)
      .catch(() => ({}))
    throw new OAuthResponseError(
      (detail as { error?: string }).error ?? 'registration_forbidden',
      (detail as { error_description?: string }).error_description,
      {
        code: 'registration_forbidden',
        status: response.status,
        spec: SPEC.mcpRegistration,
        hint: 'This authorization server only registers allow-listed clients; ask its operator for a client ID and pass it with --client-id.',
      },
    )
  }
  // Parsed by hand rather than with processDynamicClientRegistrationResponse: real servers (and the conformance
  // suite) omit client_secret_expires_at next to a secret, which RFC 7591 requires but nothing depends on.
  const registered = await readRegistration(response)
  const secret = typeof registered['client_secret'] === 'string' ? registered['client_secret'] : undefined
  const returnedMethod = registered['token_endpoint_auth_method'] as TokenEndpointAuthMethod | undefined
  const info: ClientInfo = {
    issuer: o.issuer,
    client_id: registered.client_id,
    token_endpoint_auth_method:
      returnedMethod ??
      (secret
        ? chooseAuthMethod({ client_secret: secret }, metadata.token_endpoint_auth_methods_supported)
        : 'none'),
    redirect_uris: stringArray(registered['redirect_uris']) ?? redirect_uris,
    source: 'dcr',
    created_at: Date.now(),
  }
  if (secret) info.client_secret = secret
  if (typeof registered['scope'] === 'string') info.scope = registered['scope']
  const exp = registered['client_secret_expires_at']
  if (typeof exp === 'number' && exp > 0) info.client_secret_expires_at = exp
  if (typeof registered['registration_access_token'] === 'string')
    info.registration_access_token = registered['registration_access_token']
  if (typeof registered['registration_client_uri'] === 'string')
    info.registration_client_uri = registered['registration_client_uri']
  return info
}

/** A registration answer is a few KB; more is refused like any oversized document. */
const MAX_REGISTRATION_BYTES = 1024 * 1024

function stringArray(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined
}

async function readRegistration(
  response: Response,
): Promise<Record<string, unknown> & { client_id: string }> {
  const text = await readLimited(response, MAX_REGISTRATION_BYTES).catch((e: unknown) => {
    if (e instanceof McpOAuthError) throw e
    return ''
  })
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  const b = (body ?? {}) as Record<string, unknown>
  if (!response.ok) {
    const error = typeof b['error'] === 'string' ? b['error'] : `http_${response.status}`
    throw new OAuthResponseError(
      error,
      typeof b['error_description'] === 'string' ? b['error_description'] : undefined,
      {
        status: response.status,
        spec: SPEC.rfc7591,
        hint:
          error === 'invalid_redirect_uri'
            ? 'The authorization server refuses loopback redirect URIs; use a pre-registered client (--client-id).'
            : 'Registration was refused; see error_description, or run mcp-oauth doctor <url>.',
      },
    )
  }
  if (typeof b['client_id'] !== 'string' || !b['client_id']) {
    throw new ProtocolViolationError(
      'invalid_registration_response',
      'registration response has no client_id',
      {
        spec: 'https://www.rfc-editor.org/rfc/rfc7591#section-3.2.1',
        hint: "The authorization server's registration endpoint is broken; report it to its operator.",
      },
    )
  }
  return b as Record<string, unknown> & { client_id: string }
}

/** Forget a stored DCR client (after `invalid_client`), unless it changed meanwhile. @see https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2 */
export async function forgetClient(store: TokenStore, client: ClientInfo): Promise<void> {
  if (client.source !== 'dcr') return
  const key = storeKey.registration(client.issuer)
  const current = await store.get<ClientInfo>(key)
  if (current && current.value.client_id === client.client_id) await store.delete(key, current.generation)
}
