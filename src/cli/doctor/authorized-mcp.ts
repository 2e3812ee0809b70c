/**
 * MCP requests with the session's token, as a signed-in client sends them: Bearer, or DPoP with a proof bound to
 * the token and one retry with the server's nonce.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#access-token-usage
 */
import { isResourceNonceChallenge, rememberNonce, resourceProof } from '../../client/dpop.ts'
import type { FetchLike } from '../../client/http.ts'
import type { Session } from '../../client/session.ts'
import type { TokenSet } from '../../client/tokens.ts'
import { INITIALIZE, type McpExchange, PROTOCOL_VERSION, postMcp } from './network.ts'

/** Where and how to reach the MCP server. */
export interface McpTarget {
  server: string
  headers: Record<string, string>
  fetch?: FetchLike
}

/** POST one MCP message with the session's token (Bearer, or DPoP with a proof and one nonce retry). */
export async function withToken(
  i: McpTarget,
  session: Session,
  tokens: TokenSet,
  message: { method: string; params?: unknown; id?: number },
  mcpSession?: string,
): Promise<McpExchange> {
  const base = i.fetch ?? globalThis.fetch
  const dpop = tokens.token_type.toLowerCase() === 'dpop' ? session.dpopKey : undefined
  const fetch: FetchLike = async (input, init) => {
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(init?.headers)
      if (dpop) headers.set('dpop', await resourceProof(dpop, 'POST', i.server, tokens.access_token))
      const response = await base(input, { ...init, headers })
      if (!dpop) return response
      rememberNonce(i.server, response)
      if (attempt > 0 || !isResourceNonceChallenge(response)) return response
      await response.body?.cancel().catch(() => {})
    }
  }
  return postMcp(i.server, message, {
    fetch,
    headers: i.headers,
    authorization: `${dpop ? 'DPoP' : 'Bearer'} ${tokens.access_token}`,
    ...(mcpSession ? { sessionId: mcpSession } : {}),
    ...(message.method === 'initialize' ? {} : { protocolVersion: PROTOCOL_VERSION }),
  })
}

/** initialize + notifications/initialized; returns the exchange and the MCP session id. */
export async function connect(i: McpTarget, session: Session, tokens: TokenSet) {
  const init = await withToken(i, session, tokens, INITIALIZE)
  const id = init.headers['mcp-session-id']
  if (init.status === 200) await withToken(i, session, tokens, { method: 'notifications/initialized' }, id)
  return { init, id }
}
