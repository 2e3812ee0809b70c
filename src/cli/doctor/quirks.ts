/**
 * Known behaviours of real authorization servers that break clients following the spec, each named with what
 * mcp-oauth does about it and what the person (or the operator) can set: a registered scope that caps step-up,
 * refresh tokens that need consent or a provider parameter, a refused `resource`, no metadata at all.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { isOpenIdProvider } from '../../client/authorization-parameters.ts'
import type { DiscoveryResult } from '../../client/discovery.ts'
import type { TraceStep } from '../../client/trace.ts'
import { McpOAuthError } from '../../shared/errors.ts'
import { parseScope } from '../../shared/scope.ts'
import { type Check, check, SPECS } from './report.ts'

/** What doctor learned that reveals a quirk. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export interface QuirkFacts {
  result?: DiscoveryResult | undefined
  error?: unknown
  /** Steps of the engine's sign-in sessions (doctor --login), where a refused `resource` is recorded. */
  steps: readonly TraceStep[]
  /** Whether the endpoints were given by the user (no AS discovery). */
  givenEndpoints: boolean
  /** The scope a live registration asked for and the one the AS answered with. */
  registration?: { requested?: string | undefined; registered?: string | undefined } | undefined
}

const OIDC_OFFLINE = {
  label: 'OpenID Connect Core §11',
  url: 'https://openid.net/specs/openid-connect-core-1_0.html#OfflineAccess',
}

/**
 * One check per quirk found, each with its fix.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export function checkQuirks(f: QuirkFacts): Check[] {
  const checks: Check[] = []
  const code = f.error instanceof McpOAuthError ? f.error.code : undefined
  if (code === 'authorization_server_metadata_not_found') {
    checks.push(
      check(
        'quirk.no_metadata',
        'warn',
        'No authorization server metadata',
        SPECS.mcpAsDiscovery,
        'the authorization server publishes no metadata (GitHub OAuth apps are like this): clients cannot find its endpoints',
        {
          diagnosis: 'no_authorization_server_metadata',
          fix: 'Give the endpoints: mcp-oauth login <url> --authorization-endpoint URL --token-endpoint URL --client-id ID (or --as-metadata FILE).',
        },
      ),
    )
  }
  if (f.givenEndpoints && f.result) {
    checks.push(
      check(
        'quirk.given_endpoints',
        'info',
        'Endpoints given by hand',
        SPECS.mcpAsDiscovery,
        `using the authorization server endpoints you gave for ${f.result.issuer}; discovery skipped`,
      ),
    )
  }
  const md = f.result?.metadata
  if (md && isOpenIdProvider(md)) {
    checks.push(
      md.scopes_supported?.includes('offline_access')
        ? check(
            'quirk.offline_access_consent',
            'info',
            'Refresh tokens need consent',
            OIDC_OFFLINE,
            'an OpenID provider: it ignores offline_access without prompt=consent, so a client that omits it gets no refresh token; mcp-oauth sends prompt=consent with offline_access (the consent screen shows at each sign-in)',
            { diagnosis: 'offline_access_needs_consent' },
          )
        : check(
            'quirk.offline_access_consent',
            'warn',
            'No refresh token will be issued',
            OIDC_OFFLINE,
            'an OpenID provider that does not offer offline_access: refresh tokens need a provider-specific parameter, or none are issued and people sign in again at every expiry',
            {
              diagnosis: 'refresh_needs_provider_parameter',
              fix: "Pass the provider's parameter, e.g. --authorize-param access_type=offline for Google; doctor --login shows whether a refresh token came back.",
            },
          ),
    )
  }
  const refused = f.steps.find((s) => s.code === 'resource_parameter_refused')
  if (refused) {
    checks.push(
      check(
        'quirk.resource_refused',
        'warn',
        'Resource parameter refused',
        SPECS.rfc8707,
        `${refused.url} refused the resource parameter (${refused.note ?? 'refused'}); mcp-oauth signed in again without it and remembers this for the issuer`,
        {
          diagnosis: 'resource_parameter_refused',
          fix: 'Pass --resource-parameter omit to skip the refused first attempt (tokens are then not bound to this server by the AS); operators: accept RFC 8707 resource next to scopes.',
        },
      ),
    )
  }
  const reg = f.registration
  if (reg?.registered !== undefined && f.result) {
    const missing = parseScope(reg.requested).filter((s) => !parseScope(reg.registered).includes(s))
    if (missing.length) {
      checks.push(
        check(
          'quirk.registered_scope_cap',
          'warn',
          'Registered scope will cap step-up',
          SPECS.rfc7591,
          `registration asked for "${reg.requested}" and the AS registered "${reg.registered}": a step-up to ${missing.join(' ')} will be refused with invalid_scope`,
          {
            diagnosis: 'registered_scope_caps_step_up',
            fix: `Operators: register the scopes clients ask for (or do not hold clients to them); users: use a pre-registered client allowed ${missing.join(' ')} (--client-id).`,
          },
        ),
      )
    }
  }
  return checks
}
