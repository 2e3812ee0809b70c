/**
 * Cooperation between mcp-oauth processes that need the same fixed callback port: the one listening answers
 * `GET /.mcp-oauth/whoami` and relays callbacks whose `state` another process registered by long-polling
 * `GET /.mcp-oauth/relay?state=…`. Only the process that knows a `state` can ask for its callback.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
// Loaded on use: an ESM import of node:http builds its namespace, which loads undici (slow start-up).
const http = () => process.getBuiltinModule('node:http')

/** Path of the identity probe. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export const WHOAMI_PATH = '/.mcp-oauth/whoami'
/** Path of the relay long-poll. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export const RELAY_PATH = '/.mcp-oauth/relay'
/** Header a relay request must carry; a web page cannot send it without a CORS preflight we never grant. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export const RELAY_HEADER = 'x-mcp-oauth-relay'

/** What a sibling says about itself. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export interface SiblingInfo {
  app: 'mcp-oauth'
  pid: number
  path: string
}

/** One small loopback GET with no connection pooling; resolves status and body, or rejects on error/timeout. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export function loopbackGet(
  host: string,
  port: number,
  path: string,
  options: { timeoutMs: number; headers?: Record<string, string>; signal?: AbortSignal },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http().get(
      {
        host,
        port,
        path,
        agent: false,
        headers: { connection: 'close', ...options.headers },
        timeout: options.timeoutMs,
        signal: options.signal,
      },
      (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.length
          if (size > 64 * 1024) req.destroy(new Error('sibling answer too large'))
          else chunks.push(c)
        })
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        )
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
  })
}

/** Ask whatever listens on `port` whether it is an mcp-oauth callback server (within `timeoutMs`). @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export async function probeSibling(
  host: string,
  port: number,
  timeoutMs = 1000,
): Promise<SiblingInfo | undefined> {
  try {
    const { status, body } = await loopbackGet(host, port, WHOAMI_PATH, { timeoutMs })
    if (status !== 200) return undefined
    const info = JSON.parse(body) as Partial<SiblingInfo>
    if (info.app !== 'mcp-oauth' || typeof info.pid !== 'number' || typeof info.path !== 'string')
      return undefined
    return info as SiblingInfo
  } catch {
    return undefined
  }
}

/** Tell the sibling to keep callbacks for `state` (answered at once), so none is lost before the first long-poll. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export async function registerRelay(host: string, port: number, state: string): Promise<void> {
  const { status } = await loopbackGet(
    host,
    port,
    `${RELAY_PATH}?register=1&state=${encodeURIComponent(state)}`,
    {
      timeoutMs: 2000,
      headers: { [RELAY_HEADER]: '1' },
    },
  )
  if (status !== 204) throw new Error(`sibling answered ${status}`)
}

/** One relay long-poll: the callback URL, `undefined` when the sibling says "nothing yet", or a thrown error when it is gone. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export async function pollRelay(
  host: string,
  port: number,
  state: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  const { status, body } = await loopbackGet(host, port, `${RELAY_PATH}?state=${encodeURIComponent(state)}`, {
    timeoutMs: 60_000,
    headers: { [RELAY_HEADER]: '1' },
    signal,
  })
  if (status === 204) return undefined
  if (status !== 200) throw new Error(`sibling answered ${status}`)
  const { callback } = JSON.parse(body) as { callback?: unknown }
  if (typeof callback !== 'string') throw new Error('sibling sent no callback')
  return callback
}
