/**
 * A server with a self-signed certificate: `connect` refuses it with a hint naming --ca-file, and works with it.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server'
import { nodeListener } from '../../src/server/index.ts'
import { selfSignedCertificate } from './authorization-server-helpers.ts'

const BIN = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))
let server: Server
let url = ''
const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-tls-'))

before(async () => {
  const { key, cert } = await selfSignedCertificate()
  writeFileSync(join(dir, 'ca.pem'), cert)
  const handler = createMcpHandler(() => {
    const s = new McpServer({ name: 'tls-test', version: '1.0.0' })
    s.registerTool('ping_tool', { description: 'answers pong' }, async () => ({
      content: [{ type: 'text', text: 'pong' }],
    }))
    return s
  })
  server = createServer(
    { key, cert },
    nodeListener((r) => handler.fetch(r)),
  )
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`
})
after(async () => {
  server.closeAllConnections()
  await new Promise<void>((r) => server.close(() => r()))
  rmSync(dir, { recursive: true, force: true })
})

function host(extra: string[]) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'connect', url, '--store', 'memory', ...extra],
    stderr: 'pipe',
  })
  let stderr = ''
  transport.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString()
  })
  return { transport, stderr: () => stderr }
}

describe('connect to a server with a self-signed certificate', () => {
  it('refuses without --ca-file, with a hint naming --ca-file and no stack trace', async () => {
    const { transport, stderr } = host([])
    const client = new Client({ name: 'host', version: '1.0.0' })
    await assert.rejects(
      client.connect(transport),
      (e: Error) => /--ca-file/.test(e.message) || /--ca-file/.test(stderr()),
    )
    await client.close()
    assert.match(stderr(), /self-signed/)
    assert.match(stderr(), /--ca-file/)
    assert.doesNotMatch(stderr(), /^\s+at /m, 'no stack trace')
  })
  it('works with --ca-file', async () => {
    const { transport } = host(['--ca-file', join(dir, 'ca.pem')])
    const client = new Client({ name: 'host', version: '1.0.0' })
    await client.connect(transport)
    const { tools } = await client.listTools()
    assert.deepEqual(
      tools.map((t) => t.name),
      ['ping_tool'],
    )
    await client.close()
  })
})
