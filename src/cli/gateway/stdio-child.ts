/**
 * One local MCP server process on stdio: newline-delimited JSON-RPC in and out, stderr to the gateway's log, and
 * a restart policy with backoff. The multiplexing of clients over it lives in stdio-upstream.ts.
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'

/** When a child that exited is started again. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#shutdown */
export type RestartPolicy = 'never' | 'on-failure' | 'always'

/** Options of {@link startStdioChild}. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio */
export interface StdioChildOptions {
  command: string
  args: string[]
  /** Added to (and overriding) the gateway's environment, which loses our own MCP_OAUTH_* variables. */
  env?: Record<string, string>
  cwd?: string
  /** One line of the gateway's log (no newline). */
  log: (line: string) => void
  restart?: RestartPolicy
  /** Longest stdout line accepted (bytes); longer lines are dropped and logged. Default 16 MiB. */
  maxLineBytes?: number
  /** First restart delay in ms (doubles up to maxDelayMs; back to this after 60 s up). */
  initialDelayMs?: number
  maxDelayMs?: number
}

/** Hooks the multiplexer gives the child. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio */
export interface StdioChildHooks {
  /** A JSON-RPC message (object) read from stdout. */
  message(message: Record<string, unknown>): void
  /** A stdout line over the limit was dropped; its first and last bytes tell whose answer it was. */
  overlong(bytes: number, head: string, tail: string): void
  /** The process is running (first start or restart); resolve once it is usable (the handshake). */
  started(generation: number): Promise<void>
  /** The process exited or could not start; `reason` is e.g. "exited with code 1". */
  exited(reason: string): void
}

/** A running (or restarting) child. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio */
export interface StdioChild {
  /** Write one message; waits for the pipe to drain (backpressure). Rejects when the process is not running. */
  write(message: unknown): Promise<void>
  /** Resolves once the current process finished `started`; rejects when it exits first or will not restart. */
  ready(): Promise<void>
  readonly pid: number | undefined
  /** Resolves when the first process is spawned; rejects with the reason when it cannot be (ENOENT, EACCES). */
  readonly spawned: Promise<void>
  close(): Promise<void>
}

const DEFAULT_MAX_LINE = 16 * 1024 * 1024
const STABLE_MS = 60_000
const LOG_LINE_MAX = 2000

/** Our own variables (secrets among them) stay with the gateway unless passed explicitly. */
function childEnvironment(extra: Record<string, string> | undefined): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.toUpperCase().startsWith('MCP_OAUTH_')) env[k] = v
  return { ...env, ...extra }
}

const EDGE = 200

/** Splits a byte stream into lines under a bound; an overlong line is reported, skipped, never buffered whole. */
function lineSplitter(
  max: number,
  line: (text: string) => void,
  overlong: (bytes: number, head: string, tail: string) => void,
) {
  let parts: Buffer[] = []
  let size = 0
  let skipping = false
  let head = ''
  let tail = Buffer.alloc(0)
  return (chunk: Buffer) => {
    let start = 0
    for (;;) {
      const nl = chunk.indexOf(0x0a, start)
      const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl)
      if (!skipping) {
        size += piece.length
        if (size > max) {
          skipping = true
          head = Buffer.concat(parts).subarray(0, EDGE).toString('utf8')
          tail = Buffer.from(piece.subarray(-EDGE))
          parts = []
        } else parts.push(piece)
      } else {
        size += piece.length
        tail = Buffer.concat([tail, piece]).subarray(-EDGE)
      }
      if (nl === -1) return
      if (skipping) overlong(size, head, tail.toString('utf8'))
      else line(Buffer.concat(parts).toString('utf8'))
      parts = []
      size = 0
      skipping = false
      start = nl + 1
    }
  }
}

/** Spawns the child and keeps it running under the policy. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio */
export function startStdioChild(options: StdioChildOptions, hooks: StdioChildHooks): StdioChild {
  const policy = options.restart ?? 'on-failure'
  const maxLine = options.maxLineBytes ?? DEFAULT_MAX_LINE
  const initialDelay = options.initialDelayMs ?? 500
  const maxDelay = options.maxDelayMs ?? 30_000
  const log = (line: string) => options.log(`[upstream] ${line.slice(0, LOG_LINE_MAX)}`)
  let proc: ChildProcessWithoutNullStreams | undefined
  let generation = 0
  let closing = false
  let delay = initialDelay
  let timer: NodeJS.Timeout | undefined
  let writes: Promise<void> = Promise.resolve()
  let ready!: Promise<void>
  let settleReady: { resolve(): void; reject(e: Error): void } | undefined
  const freshReady = () => {
    ready = new Promise<void>((resolve, reject) => (settleReady = { resolve, reject }))
    ready.catch(() => {})
  }
  freshReady()
  let firstSpawn: { resolve(): void; reject(e: Error): void } | undefined
  const spawned = new Promise<void>((resolve, reject) => (firstSpawn = { resolve, reject }))
  spawned.catch(() => {})

  const onLine = (text: string) => {
    const trimmed = text.trim()
    if (!trimmed) return
    let parsed: unknown
    try {
      parsed = JSON.parse(trimmed)
    } catch {
      parsed = undefined
    }
    const messages = Array.isArray(parsed) ? parsed : [parsed]
    for (const m of messages) {
      if (m && typeof m === 'object' && (m as Record<string, unknown>)['jsonrpc'] === '2.0')
        hooks.message(m as Record<string, unknown>)
      else {
        log(`stdout line that is not JSON-RPC (ignored): ${trimmed.slice(0, 200)}`)
        return
      }
    }
  }

  const spawnOnce = () => {
    timer = undefined
    if (closing) return
    const mine = ++generation
    const startedAt = Date.now()
    let child: ChildProcessWithoutNullStreams
    try {
      child = spawn(options.command, options.args, {
        env: childEnvironment(options.env),
        ...(options.cwd ? { cwd: options.cwd } : {}),
        stdio: ['pipe', 'pipe', 'pipe'],
      })
    } catch (error) {
      firstSpawn?.reject(error as Error)
      return void onExit(`could not start: ${(error as Error).message}`, startedAt, true)
    }
    proc = child
    let ended = false
    const end = (reason: string) => {
      if (ended) return
      ended = true
      if (proc === child) proc = undefined
      onExit(reason, startedAt, reason.startsWith('could not start') || reason !== 'exited with code 0')
    }
    child.stdout.on(
      'data',
      lineSplitter(maxLine, onLine, (bytes, head, tail) => {
        log(`stdout line of ${bytes} bytes is over the ${maxLine}-byte limit (dropped)`)
        hooks.overlong(bytes, head, tail)
      }),
    )
    child.stderr.on(
      'data',
      lineSplitter(maxLine, log, (bytes) => log(`(stderr line of ${bytes} bytes dropped)`)),
    )
    child.stdin.on('error', () => {})
    child.once('error', (error) => {
      firstSpawn?.reject(error)
      end(`could not start: ${error.message}`)
    })
    // 'close' comes after stdout ended, so every answer the child wrote is delivered before in-flight ones fail.
    child.once('close', (code, signal) =>
      end(signal ? `was killed by ${signal}` : `exited with code ${code ?? 'unknown'}`),
    )
    child.once('spawn', () => {
      firstSpawn?.resolve()
      firstSpawn = undefined
      if (mine !== generation || closing) return
      hooks.started(mine).then(
        () => {
          if (mine === generation && proc === child) settleReady?.resolve()
        },
        (error: Error) => {
          log(`the handshake failed: ${error.message}`)
          if (proc === child) child.kill('SIGTERM')
        },
      )
    })
  }

  const onExit = (reason: string, startedAt: number, failed: boolean) => {
    if (!closing) log(`process ${reason}`)
    hooks.exited(reason)
    // A first start that failed to spawn is reported by `spawned`, not retried.
    const restart =
      !closing && firstSpawn === undefined && (policy === 'always' || (policy === 'on-failure' && failed))
    const why = new Error(
      closing
        ? 'the gateway is shutting down'
        : `the upstream ${reason}${restart ? '; restarting' : `; not restarted (restart policy ${policy})`}`,
    )
    // Whoever waits for this process learns why it is gone; later callers wait for the next one or get `why`.
    settleReady?.reject(why)
    freshReady()
    if (!restart) return void settleReady?.reject(why)
    if (Date.now() - startedAt >= STABLE_MS) delay = initialDelay
    log(`restarting in ${(delay / 1000).toFixed(1)} s`)
    timer = setTimeout(spawnOnce, delay)
    delay = Math.min(delay * 2, maxDelay)
  }

  spawnOnce()
  return {
    get pid() {
      return proc?.pid
    },
    ready: () => ready,
    spawned,
    write(message) {
      const line = `${JSON.stringify(message)}\n`
      const attempt = writes.then(
        () =>
          new Promise<void>((resolve, reject) => {
            const child = proc
            if (!child?.stdin.writable) return reject(new Error('the upstream is not running'))
            if (child.stdin.write(line)) return resolve()
            const done = () => {
              child.stdin.off('drain', done)
              child.off('exit', done)
              resolve()
            }
            child.stdin.once('drain', done)
            child.once('exit', done)
          }),
      )
      writes = attempt.catch(() => {})
      return attempt
    },
    async close() {
      closing = true
      if (timer) clearTimeout(timer)
      const child = proc
      if (!child) return
      const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
      child.stdin.end()
      child.kill('SIGTERM')
      const force = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(force)
    },
  }
}
