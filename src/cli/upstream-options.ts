/**
 * `mcp-oauth serve`'s upstream identity provider flags: the parseArgs table, their help lines, and the
 * translation into the authorization server's `upstream` option. Kept apart from serve.ts so a configuration
 * file's `upstream` section can go through the same function.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 */

import type { UpstreamOptions } from '../authorization-server/upstream.ts'
import {
  resolveUpstream,
  UPSTREAM_PRESETS,
  type UpstreamPresetName,
} from '../authorization-server/upstream-presets.ts'
import { InvalidArgumentError } from '../shared/errors.ts'
import { redactUrl } from '../shared/redact.ts'
import { isLoopbackUrl } from '../shared/resource.ts'

/** parseArgs option table for the upstream flags. @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth */
export const UPSTREAM_FLAGS = {
  upstream: { type: 'string' },
  'upstream-issuer': { type: 'string' },
  'upstream-tenant': { type: 'string' },
  'upstream-base-url': { type: 'string' },
  'upstream-api-url': { type: 'string' },
  'upstream-client-id': { type: 'string' },
  'upstream-scopes': { type: 'string' },
  'upstream-name': { type: 'string' },
  'upstream-account-claim': { type: 'string' },
  'upstream-pass-tokens': { type: 'boolean' },
  'upstream-only': { type: 'boolean' },
} as const

/** The parsed upstream flags (a configuration file's `upstream` section uses the same names). @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth */
export type UpstreamFlags = {
  upstream?: string | undefined
  'upstream-issuer'?: string | undefined
  'upstream-tenant'?: string | undefined
  'upstream-base-url'?: string | undefined
  'upstream-api-url'?: string | undefined
  'upstream-client-id'?: string | undefined
  'upstream-scopes'?: string | undefined
  'upstream-name'?: string | undefined
  'upstream-account-claim'?: string | undefined
  'upstream-pass-tokens'?: boolean | undefined
  'upstream-only'?: boolean | undefined
}

/** Help lines for the upstream flags. @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth */
export const UPSTREAM_FLAGS_HELP = `  --upstream PRESET     also offer sign-in at an identity provider: ${UPSTREAM_PRESETS.join(', ')}
                        (an issuer URL is read as oidc); register <issuer>/upstream/callback there
  --upstream-issuer URL the provider's issuer (oidc, keycloak …/realms/REALM, okta, auth0)
  --upstream-tenant T   Microsoft Entra tenant: tenant id, domain, organizations, consumers or common
  --upstream-base-url URL   GitHub Enterprise (or a test double): the web address instead of github.com
  --upstream-api-url URL    its REST API (default https://api.github.com, or <base>/api/v3)
  --upstream-client-id ID   this server's client id there (secret: MCP_OAUTH_UPSTREAM_CLIENT_SECRET)
  --upstream-scopes S   scopes asked of the provider (default: the preset's)
  --upstream-name NAME  button label (default: the provider's name)
  --upstream-account-claim C  claim naming the account (default: the stable id; email only if verified)
  --upstream-pass-tokens  keep the provider's tokens sealed for your own code (never sent to MCP clients)
  --upstream-only       hide the password form: sign in at the provider only`

/** Environment variable holding the client secret at the provider. @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1 */
export const UPSTREAM_SECRET_ENV = 'MCP_OAUTH_UPSTREAM_CLIENT_SECRET'

function usageError(message: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_argument', message, { hint })
}

/** Whether the operator pointed the provider at http on loopback (development and tests only). */
function insecureLoopback(...urls: (string | undefined)[]): boolean {
  return urls.some((u) => {
    const url = u ? URL.parse(u) : null
    return url?.protocol === 'http:' && isLoopbackUrl(url)
  })
}

/**
 * The authorization server's `upstream` option from the flags (undefined without `--upstream`); every mistake
 * is a usage error naming the flag that fixes it.
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#IssuerDiscovery
 */
export function upstreamOptions(
  values: UpstreamFlags,
  env: Record<string, string | undefined> = process.env,
): UpstreamOptions | undefined {
  const given = values.upstream
  if (!given) {
    const stray = Object.keys(UPSTREAM_FLAGS).find(
      (k) => k !== 'upstream' && values[k as keyof UpstreamFlags] !== undefined,
    )
    if (stray) throw usageError(`--${stray} needs --upstream`, `add --upstream ${UPSTREAM_PRESETS.join('|')}`)
    return undefined
  }
  const byUrl = given.includes('://')
  if (!byUrl && !(UPSTREAM_PRESETS as readonly string[]).includes(given))
    throw usageError(
      `unknown --upstream ${given.slice(0, 40)}`,
      `use one of ${UPSTREAM_PRESETS.join(', ')}, or an OpenID issuer URL`,
    )
  if (byUrl && values['upstream-issuer'])
    throw usageError(
      '--upstream URL and --upstream-issuer both name the issuer',
      'use --upstream oidc --upstream-issuer URL',
    )
  const clientId = values['upstream-client-id']
  if (!clientId)
    throw usageError(
      '--upstream needs --upstream-client-id',
      'register this server at the provider and pass its client id',
    )
  const preset = (byUrl ? 'oidc' : given) as UpstreamPresetName
  const issuer = byUrl ? given : values['upstream-issuer']
  const secret = env[UPSTREAM_SECRET_ENV]
  const options: UpstreamOptions = {
    preset,
    clientId,
    ...(issuer ? { issuer } : {}),
    ...(values['upstream-tenant'] ? { tenant: values['upstream-tenant'] } : {}),
    ...(values['upstream-base-url'] ? { baseUrl: values['upstream-base-url'] } : {}),
    ...(values['upstream-api-url'] ? { apiBaseUrl: values['upstream-api-url'] } : {}),
    ...(secret ? { clientSecret: secret } : {}),
    ...(values['upstream-scopes'] ? { scope: values['upstream-scopes'] } : {}),
    ...(values['upstream-name'] ? { name: values['upstream-name'] } : {}),
    ...(values['upstream-account-claim'] ? { accountClaim: values['upstream-account-claim'] } : {}),
    ...(values['upstream-pass-tokens'] ? { passTokens: true } : {}),
    ...(values['upstream-only'] ? { only: true } : {}),
    allowInsecureRequests: insecureLoopback(issuer, values['upstream-base-url'], values['upstream-api-url']),
  }
  // Checked now, so a wrong tenant or issuer stops serve at start with the flag to fix.
  resolveUpstream(options)
  return options
}

/**
 * The startup line naming the provider (its address redacted) and the redirect URI to register there.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2
 */
export function upstreamBanner(options: UpstreamOptions, issuer: string): string {
  const resolved = resolveUpstream(options)
  const where = resolved.issuer ?? resolved.endpoints?.authorization ?? ''
  const extras = [
    options.passTokens ? 'tokens kept for the operator' : '',
    options.only ? 'password form hidden' : '',
  ]
    .filter(Boolean)
    .join(', ')
  return `upstream ${resolved.preset} at ${redactUrl(where)}${extras ? ` (${extras})` : ''}; register the redirect URI ${issuer}/upstream/callback there`
}

/**
 * Where each flag lives in a configuration file's `upstream` section: the authorization server's own option
 * names, so the section reads like `createAuthorizationServer({ upstream })`.
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#IssuerDiscovery
 */
export const UPSTREAM_SECTION_KEYS = {
  upstream: 'preset',
  'upstream-issuer': 'issuer',
  'upstream-tenant': 'tenant',
  'upstream-base-url': 'baseUrl',
  'upstream-api-url': 'apiBaseUrl',
  'upstream-client-id': 'clientId',
  'upstream-scopes': 'scope',
  'upstream-name': 'name',
  'upstream-account-claim': 'accountClaim',
  'upstream-pass-tokens': 'passTokens',
  'upstream-only': 'only',
} as const satisfies Record<keyof UpstreamFlags, string>

/**
 * The `upstream` option from a configuration file section (keys of {@link UPSTREAM_SECTION_KEYS}, plus a
 * resolved `clientSecret`), checked exactly as the flags are; a section with an issuer and no preset is `oidc`.
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#IssuerDiscovery
 */
export function upstreamOptionsFromSection(
  section: Record<string, unknown>,
  env: Record<string, string | undefined> = process.env,
): UpstreamOptions | undefined {
  const flags: Record<string, string | boolean | undefined> = {}
  for (const [flag, key] of Object.entries(UPSTREAM_SECTION_KEYS)) {
    const value = section[key]
    if (value === undefined) continue
    const boolean = flag === 'upstream-pass-tokens' || flag === 'upstream-only'
    if (boolean ? typeof value !== 'boolean' : typeof value !== 'string')
      throw usageError(
        `upstream.${key} must be ${boolean ? 'true or false' : 'a string'}`,
        `fix upstream.${key} in the configuration file (or pass --${flag})`,
      )
    flags[flag] = value as string | boolean
  }
  if (flags['upstream'] === undefined && flags['upstream-issuer'] !== undefined) flags['upstream'] = 'oidc'
  const secret = typeof section['clientSecret'] === 'string' ? section['clientSecret'] : undefined
  return upstreamOptions(flags as UpstreamFlags, secret ? { ...env, [UPSTREAM_SECRET_ENV]: secret } : env)
}
