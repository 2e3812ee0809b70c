/**
 * A raw stdio host for `mcp-oauth connect` (no SDK client, so nothing is validated or answered for it): every
 * line the bridge writes, a way to wait for one, and an answer (an error) to any request the bridge passes on,
 * so a server that asks the host something never hangs the test.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/stdio
 */
import { spawn } from 'node:child_process'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))

/** One line the bridge wrote to the host. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/stdio */
export type HostLine = {
  id?: number | string
  method?: string
  params?: Record<string, unknown>
  result?: Record<string, unknown>
}

/** Spawn `connect url` with a memory store; the child is killed when the test ends. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/stdio */
export function rawHost(t: TestContext, url: string) {
  const child = spawn(process.execPath, [BIN, 'connect', url, '--store', 'memory'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  t.after(() => void child.kill())
  const lines: HostLine[] = []
  const waiters: { test: (m: HostLine) => boolean; resolve: () => void }[] = []
  const send = (m: unknown) => child.stdin.write(`${JSON.stringify(m)}\n`)
  let buffered = ''
  child.stdout.on('data', (c: Buffer) => {
    buffered += c.toString()
    for (let i = buffered.indexOf('\n'); i !== -1; i = buffered.indexOf('\n')) {
      const m = JSON.parse(buffered.slice(0, i)) as HostLine
      buffered = buffered.slice(i + 1)
      lines.push(m)
      if (m.method !== undefined && m.id !== undefined)
        send({ jsonrpc: '2.0', id: m.id, error: { code: -32000, message: 'answered by the test host' } })
      for (const w of waiters.filter((w) => w.test(m))) w.resolve()
    }
  })
  return {
    lines,
    send,
    next: (test: (m: HostLine) => boolean) =>
      new Promise<void>((resolve) => {
        if (lines.some(test)) resolve()
        else waiters.push({ test, resolve })
      }),
    exited: () => {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
      child.stdin.end()
      return exited
    },
  }
}

/** The `_meta` envelope of a host pinned to 2026-07-28. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/index#meta */
export function modernMeta(capabilities: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientInfo': { name: 'modern-host', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': capabilities,
  }
}
