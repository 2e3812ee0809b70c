/**
 * The unauthenticated MCP request and its challenge: status, `WWW-Authenticate` (parsed with the shared RFC 9110
 * parser), `resource_metadata`, `scope`, and an `error` where none belongs.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery#protected-resource-metadata-discovery-requirements
 */
import { McpOAuthError } from '../../shared/errors.ts'
import { type McpChallenge, parseWwwAuthenticate, readMcpChallenge } from '../../shared/www-authenticate.ts'
import type { Exchange } from './network.ts'
import { type Check, check, SPECS } from './report.ts'

/** What the challenge checks found. */
export interface ChallengeFindings {
  checks: Check[]
  challenge?: McpChallenge
  /** Whether the server demanded authorization at all. */
  protected: boolean
}

/**
 * Checks over the answer to an MCP `initialize` sent without a token.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-5.1
 */
export function checkChallenge(server: string, ex: Exchange): ChallengeFindings {
  const checks: Check[] = []
  const status = ex.status ?? 0
  const header = ex.headers['www-authenticate']
  if (status === 200 || status === 202) {
    checks.push(
      check(
        'challenge.status',
        'warn',
        'MCP request without a token',
        SPECS.rfc6750Challenge,
        `${server} answered ${status}: initialize works without authorization`,
        {
          fix: 'If the server is meant to be protected, answer 401 with a Bearer challenge to requests without a token.',
        },
      ),
    )
    return { checks, protected: false }
  }
  if (status >= 300 && status < 400) {
    checks.push(
      check(
        'challenge.status',
        'fail',
        'MCP request without a token',
        SPECS.rfc6750Challenge,
        `${server} redirects (${status}) to ${ex.headers['location'] ?? '(no location)'}; clients POST to the URL they were given`,
        { fix: 'Serve MCP at the exact URL you publish (mind the trailing slash) instead of redirecting.' },
      ),
    )
    return { checks, protected: false }
  }
  if (status !== 401) {
    const wrong403 = status === 403
    checks.push(
      check(
        'challenge.status',
        'fail',
        'MCP request without a token',
        SPECS.rfc6750Challenge,
        `${server} answered ${status}; a request without a token must get 401 with WWW-Authenticate`,
        {
          fix: wrong403
            ? 'Answer 401 (not 403) when the token is missing; 403 means "token valid but not enough".'
            : 'Check the URL is the MCP endpoint, then answer 401 with a Bearer challenge to requests without a token.',
        },
      ),
    )
    return { checks, protected: status === 403 }
  }
  checks.push(
    check(
      'challenge.status',
      'pass',
      'MCP request without a token',
      SPECS.rfc6750Challenge,
      `POST initialize → 401`,
    ),
  )
  if (!header) {
    checks.push(
      check(
        'challenge.header',
        'fail',
        'WWW-Authenticate challenge',
        SPECS.rfc6750Challenge,
        '401 without a WWW-Authenticate header',
        {
          fix: 'Send `WWW-Authenticate: Bearer resource_metadata="<PRM URL>", scope="<scopes>"` with every 401.',
        },
      ),
    )
    return { checks, protected: true }
  }
  let challenge: McpChallenge | undefined
  try {
    parseWwwAuthenticate(header)
    challenge = readMcpChallenge(header)
  } catch (e) {
    checks.push(
      check(
        'challenge.header',
        'fail',
        'WWW-Authenticate challenge',
        SPECS.rfc6750Challenge,
        e instanceof McpOAuthError ? e.message : String(e),
        { fix: 'Send a WWW-Authenticate header that follows RFC 9110 §11.6.1 (quote every value).' },
      ),
    )
    return { checks, protected: true }
  }
  if (!challenge) {
    checks.push(
      check(
        'challenge.header',
        'fail',
        'WWW-Authenticate challenge',
        SPECS.rfc6750Challenge,
        `no Bearer (or DPoP) challenge in: ${header.slice(0, 200)}`,
        { fix: 'Challenge with the Bearer scheme: `WWW-Authenticate: Bearer resource_metadata="…"`.' },
      ),
    )
    return { checks, protected: true }
  }
  checks.push(
    check(
      'challenge.header',
      'pass',
      'WWW-Authenticate challenge',
      SPECS.rfc6750Challenge,
      `${challenge.scheme === 'dpop' ? 'DPoP' : 'Bearer'} challenge: ${header.slice(0, 300)}`,
    ),
  )
  if (challenge.resource_metadata) {
    let absolute = true
    try {
      new URL(challenge.resource_metadata)
    } catch {
      absolute = false
    }
    checks.push(
      absolute
        ? check(
            'challenge.resource_metadata',
            'pass',
            'resource_metadata in the challenge',
            SPECS.rfc9728Challenge,
            challenge.resource_metadata,
          )
        : check(
            'challenge.resource_metadata',
            'fail',
            'resource_metadata in the challenge',
            SPECS.rfc9728Challenge,
            `"${challenge.resource_metadata.slice(0, 200)}" is not an absolute URL`,
            { fix: 'Put the absolute https URL of the Protected Resource Metadata in resource_metadata.' },
          ),
    )
  } else {
    checks.push(
      check(
        'challenge.resource_metadata',
        'warn',
        'resource_metadata in the challenge',
        SPECS.rfc9728Challenge,
        'missing: clients must guess the well-known URLs (and some only read the challenge)',
        {
          fix: 'Add resource_metadata="<absolute URL of your Protected Resource Metadata>" to the Bearer challenge.',
        },
      ),
    )
  }
  checks.push(
    challenge.scope
      ? check(
          'challenge.scope',
          'pass',
          'scope in the challenge',
          SPECS.mcpScope,
          `scope="${challenge.scope}"`,
        )
      : check(
          'challenge.scope',
          'warn',
          'scope in the challenge',
          SPECS.mcpScope,
          'missing: clients fall back to PRM scopes_supported or request no scope at all',
          { fix: 'Add scope="<scopes needed for basic use>" to the Bearer challenge.' },
        ),
  )
  if (challenge.error) {
    const noTokenError = challenge.error === 'invalid_token' || challenge.error === 'invalid_request'
    checks.push(
      check(
        'challenge.error',
        noTokenError ? 'warn' : 'info',
        'error code without a token',
        SPECS.rfc6750Errors,
        `the challenge to a request that sent no token carries error="${challenge.error}"`,
        {
          fix: 'Leave out error= when the request had no credentials (RFC 6750 §3.1); use invalid_token only for bad tokens.',
        },
      ),
    )
  }
  return { checks, challenge, protected: true }
}
