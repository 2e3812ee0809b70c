/**
 * A raw stdio host for `mcp-oauth connect` (no SDK client, so nothing is validated or answered for it): every
 * line the bridge writes, a way to wait for one, and an answer (an error) to any request the bridge passes on,
 * so a server that asks the host something never hangs the test.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/stdio
 */
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Server as V1Server } from '@modelcontextprotocol/sdk/server/index.js'
import { nodeListener } from '../../src/server/index.ts'
import { v1StreamableHandler } from './gateway-upstreams.ts'

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

/**
 * An SDK v1 server (2025 revisions only) on loopback for bridges driven by a raw host, whose hosts are handed back
 * once the session's GET stream is open: pinned to 2026-07-28 (past `server/discover`) or speaking 2025 (past
 * `initialize` and `notifications/initialized`), so what the server sends on that stream has somewhere to go.
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#listening-for-messages-from-the-server
 */
export async function legacyServerForBridges(build: () => V1Server) {
  let openStream = () => {}
  const handler = v1StreamableHandler(build)
  const server = createServer(
    nodeListener(async (request) => {
      const response = await handler.fetch(request)
      if (request.method === 'GET' && response.ok) openStream()
      return response
    }),
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`
  const opening = (t: TestContext) => {
    const streamOpen = new Promise<void>((resolve) => {
      openStream = resolve
    })
    return { host: rawHost(t, url), streamOpen }
  }
  return {
    url,
    async modernHost(t: TestContext, meta: Record<string, unknown> = modernMeta()) {
      const { host, streamOpen } = opening(t)
      host.send({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: meta } })
      await host.next((m) => m.id === 1)
      await streamOpen
      return host
    },
    async legacyHost(t: TestContext, capabilities: Record<string, unknown> = {}) {
      const { host, streamOpen } = opening(t)
      const clientInfo = { name: 'host', version: '1' }
      host.send({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities, clientInfo },
      })
      await host.next((m) => m.id === 1)
      host.send({ jsonrpc: '2.0', method: 'notifications/initialized' })
      await streamOpen
      return host
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
