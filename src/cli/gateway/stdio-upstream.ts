/**
 * A local stdio MCP server served as Streamable HTTP, so the gateway treats it like any HTTP upstream. One child
 * process has one `initialize` lifetime; many client sessions share it: each client's `initialize` is answered
 * from the child's, and JSON-RPC ids (and progress tokens) are rewritten so answers, progress and cancellations
 * reach the right session. The HTTP side is the official SDK's web-standard server transport, one per session.
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports
 */
import { randomUUID } from 'node:crypto'
import {
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server'
import { readChunksUpTo } from '../../shared/body.ts'
import { InvalidArgumentError } from '../../shared/errors.ts'
import { identityFromHeaders, principalOf } from './identity.ts'
import { type RestartPolicy, type StdioChild, startStdioChild } from './stdio-child.ts'
import type { Upstream } from './upstream.ts'

/** Where the gateway's identity goes in a forwarded request (`_meta` key, reverse-DNS prefix as the spec asks). @see https://modelcontextprotocol.io/specification/2025-11-25/basic/index#meta */
export const IDENTITY_META_KEY = 'io.github.mcp-oauth-toolkit/identity'

/** Options of {@link stdioUpstream}. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio */
export interface StdioUpstreamOptions {
  command: string
  args: string[]
  /** Added to the gateway's environment (which loses MCP_OAUTH_* variables). */
  env?: Record<string, string>
  cwd?: string
  /** One line of the gateway's log (stderr). */
  log: (line: string) => void
  /** Default on-failure. */
  restart?: RestartPolicy
  /** Restart backoff bounds in ms (default 500 doubling to 30 000). */
  restartDelayMs?: { initial: number; max: number }
  /** Largest POST body and stdout line in bytes (default 16 MiB). */
  maxMessageBytes?: number
  /** Sessions kept; past it the least recently used one is ended (its client is told 404). Default 1000. */
  maxSessions?: number
}

type Message = Record<string, unknown>
type Params = Record<string, unknown> & { _meta?: Record<string, unknown> }

interface Session {
  id: string
  /** The principal whose `initialize` opened it (`principalKey`): the only one that may use its id. */
  principal: string
  transport: WebStandardStreamableHTTPServerTransport
  /** Ids of requests the child sent to this client (ours) → the child's ids. */
  outgoing: Map<number, RequestId>
}
interface Pending {
  session: Session
  clientId: RequestId
  clientToken?: string | number
}

const MAX_BODY = 16 * 1024 * 1024
const MAX_SESSIONS = 1000
const HANDSHAKE_MS = 30_000

function jsonError(status: number, code: number, message: string): Response {
  return Response.json({ jsonrpc: '2.0', error: { code, message }, id: null }, { status })
}

/**
 * Spawns the command and serves it as Streamable HTTP on `fetch`; each session belongs to the principal that
 * opened it (`principalOf`), and another principal presenting its id gets 404.
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http
 */
export async function stdioUpstream(options: StdioUpstreamOptions): Promise<Upstream> {
  const maxBytes = options.maxMessageBytes ?? MAX_BODY
  const describe = `stdio ${options.command}`
  const sessions = new Map<string, Session>()
  const pending = new Map<number, Pending>()
  const internal = new Map<number, { resolve(m: Message): void; reject(e: Error): void }>()
  let nextChildId = 0
  let nextOutgoingId = 0
  let initParams: Params | undefined
  let handshake: { generation: number; result: Promise<Message> } | undefined
  let generation = 0
  let closed = false

  const send = (session: Session, message: Message, related?: RequestId) =>
    session.transport
      .send(message as JSONRPCMessage, related === undefined ? undefined : { relatedRequestId: related })
      .catch(() => {})
  const answerError = (session: Session, id: RequestId, code: number, text: string) =>
    send(session, { jsonrpc: '2.0', id, error: { code, message: text } }, id)

  const ask = (method: string, params: Message): Promise<Message> => {
    const id = ++nextChildId
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        internal.delete(id)
        reject(new Error(`no answer to ${method} within ${HANDSHAKE_MS / 1000} s`))
      }, HANDSHAKE_MS)
      internal.set(id, {
        resolve(m) {
          clearTimeout(timer)
          resolve(m)
        },
        reject(e) {
          clearTimeout(timer)
          reject(e)
        },
      })
      child.write({ jsonrpc: '2.0', id, method, params }).catch((e: Error) => {
        internal.delete(id)
        clearTimeout(timer)
        reject(e)
      })
    })
  }

  /** One handshake per child process, with the parameters of the first client's `initialize`. */
  const initialized = (params: Params): Promise<Message> => {
    initParams ??= params
    if (handshake?.generation === generation) return handshake.result
    const result = (async () => {
      const answer = await ask('initialize', initParams!)
      if (answer['error'] || !answer['result'])
        throw new Error(`initialize failed: ${JSON.stringify(answer['error']).slice(0, 300)}`)
      await child.write({ jsonrpc: '2.0', method: 'notifications/initialized' })
      return answer['result'] as Message
    })()
    handshake = { generation, result }
    result.catch(() => {})
    return result
  }

  const fromClient = async (session: Session, message: Message, extra: MessageExtraInfo | undefined) => {
    const method = message['method'] as string | undefined
    const id = message['id'] as RequestId | undefined
    if (method === undefined) {
      // A client's answer to a request the child made.
      const childId = id === undefined ? undefined : session.outgoing.get(id as number)
      if (childId === undefined) return
      session.outgoing.delete(id as number)
      await child.write({ ...message, id: childId }).catch(() => {})
      return
    }
    if (id === undefined) {
      if (method === 'notifications/initialized') return
      if (method === 'notifications/cancelled') {
        const params = (message['params'] ?? {}) as Params
        for (const [childId, p] of pending)
          if (p.session === session && p.clientId === params['requestId']) {
            pending.delete(childId)
            await child.write({ ...message, params: { ...params, requestId: childId } }).catch(() => {})
          }
        return
      }
      await child.write(message).catch(() => {})
      return
    }
    const params = { ...((message['params'] ?? {}) as Params) }
    if (method === 'initialize') {
      try {
        // After the first start (or a restart) finished, so this handshake is that process's only one.
        await child.ready()
        const result = await initialized(params)
        await send(session, { jsonrpc: '2.0', id, result }, id)
      } catch (error) {
        await answerError(session, id, -32603, `the upstream did not initialize: ${(error as Error).message}`)
      }
      return
    }
    if (method === 'ping') return void send(session, { jsonrpc: '2.0', id, result: {} }, id)
    try {
      await child.ready()
      await initialized(initParams ?? {})
    } catch (error) {
      return void answerError(session, id, -32603, (error as Error).message)
    }
    const childId = ++nextChildId
    const meta = { ...params._meta }
    // A client cannot claim an identity: the key is ours, set only from what the gateway verified.
    delete meta[IDENTITY_META_KEY]
    const identity = identityFromHeaders(extra?.request)
    if (identity) meta[IDENTITY_META_KEY] = identity
    const entry: Pending = { session, clientId: id }
    if (meta['progressToken'] !== undefined) {
      entry.clientToken = meta['progressToken'] as string | number
      meta['progressToken'] = childId
    }
    params._meta = meta
    pending.set(childId, entry)
    await child.write({ jsonrpc: '2.0', id: childId, method, params }).catch((error: Error) => {
      if (pending.delete(childId)) void answerError(session, id, -32603, error.message)
    })
  }

  /** The session a server→client request belongs to: the only one with requests in flight, if any. */
  const causeOf = (): { session: Session; related?: RequestId } | undefined => {
    const owners = new Set([...pending.values()].map((p) => p.session))
    if (owners.size !== 1) return undefined
    const [session] = owners as unknown as [Session]
    const mine = [...pending.values()].filter((p) => p.session === session)
    return mine.length === 1 ? { session, related: mine[0]!.clientId } : { session }
  }

  const fromChild = (message: Message) => {
    const method = message['method'] as string | undefined
    const id = message['id'] as RequestId | undefined
    if (method === undefined) {
      const own = internal.get(id as number)
      if (own) {
        internal.delete(id as number)
        return own.resolve(message)
      }
      const p = pending.get(id as number)
      if (!p) return
      pending.delete(id as number)
      return void send(p.session, { ...message, id: p.clientId }, p.clientId)
    }
    const params = (message['params'] ?? {}) as Params
    if (id !== undefined) {
      if (method === 'ping') return void child.write({ jsonrpc: '2.0', id, result: {} }).catch(() => {})
      const cause = causeOf()
      if (!cause || !sessions.has(cause.session.id))
        return void child
          .write({
            jsonrpc: '2.0',
            id,
            error: {
              code: -32603,
              message: `the gateway cannot tell which client ${method} is for (requests from several clients are in flight)`,
            },
          })
          .catch(() => {})
      const ours = ++nextOutgoingId
      cause.session.outgoing.set(ours, id)
      return void send(cause.session, { ...message, id: ours }, cause.related)
    }
    if (method === 'notifications/progress') {
      const p = pending.get(params['progressToken'] as number)
      if (!p || p.clientToken === undefined) return
      return void send(
        p.session,
        { ...message, params: { ...params, progressToken: p.clientToken } },
        p.clientId,
      )
    }
    if (method === 'notifications/cancelled') {
      for (const session of sessions.values())
        for (const [ours, childId] of session.outgoing)
          if (childId === params['requestId']) {
            session.outgoing.delete(ours)
            void send(session, { ...message, params: { ...params, requestId: ours } })
          }
      return
    }
    // list_changed, logging, resource updates: no single target, so every session's GET stream.
    for (const session of sessions.values()) void send(session, message)
  }

  const child: StdioChild = startStdioChild(
    {
      command: options.command,
      args: options.args,
      ...(options.env ? { env: options.env } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
      log: options.log,
      ...(options.restart ? { restart: options.restart } : {}),
      ...(options.restartDelayMs
        ? { initialDelayMs: options.restartDelayMs.initial, maxDelayMs: options.restartDelayMs.max }
        : {}),
      maxLineBytes: maxBytes,
    },
    {
      message: fromChild,
      overlong(bytes, head, tail) {
        // Our ids are integers, so whichever end of the line holds "id" names the request that waits for it.
        const id = Number(
          /"id"\s*:\s*(\d+)\s*}\s*$/.exec(tail)?.[1] ?? /^\s*\{[^{[]*?"id"\s*:\s*(\d+)/.exec(head)?.[1],
        )
        const p = pending.get(id)
        if (!p) return
        pending.delete(id)
        void answerError(
          p.session,
          p.clientId,
          -32603,
          `the upstream's answer was ${bytes} bytes, over the gateway's ${maxBytes}-byte limit`,
        )
      },
      async started(g) {
        generation = g
        // A restarted child is initialized again as the first client asked; sessions carry on over it.
        if (initParams) await initialized(initParams)
      },
      exited(reason) {
        const text = `the upstream ${describe} ${reason}`
        for (const own of internal.values()) own.reject(new Error(text))
        internal.clear()
        for (const p of pending.values()) void answerError(p.session, p.clientId, -32603, text)
        pending.clear()
        for (const session of sessions.values()) session.outgoing.clear()
      },
    },
  )

  // A command that cannot run at all (not found, not executable) is a mistake to report now, not to retry.
  try {
    await child.spawned
  } catch (error) {
    await child.close()
    throw new InvalidArgumentError(
      'upstream_command_failed',
      `cannot start the stdio server "${options.command}": ${(error as Error).message}`,
      { hint: 'check the command after --, e.g. mcp-oauth serve --stdio -- node server.js', cause: error },
    )
  }

  const open = (principal: string): Session => {
    const session = { id: '', principal, outgoing: new Map() } as unknown as Session
    session.transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => {
        session.id = sid
        sessions.set(sid, session)
        // Clients that vanish without DELETE would otherwise keep their transport forever.
        for (const [old, stale] of sessions) {
          if (sessions.size <= (options.maxSessions ?? MAX_SESSIONS)) break
          forget(old)
          void stale.transport.close().catch(() => {})
        }
      },
      onsessionclosed: (sid) => void forget(sid),
      maxRequestBodySize: maxBytes,
    })
    session.transport.onmessage = (message, extra) =>
      void fromClient(session, message as unknown as Message, extra)
    return session
  }
  const forget = (sid: string) => {
    const session = sessions.get(sid)
    if (!session) return
    sessions.delete(sid)
    for (const [childId, p] of pending)
      if (p.session === session) {
        pending.delete(childId)
        void child
          .write({
            jsonrpc: '2.0',
            method: 'notifications/cancelled',
            params: { requestId: childId, reason: 'the client ended its session' },
          })
          .catch(() => {})
      }
  }

  return {
    describe,
    async fetch(request) {
      if (closed) return jsonError(503, -32603, 'the gateway is shutting down')
      // Only requests the gateway forwarded after verifying a token carry a principal; anything else has no
      // owner to bind a session to, so it is refused rather than let share one.
      const principal = principalOf(request)
      if (principal === undefined)
        return jsonError(500, -32603, 'the request was not forwarded by the gateway')
      const sid = request.headers.get('mcp-session-id')
      if (sid) {
        const session = sessions.get(sid)
        // Another principal's id is as unknown as one never issued: its POSTs, GET stream and DELETE are not theirs.
        if (session?.principal !== principal) return jsonError(404, -32001, 'Session not found')
        // Most recently used last, so the cap ends the idlest session.
        sessions.delete(sid)
        sessions.set(sid, session)
        return session.transport.handleRequest(request)
      }
      if (request.method !== 'POST')
        return jsonError(400, -32000, 'Bad Request: Mcp-Session-Id header is required')
      const chunks = await readChunksUpTo(request.body, maxBytes)
      if (!chunks) return jsonError(413, -32000, `the request body is over ${maxBytes} bytes`)
      let body: unknown
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        return jsonError(400, -32700, 'Parse error: Invalid JSON')
      }
      if ((body as Message | null)?.['method'] !== 'initialize')
        return jsonError(400, -32000, 'Bad Request: Mcp-Session-Id header is required')
      return open(principal).transport.handleRequest(request, { parsedBody: body })
    },
    async close() {
      closed = true
      for (const session of sessions.values()) await session.transport.close().catch(() => {})
      sessions.clear()
      await child.close()
    },
  }
}
