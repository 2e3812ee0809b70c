/**
 * The demo MCP server behind `mcp-oauth serve`: a few tools needing different scopes, one of them beyond the
 * default grant so that calling it exercises step-up.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-selection-strategy
 */
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server'
import {
  InvalidTokenError,
  type ResourceServer,
  type TokenVerifier,
  VerifierUnavailableError,
} from '../../server/index.ts'

/** Every scope the demo resource understands. */
export const SCOPES = ['tools:read', 'notes:write', 'admin']
/** Scopes granted when a client asks for none (admin is left out: it needs a step-up). */
export const DEFAULT_SCOPES = ['tools:read', 'notes:write']
/** Shown on the consent page. */
export const SCOPE_DESCRIPTIONS: Record<string, string> = {
  'tools:read': 'list tools and call read-only ones',
  'notes:write': 'create notes',
  admin: 'see server statistics',
}
/** The resource server's scope policy per tool. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-challenge-handling */
export const DEMO_POLICY = {
  required: ['tools:read'],
  tools: { create_note: ['notes:write'], admin_report: ['admin'] },
}
/** The demo resource's shape in the authorization server and the kit. */
export const DEMO_RESOURCE = {
  scopes: SCOPES,
  defaultScopes: DEFAULT_SCOPES,
  policy: DEMO_POLICY,
  resourceName: 'mcp-oauth demo',
}

/** The demo MCP server: tools needing different scopes, one of them (admin_report) beyond the default grant. */
export function buildDemoServer(notes: string[]): McpServer {
  const server = new McpServer({ name: 'mcp-oauth-demo', version: '1.0.0' })
  const text = (value: unknown) => ({ content: [{ type: 'text' as const, text: JSON.stringify(value) }] })
  server.registerTool('whoami', { description: 'Who is calling (scope tools:read)' }, async (ctx) => {
    const auth = ctx.http?.authInfo
    return text({
      subject: auth?.extra?.['subject'] ?? null,
      client_id: auth?.clientId,
      scopes: auth?.scopes ?? [],
    })
  })
  server.registerTool('server_time', { description: 'The server clock (scope tools:read)' }, async () =>
    text({ now: new Date().toISOString() }),
  )
  server.registerTool('create_note', { description: 'Stores a note (scope notes:write)' }, async (ctx) => {
    notes.push(
      `note by ${String(ctx.http?.authInfo?.extra?.['subject'] ?? 'unknown')} at ${new Date().toISOString()}`,
    )
    return text({ created: notes.length })
  })
  server.registerTool(
    'admin_report',
    { description: 'Server statistics (scope admin: needs step-up)' },
    async () => text({ notes: notes.length }),
  )
  return server
}

/**
 * Wraps a JWT verifier for a resource served beside its authorization server: a token whose grant was revoked
 * (sign-out, refresh-token reuse) is refused within `recheckMs`, not only when it expires. The answer is
 * reused for `recheckMs`, so the store sees at most one lookup per token per interval.
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export function liveGrantVerifier(
  inner: TokenVerifier,
  grantAlive: (jti: string) => Promise<boolean>,
  recheckMs = 2000,
): TokenVerifier {
  return {
    ...(inner.additionalAudiences ? { additionalAudiences: inner.additionalAudiences } : {}),
    async verify(token, context) {
      const verified = await inner.verify(token, context)
      const jti = verified.claims['jti']
      let alive: boolean
      try {
        alive = typeof jti === 'string' && (await grantAlive(jti))
      } catch (error) {
        throw new VerifierUnavailableError('the token store could not be read', { cause: error })
      }
      if (!alive) throw new InvalidTokenError('the grant behind this token was revoked or signed out')
      return {
        ...verified,
        cacheUntil: Math.min(verified.cacheUntil ?? Number.POSITIVE_INFINITY, Date.now() + recheckMs),
      }
    },
  }
}

/**
 * The demo resource's shape: its scopes (plus those of the configured per-tool scopes), default grant and policy.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-2
 */
export function demoResource(toolScopes: Record<string, string[]>) {
  return {
    scopes: [...new Set([...SCOPES, ...Object.values(toolScopes).flat()])],
    defaultScopes: DEFAULT_SCOPES,
    policy: { ...DEMO_POLICY, tools: { ...DEMO_POLICY.tools, ...toolScopes } },
    resourceName: 'mcp-oauth demo',
  }
}

/** The demo MCP server behind the kit (which checked the token and passes who is calling). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export function demoHandler(rs: ResourceServer): (request: Request) => Promise<Response> {
  const notes: string[] = []
  const mcpHandler = createMcpHandler(() => buildDemoServer(notes))
  return (request) => rs.handle(request, (r, { authInfo }) => mcpHandler.fetch(r, { authInfo }))
}
