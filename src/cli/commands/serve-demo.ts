/**
 * The demo MCP server behind `mcp-oauth serve`: a few tools needing different scopes, one of them beyond the
 * default grant so that calling it exercises step-up.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-selection-strategy
 */
import { McpServer } from '@modelcontextprotocol/server'

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
