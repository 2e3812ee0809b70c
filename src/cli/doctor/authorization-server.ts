/**
 * Authorization server metadata checks, read from the engine's discovery trace: every candidate URL, where the
 * metadata was found, the issuer echo, https, PKCE S256, the RFC 9207 `iss` parameter and resource indicators.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery#authorization-server-metadata-discovery
 */
import {
  type AuthorizationServerMetadata,
  authorizationServerMetadataUrls,
  type MetadataKind,
} from '../../shared/authorization-server.ts'
import type { McpOAuthError } from '../../shared/errors.ts'
import { isLoopbackUrl } from '../../shared/resource.ts'
import {
  type DiscoveryFacts,
  documentAt,
  exchangeFor,
  notRequested,
  protectedResourceDocument,
} from './protected-resource.ts'
import { type Check, check, SPECS } from './report.ts'
import { connectionCheck } from './tls.ts'

const LABEL: Record<MetadataKind, string> = {
  'oauth-path-insert': 'RFC 8414 metadata (path-inserted)',
  'oidc-path-insert': 'OpenID configuration (path-inserted)',
  'oidc-path-append': 'OpenID configuration (path-appended)',
  'oauth-root': 'RFC 8414 metadata (root)',
  'oidc-root': 'OpenID configuration (root)',
}

/** The issuer doctor examines: the one discovery chose, else the first one the PRM lists. */
export function examinedIssuer(facts: DiscoveryFacts): string | undefined {
  if (facts.result) return facts.result.issuer
  return protectedResourceDocument(facts)?.doc.authorization_servers?.[0]
}

function httpIssuerCheck(facts: DiscoveryFacts, issuer: string | undefined): Check | undefined {
  const e = facts.error as McpOAuthError | undefined
  const insecure = e?.code === 'insecure_url' || e?.code === 'insecure_endpoint'
  const target = insecure ? String(Object.values(e.details ?? {})[0] ?? issuer ?? '') : issuer
  if (!target?.startsWith('http:') || isLoopbackUrl(target)) return undefined
  return check(
    'as.https',
    'fail',
    'Authorization server over https',
    SPECS.mcpSecurity,
    `${issuer ?? target} uses http:// on a non-loopback host; clients refuse to send credentials over it`,
    {
      diagnosis: 'http_issuer',
      fix: 'Serve the authorization server over https and list its https issuer in authorization_servers.',
    },
  )
}

/**
 * Checks over the authorization server metadata discovery of the examined issuer.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 */
export function checkAuthorizationServer(facts: DiscoveryFacts): Check[] {
  const checks: Check[] = []
  const issuer = examinedIssuer(facts)
  if (!issuer) return checks
  const insecure = httpIssuerCheck(facts, issuer)
  if (insecure) {
    checks.push(insecure)
    if (!facts.result) return checks
  }
  let candidates: { url: string; kind: MetadataKind }[]
  try {
    candidates = authorizationServerMetadataUrls(issuer)
  } catch {
    checks.push(
      check(
        'as.found',
        'fail',
        'Authorization server metadata',
        SPECS.mcpAsDiscovery,
        `"${issuer}" is not a URL`,
        {
          fix: 'List the issuer URL in authorization_servers.',
        },
      ),
    )
    return checks
  }
  const hasPath = new URL(issuer).pathname.replace(/\/$/, '') !== ''
  let foundKind: MetadataKind | undefined
  for (const c of candidates) {
    const id = `as.url.${c.kind}`
    const step = facts.steps.find((s) => s.kind === 'authorization-server-metadata' && s.url === c.url)
    const spec = c.kind.startsWith('oauth') ? SPECS.rfc8414WellKnown : SPECS.mcpAsDiscovery
    if (!step) {
      checks.push(
        check(
          id,
          'info',
          LABEL[c.kind],
          spec,
          `${c.url} not requested (${notRequested(facts, 'authorization-server-metadata')})`,
        ),
      )
      continue
    }
    if (step.outcome === 'ok' && step.status === 200) {
      foundKind ??= c.kind
      checks.push(check(id, 'pass', LABEL[c.kind], spec, `${c.url} → 200`))
    } else if (step.outcome === 'network-error') {
      checks.push(connectionCheck(id, c.url, exchangeFor(facts, c.url)?.error ?? step.note))
    } else if (step.outcome === 'invalid' && step.code === 'issuer_mismatch') {
      const doc = documentAt(facts, c.url)
      checks.push(
        check(
          id,
          'fail',
          LABEL[c.kind],
          SPECS.rfc8414Issuer,
          `${c.url} → 200 but names issuer ${String(doc?.['issuer'])}`,
          {
            ...(!hasPath && typeof doc?.['issuer'] === 'string' && new URL(doc['issuer']).pathname.length > 1
              ? { diagnosis: 'path_issuer_at_root' as const }
              : {}),
            fix: `List the exact issuer (${String(doc?.['issuer'])}) in the PRM authorization_servers, or make the document's issuer ${issuer}.`,
          },
        ),
      )
    } else {
      checks.push(
        check(
          id,
          'info',
          LABEL[c.kind],
          spec,
          `${c.url} → ${step.status ?? ''} ${step.outcome}${step.code ? ` (${step.code})` : ''}`.replace(
            '  ',
            ' ',
          ),
        ),
      )
    }
  }
  const md = facts.result?.metadata
  if (!md || (facts.result?.legacy && !foundKind)) {
    // A candidate that already failed (issuer mismatch, TLS) is the diagnosis; do not report it twice.
    if (!facts.result && !checks.some((c) => c.status === 'fail')) {
      const e = facts.error as McpOAuthError | undefined
      checks.push(
        check(
          'as.found',
          'fail',
          'Authorization server metadata',
          SPECS.mcpAsDiscovery,
          e?.message ?? `nothing found for ${issuer}`,
          {
            fix: `Publish RFC 8414 metadata at ${candidates[0]!.url}.`,
          },
        ),
      )
    }
    return checks
  }
  checks.push(foundCheck(issuer, hasPath, foundKind, candidates))
  checks.push(
    check(
      'as.issuer',
      'pass',
      'Issuer echo',
      SPECS.rfc8414Issuer,
      `metadata issuer ${md.issuer} = ${issuer}`,
    ),
  )
  checks.push(...metadataChecks(md))
  return checks
}

function foundCheck(
  issuer: string,
  hasPath: boolean,
  kind: MetadataKind | undefined,
  candidates: { url: string; kind: MetadataKind }[],
): Check {
  const title = 'Authorization server metadata location'
  const first = candidates[0]!.url
  if (kind === 'oauth-path-insert' || (kind === 'oauth-root' && !hasPath))
    return check('as.found', 'pass', title, SPECS.rfc8414WellKnown, `RFC 8414 metadata at ${first}`)
  if (kind === 'oauth-root' && hasPath) {
    return check(
      'as.found',
      'fail',
      title,
      SPECS.rfc8414WellKnown,
      `issuer ${issuer} has a path but its metadata is only at the root; MCP clients look at ${first}`,
      {
        diagnosis: 'path_issuer_at_root',
        fix: `Serve the metadata at ${first} (RFC 8414 inserts the well-known segment before the issuer's path).`,
      },
    )
  }
  return check(
    'as.found',
    'warn',
    title,
    SPECS.mcpAsDiscovery,
    `metadata only at openid-configuration (${candidates.find((c) => c.kind === kind)?.url}); clients written for MCP 2025-03-26/06-18 read only ${first}`,
    {
      diagnosis: 'metadata_only_at_openid_configuration',
      fix: `Also serve the same document at ${first}.`,
    },
  )
}

function metadataChecks(md: AuthorizationServerMetadata): Check[] {
  const checks: Check[] = []
  const missing = (['authorization_endpoint', 'token_endpoint'] as const).filter((k) => !md[k])
  checks.push(
    missing.length
      ? check('as.endpoints', 'fail', 'Endpoints', SPECS.rfc8414WellKnown, `missing ${missing.join(', ')}`, {
          fix: `Add ${missing.join(' and ')} to the metadata.`,
        })
      : check(
          'as.endpoints',
          'pass',
          'Endpoints',
          SPECS.rfc8414WellKnown,
          `authorization ${md.authorization_endpoint}, token ${md.token_endpoint}`,
        ),
  )
  const methods = md.code_challenge_methods_supported
  checks.push(
    methods?.includes('S256')
      ? check(
          'as.pkce',
          'pass',
          'PKCE S256',
          SPECS.rfc7636,
          `code_challenge_methods_supported: ${methods.join(', ')}`,
        )
      : check(
          'as.pkce',
          'fail',
          'PKCE S256',
          SPECS.mcpPkce,
          methods
            ? `offers ${methods.join(', ')} but not S256`
            : 'code_challenge_methods_supported is missing, so clients must assume no PKCE and refuse',
          { fix: 'Support PKCE S256 and list it: "code_challenge_methods_supported": ["S256"].' },
        ),
  )
  checks.push(
    md.authorization_response_iss_parameter_supported === true
      ? check(
          'as.iss_parameter',
          'pass',
          'iss in authorization responses',
          SPECS.rfc9207,
          'authorization_response_iss_parameter_supported: true',
        )
      : check(
          'as.iss_parameter',
          'warn',
          'iss in authorization responses',
          SPECS.mcpIss,
          'authorization_response_iss_parameter_supported is not true: clients cannot detect mix-up attacks',
          {
            fix: 'Return iss in authorization responses (RFC 9207) and set authorization_response_iss_parameter_supported: true.',
          },
        ),
  )
  const advertised = md['resource_indicators_supported']
  checks.push(
    check(
      'as.resource_indicators',
      'info',
      'Resource indicators (RFC 8707)',
      SPECS.rfc8707,
      advertised === true
        ? 'advertised (resource_indicators_supported); the token audience is checked after sign-in (--login)'
        : 'no metadata field announces RFC 8707; the token audience is checked after sign-in (--login)',
    ),
  )
  const grants = md.grant_types_supported
  if (grants && !grants.includes('authorization_code')) {
    checks.push(
      check(
        'as.grants',
        'fail',
        'Grant types',
        SPECS.rfc8414WellKnown,
        `grant_types_supported: ${grants.join(', ')}`,
        {
          fix: 'Enable the authorization_code grant for MCP clients that act for a person.',
        },
      ),
    )
  } else if (grants && !grants.includes('refresh_token')) {
    checks.push(
      check(
        'as.grants',
        'warn',
        'Grant types',
        SPECS.mcpRefresh,
        `grant_types_supported: ${grants.join(', ')} (no refresh_token)`,
        {
          fix: 'Enable refresh_token so people are not asked to sign in every time an access token expires.',
        },
      ),
    )
  } else {
    checks.push(
      check(
        'as.grants',
        'pass',
        'Grant types',
        SPECS.rfc8414WellKnown,
        grants
          ? `grant_types_supported: ${grants.join(', ')}`
          : 'not listed (RFC 8414 default: authorization_code, implicit)',
      ),
    )
  }
  return checks
}
