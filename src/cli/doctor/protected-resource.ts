/**
 * Protected Resource Metadata checks, read from the engine's discovery trace: every candidate URL with its
 * status, the document found, and its `resource` against the server URL.
 * @see https://www.rfc-editor.org/rfc/rfc9728
 */
import type { DiscoveryResult } from '../../client/discovery.ts'
import type { TraceStep } from '../../client/trace.ts'
import type { McpOAuthError } from '../../shared/errors.ts'
import {
  type ProtectedResourceMetadata,
  protectedResourceMetadataUrls,
} from '../../shared/protected-resource.ts'
import { canonicalResource, resourceCovers, sameResource } from '../../shared/resource.ts'
import { type Exchange, safe } from './network.ts'
import { type Check, check, SPECS } from './report.ts'
import { connectionCheck } from './tls.ts'

/** What discovery left behind for the checks to read. */
export interface DiscoveryFacts {
  server: string
  /** `resource_metadata` from the challenge, if any. */
  resourceMetadataUrl?: string | undefined
  steps: readonly TraceStep[]
  warnings: readonly string[]
  exchanges: readonly Exchange[]
  result?: DiscoveryResult | undefined
  error?: unknown
}

/** The last recorded exchange for a URL. */
export function exchangeFor(facts: DiscoveryFacts, url: string): Exchange | undefined {
  return facts.exchanges.findLast((e) => e.url === url)
}

/** Why the engine did not request a candidate: an earlier one answered, or discovery stopped (e.g. on a TLS error). */
export function notRequested(facts: DiscoveryFacts, kind: TraceStep['kind']): string {
  const answered = facts.steps.some((s) => s.kind === kind && s.outcome === 'ok' && s.status === 200)
  return answered ? 'an earlier candidate answered' : 'discovery stopped before it'
}

/** The JSON body recorded for a URL, if it parsed to an object. */
export function documentAt(facts: DiscoveryFacts, url: string): Record<string, unknown> | undefined {
  const body = exchangeFor(facts, url)?.body
  if (!body) return undefined
  try {
    const doc = JSON.parse(body)
    return doc && typeof doc === 'object' && !Array.isArray(doc) ? doc : undefined
  } catch {
    return undefined
  }
}

function statusText(step: TraceStep): string {
  const code = step.code ? ` (${step.code})` : ''
  return step.status !== undefined ? `${step.status} ${step.outcome}${code}` : `${step.outcome}${code}`
}

/** The PRM document the engine used, or the one it read and refused (so its `resource` can be shown). */
export function protectedResourceDocument(
  facts: DiscoveryFacts,
): { doc: ProtectedResourceMetadata; url: string } | undefined {
  if (facts.result?.prm && facts.result.prmUrl) return { doc: facts.result.prm, url: facts.result.prmUrl }
  const prm = facts.steps.filter((s) => s.kind === 'protected-resource-metadata' && s.status === 200)
  const step = prm.find((s) => s.outcome === 'ok') ?? prm.find((s) => s.outcome === 'invalid')
  const doc = step ? documentAt(facts, step.url) : undefined
  return step && doc && typeof doc['resource'] === 'string'
    ? { doc: doc as ProtectedResourceMetadata, url: step.url }
    : undefined
}

/**
 * One check per PRM candidate URL, in the order the engine tries them, then the document and its `resource`.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery#protected-resource-metadata-discovery-requirements
 */
export function checkProtectedResource(facts: DiscoveryFacts): Check[] {
  const checks: Check[] = []
  const [pathUrl, rootUrl] =
    protectedResourceMetadataUrls(facts.server).length === 2
      ? protectedResourceMetadataUrls(facts.server)
      : [undefined, protectedResourceMetadataUrls(facts.server)[0]]
  // Trace steps and exchanges carry URLs without query or fragment; compare in that form.
  const rm = facts.resourceMetadataUrl ? safe(facts.resourceMetadataUrl) : undefined
  const candidates: { id: string; url: string; label: string }[] = []
  if (facts.resourceMetadataUrl)
    candidates.push({
      id: 'prm.url.challenge',
      url: rm!,
      label: 'resource_metadata URL',
    })
  if (pathUrl && pathUrl !== rm)
    candidates.push({ id: 'prm.url.path', url: pathUrl, label: 'PRM well-known URL (path-inserted)' })
  if (rootUrl && rootUrl !== rm)
    candidates.push({ id: 'prm.url.root', url: rootUrl, label: 'PRM well-known URL (root)' })
  const found = facts.result?.prmUrl
  for (const c of candidates) {
    const step = facts.steps.find((s) => s.kind === 'protected-resource-metadata' && s.url === c.url)
    const spec = c.id === 'prm.url.challenge' ? SPECS.rfc9728Challenge : SPECS.rfc9728WellKnown
    if (!step) {
      checks.push(
        check(
          c.id,
          'info',
          c.label,
          spec,
          `${c.url} not requested (${notRequested(facts, 'protected-resource-metadata')})`,
        ),
      )
      continue
    }
    if (step.outcome === 'ok' && step.status === 200) {
      checks.push(check(c.id, 'pass', c.label, spec, `${c.url} → ${step.status}`))
    } else if (step.outcome === 'network-error') {
      checks.push(connectionCheck(c.id, c.url, exchangeFor(facts, c.url)?.error ?? step.note))
    } else if (c.id === 'prm.url.challenge') {
      const is404 = step.status === 404
      checks.push(
        check(c.id, 'fail', c.label, spec, `${c.url} → ${statusText(step)}`, {
          ...(is404 ? { diagnosis: 'resource_metadata_404' as const } : {}),
          fix:
            step.code === 'resource_metadata_origin'
              ? 'Serve the Protected Resource Metadata from the MCP server origin (or https) and point resource_metadata at it.'
              : is404
                ? `resource_metadata points at a URL that answers 404; point it at the URL that serves your PRM${found ? ` (${found})` : ''}.`
                : 'Make the resource_metadata URL serve the Protected Resource Metadata JSON with status 200.',
        }),
      )
    } else if (step.status === 401 || step.status === 403) {
      checks.push(
        check(c.id, 'warn', c.label, spec, `${c.url} → ${statusText(step)}: metadata behind authentication`, {
          fix: 'Serve /.well-known/oauth-protected-resource without authentication (clients have no token yet).',
        }),
      )
    } else if (step.outcome === 'invalid' || step.outcome === 'rejected') {
      checks.push(
        check(c.id, 'fail', c.label, spec, `${c.url} → ${statusText(step)}`, {
          fix: 'Serve a valid RFC 9728 JSON document (application/json) at this URL, or nothing (404).',
        }),
      )
    } else {
      checks.push(check(c.id, 'info', c.label, spec, `${c.url} → ${statusText(step)}`))
    }
  }
  checks.push(...checkDocument(facts))
  return checks
}

function checkDocument(facts: DiscoveryFacts): Check[] {
  const checks: Check[] = []
  const e = facts.error as McpOAuthError | undefined
  const got = protectedResourceDocument(facts)
  if (facts.result?.legacy) {
    checks.push(
      check(
        'prm.found',
        'fail',
        'Protected Resource Metadata',
        SPECS.rfc9728WellKnown,
        'none found: only 2025-03-26 clients can use this server (they assume the AS lives at the server origin)',
        {
          fix: `Serve RFC 9728 metadata at ${protectedResourceMetadataUrls(facts.server)[0]} listing your authorization server.`,
        },
      ),
    )
    return checks
  }
  if (!got) {
    if (facts.steps.some((s) => s.kind === 'protected-resource-metadata')) {
      checks.push(
        check(
          'prm.found',
          'fail',
          'Protected Resource Metadata',
          SPECS.rfc9728WellKnown,
          e?.message ?? 'none found',
          {
            fix: `Serve RFC 9728 metadata at ${protectedResourceMetadataUrls(facts.server)[0]}.`,
          },
        ),
      )
    }
    return checks
  }
  const { doc, url } = got
  const servers = Array.isArray(doc.authorization_servers) ? doc.authorization_servers : []
  checks.push(
    servers.length
      ? check(
          'prm.found',
          'pass',
          'Protected Resource Metadata',
          SPECS.rfc9728WellKnown,
          `${url}: authorization_servers ${servers.join(', ')}${doc.scopes_supported ? `; scopes_supported ${doc.scopes_supported.join(' ')}` : ''}`,
        )
      : check(
          'prm.found',
          'fail',
          'Protected Resource Metadata',
          SPECS.mcpChallenge,
          `${url} lists no authorization_servers`,
          { fix: 'List your authorization server issuer in authorization_servers.' },
        ),
  )
  checks.push(checkResource(facts.server, doc.resource))
  if (doc.scopes_supported?.includes('offline_access')) {
    checks.push(
      check(
        'prm.offline_access',
        'warn',
        'offline_access in scopes_supported',
        SPECS.mcpRefresh,
        'the PRM lists offline_access, which is not a resource scope',
        {
          fix: 'Remove offline_access from scopes_supported; let the AS issue refresh tokens by grant type (clients add offline_access themselves when the AS lists it).',
        },
      ),
    )
  }
  return checks
}

/**
 * PRM `resource` against the server URL: identical passes; a trailing-slash difference is the audience
 * mismatch that breaks strict clients and exact audience checks; a parent path is tolerated with a warning.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3.3
 */
export function checkResource(server: string, resource: string): Check {
  const title = 'PRM resource vs server URL'
  let canonical: string
  try {
    canonical = canonicalResource(resource)
  } catch {
    return check('prm.resource', 'fail', title, SPECS.rfc9728Resource, `"${resource}" is not a URL`, {
      fix: `Set resource to ${server}.`,
    })
  }
  if (canonical === server)
    return check('prm.resource', 'pass', title, SPECS.rfc9728Resource, `resource ${resource} = ${server}`)
  if (sameResource(resource, server)) {
    return check(
      'prm.resource',
      'fail',
      title,
      SPECS.rfc9728Resource,
      `resource ${resource} differs from ${server} by a trailing slash: tokens get audience ${resource}, which exact audience checks and strict clients refuse`,
      {
        diagnosis: 'trailing_slash_audience',
        fix: `Set resource to exactly ${server} (same trailing slash as the URL clients use) and accept that audience.`,
      },
    )
  }
  if (resourceCovers(resource, server)) {
    return check(
      'prm.resource',
      'warn',
      title,
      SPECS.rfc9728Resource,
      `resource ${resource} is a parent of ${server}; RFC 9728 clients expect the identical URL`,
      { fix: `Serve path-specific metadata whose resource is ${server}.` },
    )
  }
  return check(
    'prm.resource',
    'fail',
    title,
    SPECS.rfc9728Resource,
    `resource ${resource} names another server than ${server}; clients must refuse this metadata`,
    { fix: `Set resource to ${server}.` },
  )
}
