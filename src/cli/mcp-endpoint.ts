/**
 * Telling an MCP endpoint from a URL that is none (a typo in the path, a web page, another API) by its answer to
 * an MCP POST, so every command says "not an MCP endpoint" instead of the SDK's bare "Not Found".
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
import { readLimited } from '../client/http.ts'
import { McpOAuthError, SPEC } from '../shared/errors.ts'
import { redactUrl } from '../shared/redact.ts'

/**
 * The error for a URL whose answer shows it is no MCP endpoint (a typo in the path, a web page, another API).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
export function notAnMcpEndpoint(url: string, problem: string): McpOAuthError {
  const where = redactUrl(url)
  return new McpOAuthError('not_an_mcp_endpoint', `${where} is not an MCP endpoint: ${problem}`, {
    spec: SPEC.mcpHttp,
    hint: `Check the URL's path: it must be the MCP endpoint itself (often ending in /mcp); run \`mcp-oauth doctor ${where}\`.`,
    details: { url: where },
  })
}

/**
 * Why an answer to an MCP POST shows that the URL is no MCP endpoint, or undefined when it may be one: 404/405,
 * an HTML page, or a JSON body that is not JSON-RPC (the body is read from a clone, at most 64 KiB).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#sending-messages-to-the-server
 */
export function notMcpAnswer(response: Response): Promise<string | undefined> {
  return notMcpAnswerOf(response.status, response.headers.get('content-type') ?? '', () =>
    readLimited(response.clone(), 64 * 1024),
  )
}

/**
 * {@link notMcpAnswer} from an answer's parts, whichever HTTP client read it; `body` reads at most 64 KiB.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#sending-messages-to-the-server
 */
export async function notMcpAnswerOf(
  status: number,
  contentType: string,
  body: () => Promise<string>,
): Promise<string | undefined> {
  if (status === 404 || status === 405 || status === 410) return `POST answered ${status}`
  if (status < 200 || status >= 300 || status === 202) return undefined
  const type = contentType.toLowerCase()
  if (type.includes('text/event-stream')) return undefined
  if (type.includes('text/html')) return `POST answered ${status} with an HTML page`
  if (!type.includes('json'))
    return `POST answered ${status} with ${type.split(';')[0] || 'no content type'}, not JSON-RPC`
  const text = await body().catch(() => undefined)
  if (text === undefined) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return `POST answered ${status} with a body that is not JSON`
  }
  const messages = Array.isArray(parsed) ? parsed : [parsed]
  const rpc = messages.every(
    (m) => typeof m === 'object' && m !== null && (m as { jsonrpc?: unknown }).jsonrpc === '2.0',
  )
  return rpc ? undefined : `POST answered ${status} with JSON that is not JSON-RPC`
}
