/**
 * Requests as a client pinned to 2026-07-28 sends them through the gateway, and their answers read back, for the
 * tests of the gateway's era translation (`src/cli/gateway/era*.test.ts`).
 */
import { type JsonRpc, META, MODERN } from '../../src/cli/bridge/protocol.ts'
import { forPrincipal } from '../../src/cli/gateway/identity.ts'
import { readEvents } from '../../src/cli/gateway/upstream.ts'
import type { AuthInfo } from '../../src/server/index.ts'

let nextId = 0

/**
 * A request as a client pinned to 2026-07-28 sends it (headers from the body, the `_meta` envelope), marked with
 * the principal of `subject` (default alice) as the gateway marks what it forwards after verifying the token;
 * `auth` changes that token (no subject, an expiry).
 */
export function modern(
  method: string,
  params: Record<string, unknown> = {},
  options: {
    id?: number | null
    subject?: string
    meta?: Record<string, unknown>
    signal?: AbortSignal
    auth?: Partial<AuthInfo>
  } = {},
): Request {
  const meta = {
    [META.protocolVersion]: MODERN,
    [META.clientInfo]: { name: 'pinned', version: '1' },
    [META.clientCapabilities]: {},
    ...options.meta,
  }
  const subject = options.subject ?? 'alice'
  const id = options.id === undefined ? ++nextId : options.id
  const body = { jsonrpc: '2.0', ...(id === null ? {} : { id }), method, params: { ...params, _meta: meta } }
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
    'x-mcp-oauth-subject': subject,
    'x-mcp-oauth-client': 'client-1',
  }
  if (typeof params['name'] === 'string') headers['mcp-name'] = params['name']
  const request = new Request('http://gateway.test/mcp', {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    ...(options.signal ? { signal: options.signal } : {}),
  })
  return forPrincipal(request, {
    token: `token-of-${subject}`,
    clientId: 'client-1',
    scopes: [],
    extra: { subject },
    ...options.auth,
  })
}

/** Every message of a JSON or SSE answer. */
export async function messages(response: Response): Promise<JsonRpc[]> {
  if (!response.headers.get('content-type')?.includes('text/event-stream')) {
    const parsed = (await response.json()) as JsonRpc | JsonRpc[]
    return Array.isArray(parsed) ? parsed : [parsed]
  }
  const out: JsonRpc[] = []
  for await (const e of readEvents(response.body!)) out.push(JSON.parse(e.data) as JsonRpc)
  return out
}
