/**
 * The doctor's report: one check per line (✓ ✗ ⚠ ·), the spec section it rests on, and a one-line fix for the
 * server's operator; the same report as a stable JSON document for CI.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */

/** Outcome of one check. `info` states a fact that is neither right nor wrong. */
export type CheckStatus = 'pass' | 'fail' | 'warn' | 'info'

/** The spec section a check rests on: a short label and its URL. */
export interface SpecRef {
  label: string
  url: string
}

/** One check as it appears in `--json`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export interface Check {
  /** Stable identifier (dotted), the same across runs and versions. */
  id: string
  status: CheckStatus
  title: string
  spec: SpecRef
  /** What was observed (URLs, status codes, values); never a token or secret. */
  detail: string
  /** One line addressed to the server's operator; present on `fail` and `warn`. */
  fix?: string
  /** Name of a known misconfiguration pattern, when this check recognised one. */
  diagnosis?: Diagnosis
}

/** The named misconfigurations doctor recognises. */
export type Diagnosis =
  | 'metadata_only_at_openid_configuration'
  | 'registration_endpoint_missing'
  | 'dcr_allowlisted'
  | 'resource_metadata_404'
  | 'trailing_slash_audience'
  | 'path_issuer_at_root'
  | 'cors_missing'
  | 'http_issuer'
  | 'refresh_only_with_offline_access'
  | 'offline_access_needs_consent'
  | 'refresh_needs_provider_parameter'
  | 'resource_parameter_refused'
  | 'registered_scope_caps_step_up'
  | 'no_authorization_server_metadata'
  | 'tls_self_signed'
  | 'tls_expired'
  | 'tls_name_mismatch'
  | 'tls_untrusted'

/** The whole report (`--json` output). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export interface Report {
  /** Schema version of this document. */
  version: 1
  server: string
  /** True when no check failed (warnings allowed). */
  ok: boolean
  checks: Check[]
}

const RFC = (n: number, section: string) => ({
  label: `RFC ${n} §${section}`,
  url: `https://www.rfc-editor.org/rfc/rfc${n}#section-${section}`,
})
const MCP_BASE = 'https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization'

/** The spec sections doctor cites. */
export const SPECS = {
  mcpChallenge: {
    label: 'MCP auth: PRM discovery',
    url: `${MCP_BASE}/authorization-server-discovery#protected-resource-metadata-discovery-requirements`,
  },
  mcpScope: { label: 'MCP auth: scope selection', url: `${MCP_BASE}#scope-selection-strategy` },
  mcpAsDiscovery: {
    label: 'MCP auth: AS metadata discovery',
    url: `${MCP_BASE}/authorization-server-discovery#authorization-server-metadata-discovery`,
  },
  mcpRegistration: { label: 'MCP auth: client registration', url: `${MCP_BASE}/client-registration` },
  mcpCimd: {
    label: 'MCP auth: Client ID Metadata Documents',
    url: `${MCP_BASE}/client-registration#client-id-metadata-documents`,
  },
  mcpDcr: {
    label: 'MCP auth: Dynamic Client Registration',
    url: `${MCP_BASE}/client-registration#dynamic-client-registration`,
  },
  mcpPreRegistration: {
    label: 'MCP auth: pre-registration',
    url: `${MCP_BASE}/client-registration#pre-registration`,
  },
  mcpFlow: { label: 'MCP auth: authorization flow', url: `${MCP_BASE}#authorization-flow-steps` },
  mcpIss: { label: 'MCP auth: iss validation', url: `${MCP_BASE}#authorization-response-validation` },
  mcpResource: {
    label: 'MCP auth: resource parameter',
    url: `${MCP_BASE}#resource-parameter-implementation`,
  },
  mcpTokenHandling: { label: 'MCP auth: token handling', url: `${MCP_BASE}#token-handling` },
  mcpRefresh: { label: 'MCP auth: refresh tokens', url: `${MCP_BASE}#refresh-tokens` },
  mcpStepUp: { label: 'MCP auth: scope challenges', url: `${MCP_BASE}#runtime-insufficient-scope-errors` },
  mcpSecurity: { label: 'MCP auth: communication security', url: `${MCP_BASE}/security-considerations` },
  mcpPkce: { label: 'MCP auth: PKCE', url: `${MCP_BASE}/security-considerations` },
  mcpCanonical: { label: 'MCP auth: canonical server URI', url: `${MCP_BASE}#canonical-server-uri` },
  rfc6750Challenge: RFC(6750, '3'),
  rfc6750Errors: RFC(6750, '3.1'),
  rfc9728Challenge: RFC(9728, '5.1'),
  rfc9728WellKnown: RFC(9728, '3.1'),
  rfc9728Resource: RFC(9728, '3.3'),
  rfc8414WellKnown: RFC(8414, '3.1'),
  rfc8414Issuer: RFC(8414, '3.3'),
  rfc7591: RFC(7591, '3'),
  rfc7592Delete: RFC(7592, '2.3'),
  rfc8707: RFC(8707, '2'),
  rfc9068: RFC(9068, '2.2'),
  rfc6749Refresh: RFC(6749, '6'),
  rfc9207: RFC(9207, '2.3'),
  rfc7636: RFC(7636, '4.2'),
  rfc8252Loopback: RFC(8252, '7.3'),
  cors: { label: 'Fetch standard: CORS', url: 'https://fetch.spec.whatwg.org/#http-cors-protocol' },
  tls: RFC(9110, '4.3.4'),
} as const satisfies Record<string, SpecRef>

/** A spec reference for a bare URL (an engine error's `spec`). */
export function specFromUrl(url: string): SpecRef {
  const rfc = /rfc(\d+)(?:#section-([\d.]+))?/.exec(url)
  if (rfc) return { label: `RFC ${rfc[1]}${rfc[2] ? ` §${rfc[2]}` : ''}`, url }
  if (url.includes('modelcontextprotocol.io')) return { label: 'MCP auth', url }
  return { label: 'spec', url }
}

/** Build a check; `fix` is dropped on pass and info so operators only see fixes where something is wrong. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export function check(
  id: string,
  status: CheckStatus,
  title: string,
  spec: SpecRef,
  detail: string,
  extra: { fix?: string | undefined; diagnosis?: Diagnosis | undefined } = {},
): Check {
  const c: Check = { id, status, title, spec, detail }
  if (extra.fix && (status === 'fail' || status === 'warn')) c.fix = extra.fix
  if (extra.diagnosis) c.diagnosis = extra.diagnosis
  return c
}

/** Assemble the report. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export function buildReport(server: string, checks: Check[]): Report {
  return { version: 1, server, ok: !checks.some((c) => c.status === 'fail'), checks }
}

const MARK: Record<CheckStatus, string> = { pass: '✓', fail: '✗', warn: '⚠', info: '·' }

const SECTIONS: [prefix: string, heading: string][] = [
  ['server', 'The MCP request without a token'],
  ['tls', 'The MCP request without a token'],
  ['challenge', 'The MCP request without a token'],
  ['prm', 'Protected Resource Metadata'],
  ['as', 'Authorization server metadata'],
  ['discovery', 'Authorization server metadata'],
  ['registration', 'Registration'],
  ['cors', 'CORS (browser-based clients)'],
  ['login', 'Sign-in and token'],
  ['token', 'Sign-in and token'],
  ['refresh', 'Refresh'],
  ['stepup', 'Step-up'],
  ['quirk', 'Authorization server quirks'],
]

/** The heading a check id belongs under (by its first dotted segment). */
function sectionOf(id: string): string {
  const prefix = id.split('.')[0]
  return SECTIONS.find(([p]) => p === prefix)?.[1] ?? 'Other'
}

/** The human report: headings per stage, one line per check ending in its spec, a fix line under each ✗ and ⚠, a summary. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export function renderReport(report: Report): string {
  const lines = [`mcp-oauth doctor ${report.server}`]
  let section: string | undefined
  for (const c of report.checks) {
    const heading = sectionOf(c.id)
    if (heading !== section) {
      lines.push('', heading)
      section = heading
    }
    lines.push(`  ${MARK[c.status]} ${c.title}: ${c.detail}  [${c.spec.label} ${c.spec.url}]`)
    if (c.fix) lines.push(`      fix: ${c.fix}`)
  }
  const count = (s: CheckStatus) => report.checks.filter((c) => c.status === s).length
  lines.push('')
  lines.push(
    `${count('pass')} passed, ${count('fail')} failed, ${count('warn')} warnings, ${count('info')} notes` +
      (report.ok ? '' : ' — the server needs the fixes marked ✗'),
  )
  return `${lines.join('\n')}\n`
}
