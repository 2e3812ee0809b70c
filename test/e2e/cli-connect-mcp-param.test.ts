/**
 * `mcp-oauth connect` in front of a 2026-07-28 server whose tool asks for an `x-mcp-header`: the bridge mirrors the
 * argument into `Mcp-Param-Region` (Base64 when not plain ASCII), leaves a tool with a broken annotation out of
 * `tools/list`, and when the host calls before listing (the server answers HeaderMismatch) it lists the tools
 * itself and retries once. The server is hand-written so the headers on the wire can be checked.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#custom-headers-from-tool-parameters
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))
const VERSION = '2026-07-28'
const TOOLS = [
  {
    name: 'execute_sql',
    inputSchema: {
      type: 'object',
      properties: { region: { type: 'string', 'x-mcp-header': 'Region' }, query: { type: 'string' } },
    },
  },
  {
    name: 'broken',
    inputSchema: {
      type: 'object',
      properties: { list: { type: 'array', items: { type: 'string', 'x-mcp-header': 'Item' } } },
    },
  },
  { name: 'plain', inputSchema: { type: 'object', properties: {} } },
]

let server: Server
let url = ''
const calls: { id: unknown; region: string | undefined }[] = []
const lists: unknown[] = []

function decode(v: string | undefined): string | undefined {
  const m = v === undefined ? null : /^=\?base64\?(.*)\?=$/.exec(v)
  return m ? Buffer.from(m[1]!, 'base64').toString('utf8') : v
}

before(async () => {
  server = createServer(async (req: IncomingMessage, res) => {
    let body = ''
    for await (const c of req) body += c
    const m = JSON.parse(body) as {
      id?: unknown
      method?: string
      params?: { arguments?: { region?: unknown } }
    }
    const json = (o: unknown, status = 200) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(o))
    if (m.id === undefined) return void res.writeHead(202).end()
    if (m.method === 'server/discover') {
      return json({
        jsonrpc: '2.0',
        id: m.id,
        result: {
          supportedVersions: [VERSION],
          capabilities: { tools: {} },
          serverInfo: { name: 'p', version: '1' },
        },
      })
    }
    if (m.method === 'tools/list') {
      lists.push(m.id)
      return json({ jsonrpc: '2.0', id: m.id, result: { tools: TOOLS } })
    }
    if (m.method === 'tools/call') {
      const header = req.headers['mcp-param-region'] as string | undefined
      calls.push({ id: m.id, region: header })
      if (decode(header) !== m.params?.arguments?.region) {
        const error = { code: -32020, message: 'Header mismatch: Mcp-Param-Region' }
        return json({ jsonrpc: '2.0', id: m.id, error }, 400)
      }
      return json({
        jsonrpc: '2.0',
        id: m.id,
        result: { content: [{ type: 'text', text: `region=${decode(header)}` }] },
      })
    }
    json({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found' } })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`
})
after(async () => {
  server.closeAllConnections()
  await new Promise<void>((r) => server.close(() => r()))
})

/** What the host reads back. */
interface Answer {
  id: unknown
  result: { tools: { name: string }[]; content: { text: string }[] }
}

/** A 2026-07-28 host on the bridge's stdio: send a request, get its answer. */
function host(t: { after(f: () => void): void }) {
  const child = spawn(process.execPath, [BIN, 'connect', url, '--store', 'memory'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  t.after(() => void child.kill())
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString()
  })
  let buffer = ''
  const waiting = new Map<unknown, (m: Answer) => void>()
  child.stdout.on('data', (c: Buffer) => {
    buffer += c.toString()
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const m = JSON.parse(buffer.slice(0, i))
      buffer = buffer.slice(i + 1)
      waiting.get(m.id)?.(m)
    }
  })
  const meta = {
    'io.modelcontextprotocol/protocolVersion': VERSION,
    'io.modelcontextprotocol/clientInfo': { name: 'host', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': {},
  }
  let seq = 0
  return {
    stderr: () => stderr,
    request(method: string, params: Record<string, unknown> = {}): Promise<Answer> {
      const id = ++seq
      const answer = new Promise<Answer>((resolve) => waiting.set(id, resolve))
      child.stdin.write(
        `${JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } })}\n`,
      )
      return answer
    },
  }
}

describe('connect and x-mcp-header (2026-07-28)', () => {
  it('mirrors the annotated argument after tools/list, which loses the tool with a broken annotation', async (t) => {
    const h = host(t)
    const listed = await h.request('tools/list')
    assert.deepEqual(
      listed.result.tools.map((tool) => tool.name),
      ['execute_sql', 'plain'],
    )
    // stderr is its own pipe: the warning, written before the answer, may be read after it.
    while (!h.stderr().includes('warning:')) await new Promise((r) => setTimeout(r, 20))
    assert.match(h.stderr(), /warning: left tool "broken" out of tools\/list: x-mcp-header under items/)
    const before = calls.length
    const r = await h.request('tools/call', {
      name: 'execute_sql',
      arguments: { region: 'us-west1', query: 'x' },
    })
    assert.equal(r.result.content[0]!.text, 'region=us-west1')
    assert.deepEqual(
      calls.slice(before).map((c) => c.region),
      ['us-west1'],
      'one request, with the header',
    )
  })

  it('a call before any list: HeaderMismatch, the bridge lists the tools itself and retries once (Base64)', async (t) => {
    const h = host(t)
    const before = calls.length
    const listsBefore = lists.length
    const r = await h.request('tools/call', { name: 'execute_sql', arguments: { region: 'Hello, 世界' } })
    assert.equal(r.result.content[0]!.text, 'region=Hello, 世界')
    assert.deepEqual(
      calls.slice(before).map((c) => c.region),
      [undefined, '=?base64?SGVsbG8sIOS4lueVjA==?='],
    )
    assert.match(String(lists.slice(listsBefore)[0]), /^mcp-oauth-tools-/)
  })
})
