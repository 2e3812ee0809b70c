/**
 * `mcp-oauth connect` ends cleanly when the host closes stdin or sends SIGTERM, answers what it was already
 * asked first, and keeps stdout for JSON-RPC only.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server'
import { nodeListener } from '../../src/server/index.ts'

const BIN = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))
let server: Server
let url = ''

before(async () => {
  const handler = createMcpHandler(() => new McpServer({ name: 'plain', version: '1.0.0' }))
  server = createServer(nodeListener((r) => handler.fetch(r)))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`
})
after(async () => {
  server.closeAllConnections()
  await new Promise<void>((r) => server.close(() => r()))
})

function start() {
  const child = spawn(process.execPath, [BIN, 'connect', url, '--store', 'memory'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, exited, stdout: () => stdout }
}

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'host', version: '1' } },
}

describe('connect lifecycle', () => {
  it('answers a request sent just before stdin closes, then exits 0; stdout is JSON-RPC only', async () => {
    const p = start()
    p.child.stdin.end(`${JSON.stringify(initialize)}\n`)
    const { code } = await p.exited
    assert.equal(code, 0)
    const lines = p.stdout().trim().split('\n')
    assert.equal(lines.length, 1)
    const reply = JSON.parse(lines[0]!)
    assert.equal(reply.id, 1)
    assert.equal(reply.result.serverInfo.name, 'plain')
  })

  it('exits 0 on SIGTERM', async () => {
    const p = start()
    p.child.stdin.write(`${JSON.stringify(initialize)}\n`)
    while (!p.stdout().includes('"id":1')) await new Promise((r) => setTimeout(r, 20))
    p.child.kill('SIGTERM')
    assert.deepEqual(await p.exited, { code: 0, signal: null })
  })
})
