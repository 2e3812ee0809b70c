/**
 * The doctor's walk along the chain: unauthenticated request → challenge → the engine's discovery (with its
 * trace) → registration options and a live DCR test → CORS → optionally a real sign-in. Discovery is the client
 * engine's own `discover`, so the diagnosis and the engine never disagree.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { randomInt } from 'node:crypto'
import {
  type DiscoveryResult,
  discover,
  type GivenAuthorizationServerMetadata,
} from '../../client/discovery.ts'
import type { FetchLike } from '../../client/http.ts'
import { type ClientInfo, registerClient } from '../../client/registration.ts'
import type { Session } from '../../client/session.ts'
import { MemoryStore } from '../../client/stores/store.ts'
import { DiscoveryTrace } from '../../client/trace.ts'
import { McpOAuthError, OAuthResponseError } from '../../shared/errors.ts'
import { canonicalResource, isLoopbackUrl } from '../../shared/resource.ts'
import { formatScope, unionScope } from '../../shared/scope.ts'
import { checkAuthorizationServer } from './authorization-server.ts'
import { checkChallenge } from './challenge.ts'
import { type CorsProbe, checkCors, checkMcpCors } from './cors.ts'
import { deleteClient, runLoginChecks } from './login.ts'
import { INITIALIZE, postMcp, probeCors, probeMcpCors, recordingFetch } from './network.ts'
import { checkProtectedResource, type DiscoveryFacts } from './protected-resource.ts'
import { checkQuirks, type QuirkFacts } from './quirks.ts'
import { checkDcrOutcome, checkRegistrationOptions, type DcrOutcome } from './registration.ts'
import { buildReport, type Check, check, type Report, SPECS } from './report.ts'
import { connectionCheck } from './tls.ts'

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  /** Extra headers for the MCP server (never for the authorization server). */
  headers?: Record<string, string>
  fetch?: FetchLike
  allowHttp?: boolean
  /** Origin sent in the CORS probes. */
  origin?: string
  /** Register (and then delete) a test client to see whether DCR accepts a native loopback client. */
  register?: boolean
  preRegisteredClientId?: string | undefined
  clientMetadataUrl?: string | undefined
  /** Sign in for real: a session factory (offlineAccess says whether the engine may add offline_access). */
  login?: { session: (offlineAccess: boolean) => Session; callTools: readonly string[] }
  /** Progress lines (stderr); never secrets. */
  progress?: (line: string) => void
  /** Authorization server endpoints given by the user (no metadata published): AS discovery is skipped. */
  authorizationServer?: GivenAuthorizationServerMetadata | undefined
}

/** The default Origin of the CORS probes: a browser-based client somewhere else. */
export const DEFAULT_ORIGIN = 'https://mcp-client.example'

/**
 * Diagnose one MCP server's OAuth: every check in the order a client meets them.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export async function runDoctor(serverUrl: string, o: DoctorOptions = {}): Promise<Report> {
  const server = canonicalResource(serverUrl)
  const checks: Check[] = []
  const progress = o.progress ?? (() => {})
  const base = o.fetch ?? globalThis.fetch

  if (server.startsWith('http:') && !isLoopbackUrl(server) && !o.allowHttp) {
    checks.push(
      check(
        'server.https',
        'fail',
        'MCP server over https',
        SPECS.mcpSecurity,
        `${server} is plain http on a non-loopback host: clients refuse to send tokens to it`,
        { fix: 'Serve the MCP endpoint over https (http is only acceptable on loopback).' },
      ),
    )
    return buildReport(server, checks)
  }
  progress(`requesting ${server} without a token`)
  const first = await postMcp(server, INITIALIZE, {
    fetch: base,
    ...(o.headers ? { headers: o.headers } : {}),
  })
  if (first.error !== undefined) {
    checks.push(connectionCheck('challenge.connect', server, first.error))
    return buildReport(server, checks)
  }
  if (server.startsWith('https:'))
    checks.push(
      check(
        'tls.server',
        'pass',
        'TLS',
        SPECS.mcpSecurity,
        `certificate of ${new URL(server).host} is valid and trusted`,
      ),
    )
  const found = checkChallenge(server, first)
  checks.push(...found.checks)

  progress('discovering the authorization server (client engine)')
  const trace = new DiscoveryTrace()
  const recording = recordingFetch(base)
  let result: DiscoveryResult | undefined
  let error: unknown
  try {
    result = await discover(server, {
      trace,
      fetch: recording.fetch,
      allowHttp: o.allowHttp ?? false,
      ...(found.challenge?.resource_metadata
        ? { resourceMetadataUrl: found.challenge.resource_metadata }
        : {}),
      ...(o.authorizationServer ? { authorizationServer: o.authorizationServer } : {}),
    })
  } catch (e) {
    error = e
  }
  const facts: DiscoveryFacts = {
    server,
    resourceMetadataUrl: found.challenge?.resource_metadata,
    steps: trace.steps,
    warnings: trace.warnings,
    exchanges: recording.exchanges,
    result,
    error,
  }
  const open = first.status === 200 || first.status === 202
  if (open && (error !== undefined || result?.legacy)) {
    checks.push(
      check(
        'discovery',
        'info',
        'OAuth',
        SPECS.mcpChallenge,
        'the server answered without asking for a token and publishes no Protected Resource Metadata: it does not use OAuth',
      ),
    )
    return buildReport(server, checks)
  }
  checks.push(...checkProtectedResource(facts))
  // Endpoints given by hand have no metadata document to judge.
  if (!o.authorizationServer) checks.push(...checkAuthorizationServer(facts))
  const quirks: QuirkFacts = { result, error, steps: [], givenEndpoints: Boolean(o.authorizationServer) }
  if (error !== undefined && !checks.some((c) => c.status === 'fail')) {
    checks.push(
      check(
        'discovery',
        'fail',
        'Discovery',
        SPECS.mcpAsDiscovery,
        error instanceof Error ? error.message : String(error),
        {
          fix: error instanceof McpOAuthError ? error.hint : 'See the message.',
        },
      ),
    )
  }
  for (const w of trace.warnings)
    checks.push(check('discovery.warning', 'info', 'Discovery note', SPECS.mcpAsDiscovery, w))
  if (!result) {
    checks.push(...checkQuirks(quirks))
    if (o.login)
      checks.push(
        check(
          'login.sign_in',
          'info',
          'Sign-in',
          SPECS.mcpFlow,
          'not attempted: discovery failed (see above)',
        ),
      )
    return buildReport(server, checks)
  }

  checks.push(
    ...checkRegistrationOptions(result.metadata, {
      preRegisteredClientId: o.preRegisteredClientId,
      clientMetadataUrl: o.clientMetadataUrl,
    }),
  )

  progress('probing CORS on the metadata documents')
  const origin = o.origin ?? DEFAULT_ORIGIN
  const asUrl = trace.steps.find((s) => s.kind === 'authorization-server-metadata' && s.outcome === 'ok')?.url
  const targets: Omit<CorsProbe, 'status'>[] = []
  if (result.prmUrl) targets.push({ id: 'cors.prm', what: 'Protected Resource Metadata', url: result.prmUrl })
  if (asUrl) targets.push({ id: 'cors.as', what: 'authorization server metadata', url: asUrl })
  const [probes, mcpCors] = await Promise.all([
    Promise.all(targets.map(async (t) => ({ ...t, ...(await probeCors(t.url, origin, base)) }))),
    probeMcpCors(server, origin, base),
  ])
  checks.push(...checkCors(probes, origin))
  if (found.protected) checks.push(checkMcpCors(mcpCors, origin))

  let dcr: DcrOutcome | undefined
  if (o.login) {
    progress('signing in (a browser tab or a device code follows)')
    const make = o.login.session
    const sessions: Session[] = []
    const login = await runLoginChecks({
      server,
      discovery: result,
      challenge: found.challenge,
      // Every sign-in's trace is kept: a refused resource parameter is recorded there.
      session: (offlineAccess) => {
        const s = make(offlineAccess)
        sessions.push(s)
        return s
      },
      headers: o.headers ?? {},
      ...(o.fetch ? { fetch: o.fetch } : {}),
      callTools: o.login.callTools,
    })
    checks.push(...login.checks)
    dcr = login.dcr
    quirks.steps = sessions.flatMap((s) => s.trace.steps)
  }
  if (o.register && result.metadata.registration_endpoint) {
    progress('registering a test client (deleted right after where RFC 7592 allows)')
    const live = await liveDcr(result, o)
    checks.push(checkDcrOutcome(live.outcome))
    quirks.registration = live.scope
  } else if (dcr) {
    checks.push(checkDcrOutcome(dcr))
  } else if (result.metadata.registration_endpoint && !o.preRegisteredClientId) {
    checks.push(
      checkDcrOutcome({
        kind: 'not-run',
        reason:
          'not tested: pass --register to register a test client (deleted afterwards where the AS offers RFC 7592), or --login',
      }),
    )
  }
  checks.push(...checkQuirks(quirks))
  return buildReport(server, orderChecks(checks))
}

/** Keep the login checks last but put the DCR result next to the other registration checks. */
function orderChecks(checks: Check[]): Check[] {
  const live = checks.filter((c) => c.id === 'registration.dcr_live')
  const rest = checks.filter((c) => c.id !== 'registration.dcr_live')
  const at = rest.findLastIndex((c) => c.id.startsWith('registration.'))
  if (at < 0) return checks
  return [...rest.slice(0, at + 1), ...live, ...rest.slice(at + 1)]
}

/**
 * Register a native public client with a loopback redirect URI through the engine's own registration, then
 * delete it with RFC 7592 when the AS offers management.
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-3
 */
async function liveDcr(
  result: DiscoveryResult,
  o: DoctorOptions,
): Promise<{ outcome: DcrOutcome; scope?: QuirkFacts['registration'] }> {
  // The scope the engine registers with: every PRM scope the AS lists, and offline_access when it offers it.
  const listed = result.metadata.scopes_supported
  const wanted = unionScope(
    result.prm?.scopes_supported,
    listed?.includes('offline_access') ? ['offline_access'] : [],
  ).filter((s) => !listed || listed.includes(s))
  const requested = formatScope(wanted)
  let client: ClientInfo
  try {
    client = await registerClient({
      issuer: result.issuer,
      metadata: result.metadata,
      identity: { client_name: 'mcp-oauth doctor (test registration)' },
      store: new MemoryStore(),
      redirectUri: `http://127.0.0.1:${randomInt(49152, 65535)}/callback`,
      ...(requested ? { scope: requested } : {}),
      policy: { fetch: o.fetch, allowHttp: o.allowHttp },
    })
  } catch (e) {
    if (e instanceof OAuthResponseError)
      return {
        outcome: { kind: 'refused', status: e.status, error: e.error, description: e.error_description },
      }
    return { outcome: { kind: 'refused', error: e instanceof McpOAuthError ? e.code : String(e) } }
  }
  return {
    outcome: {
      kind: 'registered',
      client_id: client.client_id,
      deleted: await deleteClient(client, o.fetch),
    },
    scope: { requested, registered: client.scope },
  }
}
