/**
 * The gateway behind `mcp-oauth serve --proxy`: the resource-server kit checks the token and the per-tool
 * scopes, then the request goes to the upstream without the client's credentials and with the verified
 * identity in headers; the answer streams back as it comes.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/security_best_practices#token-passthrough
 */
import type { ResourceServer } from '../../server/index.ts'
import { redactUrlsIn } from '../../shared/redact.ts'
import { error as rpcError } from '../bridge/protocol.ts'
import { forPrincipal, identityHeaders } from './identity.ts'
import type { Upstream } from './upstream.ts'

/** Options of {@link createGateway}. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export interface GatewayOptions {
  upstream: Upstream
  /** The kit protecting the public endpoint (metadata routes, CORS, challenges, scope policy). */
  resourceServer: ResourceServer
  /** Told about upstream failures (one line, URLs redacted). */
  log?: (line: string) => void
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

/**
 * A fetch-shaped handler for the public MCP endpoint that forwards authorized requests to `upstream`.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
export function createGateway(options: GatewayOptions): (request: Request) => Promise<Response> {
  const { upstream, resourceServer, log = () => {} } = options
  return (request) =>
    resourceServer.handle(request, async (forward, { authInfo }) => {
      const init: RequestInit = {
        method: forward.method,
        headers: identityHeaders(forward.headers, authInfo),
        signal: forward.signal,
      }
      if (forward.method !== 'GET' && forward.method !== 'HEAD' && forward.body)
        init.body = await forward.arrayBuffer()
      let response: Response
      try {
        response = await upstream.fetch(forPrincipal(new Request(forward.url, init), authInfo))
      } catch (error) {
        if (forward.signal.aborted) return new Response(null, { status: 499 })
        log(
          `upstream ${upstream.describe} failed: ${redactUrlsIn(String((error as Error).message ?? error))}`,
        )
        return json(502, rpcError(null, -32603, 'the MCP server behind this gateway cannot be reached'))
      }
      // The upstream's own challenges would send the client to another authorization server, for a token the
      // gateway would then strip: they are the operator's problem, not the client's.
      if (response.status === 401 || response.status === 407) {
        await response.body?.cancel().catch(() => {})
        log(
          `upstream ${upstream.describe} asked for credentials (HTTP ${response.status}); the gateway sends none`,
        )
        return json(502, rpcError(null, -32603, 'the MCP server behind this gateway refused the gateway'))
      }
      if (response.headers.has('www-authenticate')) {
        const headers = new Headers(response.headers)
        headers.delete('www-authenticate')
        return new Response(response.body, {
          status: response.status,
          statusText: response.statusText,
          headers,
        })
      }
      return response
    })
}
