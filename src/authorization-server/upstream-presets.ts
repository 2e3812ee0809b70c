/**
 * Upstream identity provider presets: for each provider we know, where its endpoints are, what to ask for, which
 * claim names a person for good, and its quirks. Pure: no I/O. The login itself lives in `upstream.ts` (OpenID
 * Connect) and `upstream-oauth2.ts` (plain OAuth 2.0, e.g. GitHub).
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html
 */
import { InvalidArgumentError, SPEC } from '../shared/errors.ts'
import { isLoopbackUrl } from '../shared/resource.ts'

/** The providers `--upstream` knows by name. @see https://openid.net/specs/openid-connect-core-1_0.html */
export const UPSTREAM_PRESETS = [
  'github',
  'google',
  'microsoft',
  'keycloak',
  'okta',
  'auth0',
  'oidc',
] as const

/** One of {@link UPSTREAM_PRESETS}. @see https://openid.net/specs/openid-connect-core-1_0.html */
export type UpstreamPresetName = (typeof UPSTREAM_PRESETS)[number]

/** Endpoints of a provider that publishes no metadata (plain OAuth 2.0). @see https://www.rfc-editor.org/rfc/rfc6749#section-3 */
export interface UpstreamEndpoints {
  authorization: string
  token: string
  /** Who signed in, read with the access token (GitHub's `/user`). */
  user: string
  /** Optional list of the person's addresses with their verification state (GitHub's `/user/emails`). */
  emails?: string
}

/** What a preset knows about its provider. @see https://openid.net/specs/openid-connect-core-1_0.html#IDToken */
export interface UpstreamPreset {
  /** The provider's own documentation of the flow this preset follows. */
  docs: string
  /** `oidc`: discovery and an ID token; `oauth2`: fixed endpoints and a user API. */
  protocol: 'oidc' | 'oauth2'
  /** Default button label. */
  label: string
  /** Scopes asked for by default. */
  scope: string
  /** The claim that names the account for good (never an address, which can change hands). */
  accountClaim: string
  /** Whether `--upstream-issuer` is required. */
  needsIssuer: boolean
}

/**
 * The preset table.
 * @see https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
 */
export const PRESETS: Readonly<Record<UpstreamPresetName, UpstreamPreset>> = {
  // No discovery, no ID token; the token endpoint answers form-encoded unless asked for JSON, and reports
  // errors with status 200; PKCE (S256 only) since July 2025: https://github.blog/changelog/2025-07-14-pkce-support-for-oauth-and-github-app-authentication
  github: {
    docs: 'https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps',
    protocol: 'oauth2',
    label: 'GitHub',
    scope: 'read:user user:email',
    accountClaim: 'id',
    needsIssuer: false,
  },
  // `access_type=offline` only when upstream tokens are kept (otherwise no refresh token is wanted).
  google: {
    docs: 'https://developers.google.com/identity/openid-connect/openid-connect',
    protocol: 'oidc',
    label: 'Google',
    scope: 'openid email profile',
    accountClaim: 'sub',
    needsIssuer: false,
  },
  // `common`/`organizations`/`consumers` publish the issuer `…/{tenantid}/v2.0`: the ID token's iss is checked
  // against its own tid (see checkEntraIdToken). `oid` within `tid` is stable across applications.
  microsoft: {
    docs: 'https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc',
    protocol: 'oidc',
    label: 'Microsoft',
    scope: 'openid email profile',
    accountClaim: 'oid',
    needsIssuer: false,
  },
  keycloak: {
    docs: 'https://www.keycloak.org/docs/latest/securing_apps/#_oidc',
    protocol: 'oidc',
    label: 'Keycloak',
    scope: 'openid email profile',
    accountClaim: 'sub',
    needsIssuer: true,
  },
  okta: {
    docs: 'https://developer.okta.com/docs/concepts/auth-servers/',
    protocol: 'oidc',
    label: 'Okta',
    scope: 'openid email profile',
    accountClaim: 'sub',
    needsIssuer: true,
  },
  auth0: {
    docs: 'https://auth0.com/docs/authenticate/protocols/openid-connect-protocol',
    protocol: 'oidc',
    label: 'Auth0',
    scope: 'openid email profile',
    accountClaim: 'sub',
    needsIssuer: true,
  },
  oidc: {
    docs: 'https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth',
    protocol: 'oidc',
    label: '',
    scope: 'openid email profile',
    accountClaim: 'sub',
    needsIssuer: true,
  },
}

/** Microsoft's tenant of personal accounts (`consumers`). @see https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference */
export const ENTRA_CONSUMERS_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad'
const ENTRA_ORIGIN = 'https://login.microsoftonline.com'
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** What the operator said about the provider (a subset of UpstreamOptions). @see https://openid.net/specs/openid-connect-discovery-1_0.html#IssuerDiscovery */
export interface UpstreamPresetInput {
  preset?: UpstreamPresetName | undefined
  issuer?: string | undefined
  tenant?: string | undefined
  /** GitHub Enterprise (or a test double): the web base URL, e.g. https://github.example.com. */
  baseUrl?: string | undefined
  /** GitHub's REST API base (default https://api.github.com, or `<baseUrl>/api/v3` for GitHub Enterprise). */
  apiBaseUrl?: string | undefined
  allowInsecureRequests?: boolean | undefined
}

/** A preset applied to the operator's input: everything the login needs to know. @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata */
export interface ResolvedUpstream {
  preset: UpstreamPresetName
  protocol: 'oidc' | 'oauth2'
  /** OpenID issuer (oidc) whose discovery document is read. */
  issuer?: string
  /** Fixed endpoints (oauth2). */
  endpoints?: UpstreamEndpoints
  /** Prefix of local account ids: the preset's name at its public address, else the provider's host and path. */
  accountPrefix: string
  /** Default button label. */
  label: string
  /** Microsoft: the configured tenant, for the tid check. */
  tenant?: string
}

function presetError(message: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_upstream_option', message, { spec: SPEC.mcpAuth, hint })
}

/**
 * A URL the server may talk to: https, or http on loopback when insecure requests are allowed (tests).
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.6
 */
function providerUrl(raw: string, what: string, allowInsecure: boolean): URL {
  const url = URL.parse(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`)
  if (!url || url.search || url.hash || url.username || url.password)
    throw presetError(
      `${what} must be a plain https URL`,
      `pass e.g. --upstream-issuer https://idp.example.com`,
    )
  if (url.protocol !== 'https:' && !(allowInsecure && url.protocol === 'http:' && isLoopbackUrl(url)))
    throw presetError(`${what} must use https`, 'use the https address of the provider')
  return url
}

/** `host/path` of a provider URL, the account prefix of providers named by address. */
function addressPrefix(url: URL): string {
  return `${url.host}${url.pathname.replace(/\/+$/, '')}`
}

/**
 * The issuer of a Microsoft Entra tenant (v2 endpoints); `common`, `organizations` and `consumers` included.
 * @see https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri
 */
export function entraIssuer(tenant: string): string {
  if (!/^[A-Za-z0-9.-]{1,100}$/.test(tenant))
    throw presetError(
      `bad Microsoft tenant "${tenant.slice(0, 40)}"`,
      'pass --upstream-tenant with a tenant id (GUID), a domain, organizations, consumers or common',
    )
  return `${ENTRA_ORIGIN}/${tenant.toLowerCase()}/v2.0`
}

/**
 * Checks an Entra ID token's issuer against its own `tid` (the `{tenantid}` template of multi-tenant issuers)
 * and the tenant the operator configured; returns a reason to refuse, or undefined when it fits.
 * @see https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-issuer
 */
export function checkEntraIdToken(claims: Record<string, unknown>, tenant: string): string | undefined {
  const tid = claims['tid']
  if (typeof tid !== 'string' || !GUID.test(tid)) return 'the ID token has no tenant (tid) claim'
  if (claims['iss'] !== `${ENTRA_ORIGIN}/${tid}/v2.0`) return 'the ID token issuer does not match its tenant'
  const configured = tenant.toLowerCase()
  if (configured === 'common') return undefined
  if (configured === 'consumers')
    return tid === ENTRA_CONSUMERS_TENANT ? undefined : 'only personal Microsoft accounts may sign in'
  if (configured === 'organizations')
    return tid === ENTRA_CONSUMERS_TENANT ? 'personal Microsoft accounts may not sign in' : undefined
  // A domain name resolves to one tenant at discovery time; openid-client already matched the issuer exactly.
  if (GUID.test(configured) && tid !== configured) return 'the account belongs to another Microsoft tenant'
  return undefined
}

/**
 * Applies a preset to the operator's input: issuer or endpoints, account prefix, label.
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#IssuerDiscovery
 */
export function resolveUpstream(input: UpstreamPresetInput): ResolvedUpstream {
  const name = input.preset ?? 'oidc'
  const preset = PRESETS[name]
  if (!preset)
    throw presetError(
      `unknown upstream preset "${String(name).slice(0, 40)}"`,
      `use one of ${UPSTREAM_PRESETS.join(', ')}`,
    )
  const insecure = input.allowInsecureRequests === true
  if (name === 'github') {
    const base = providerUrl(input.baseUrl ?? 'https://github.com', 'the GitHub base URL', insecure)
    const web = base.href.replace(/\/+$/, '')
    const publicGithub = base.origin === 'https://github.com'
    const api = (
      input.apiBaseUrl
        ? providerUrl(input.apiBaseUrl, 'the GitHub API base URL', insecure).href
        : publicGithub
          ? 'https://api.github.com'
          : `${web}/api/v3`
    ).replace(/\/+$/, '')
    return {
      preset: name,
      protocol: 'oauth2',
      endpoints: {
        authorization: `${web}/login/oauth/authorize`,
        token: `${web}/login/oauth/access_token`,
        user: `${api}/user`,
        emails: `${api}/user/emails`,
      },
      accountPrefix: publicGithub ? 'github' : addressPrefix(base),
      label: publicGithub ? preset.label : `GitHub (${base.host})`,
    }
  }
  if (name === 'google') {
    const issuer = input.issuer
      ? providerUrl(input.issuer, 'the Google issuer', insecure).href.replace(/\/$/, '')
      : 'https://accounts.google.com'
    return {
      preset: name,
      protocol: 'oidc',
      issuer,
      accountPrefix: issuer === 'https://accounts.google.com' ? 'google' : addressPrefix(new URL(issuer)),
      label: preset.label,
    }
  }
  if (name === 'microsoft') {
    if (!input.tenant)
      throw presetError(
        'the microsoft preset needs a tenant',
        'pass --upstream-tenant with your tenant id, or organizations / consumers / common',
      )
    const issuer = input.issuer
      ? providerUrl(input.issuer, 'the Microsoft issuer', insecure).href.replace(/\/$/, '')
      : entraIssuer(input.tenant)
    return {
      preset: name,
      protocol: 'oidc',
      issuer,
      accountPrefix: new URL(issuer).origin === ENTRA_ORIGIN ? 'microsoft' : addressPrefix(new URL(issuer)),
      label: preset.label,
      tenant: input.tenant,
    }
  }
  if (!input.issuer)
    throw presetError(
      `the ${name} preset needs the provider's issuer`,
      name === 'keycloak'
        ? 'pass --upstream-issuer https://KEYCLOAK/realms/REALM'
        : name === 'okta'
          ? 'pass --upstream-issuer https://DOMAIN.okta.com/oauth2/default (or https://DOMAIN.okta.com)'
          : name === 'auth0'
            ? 'pass --upstream-issuer https://TENANT.auth0.com/'
            : 'pass --upstream-issuer https://idp.example.com',
    )
  const url = providerUrl(input.issuer, 'the upstream issuer', insecure)
  if (name === 'keycloak' && !/\/realms\/[^/]+\/?$/.test(url.pathname))
    throw presetError(
      'a Keycloak issuer ends in /realms/REALM',
      `pass --upstream-issuer ${url.origin}/realms/REALM`,
    )
  // Auth0's issuer carries a trailing slash; everyone else's is kept as written (discovery compares exactly).
  const issuer = name === 'auth0' ? `${url.origin}/` : url.href.replace(/\/$/, '')
  return {
    preset: name,
    protocol: 'oidc',
    issuer,
    accountPrefix: addressPrefix(url),
    label: preset.label || url.host,
  }
}

/**
 * Reads a token endpoint's answer: JSON, or the form encoding GitHub sends when not asked for JSON (both also
 * for errors, which GitHub reports with status 200).
 * @see https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#2-users-are-redirected-back-to-your-site-by-github
 */
export function parseTokenResponse(contentType: string, text: string): Record<string, unknown> {
  const type = contentType.split(';')[0]!.trim().toLowerCase()
  if (type === 'application/json' || type.endsWith('+json') || (!type && text.trimStart().startsWith('{'))) {
    const parsed = JSON.parse(text) as unknown
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('the token response is not a JSON object')
    return parsed as Record<string, unknown>
  }
  if (type === 'application/x-www-form-urlencoded' || type === 'text/plain' || !type)
    return Object.fromEntries(new URLSearchParams(text))
  throw new Error(`the token response has an unexpected content type ${type.slice(0, 60)}`)
}
