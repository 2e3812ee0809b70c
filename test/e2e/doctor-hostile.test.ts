/**
 * Doctor against servers that misbehave in ways no gallery exhibit covers: no OAuth at all, a malformed challenge,
 * an oversized metadata document, an unreachable port. It must answer with a report, never crash or buffer
 * without bound.
 */
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import type { Report } from '../../src/cli/doctor/report.ts'
import { main } from '../../src/cli/main.ts'

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () => {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

async function doctor(url: string): Promise<{ code: number; report: Report }> {
  let out = ''
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true } }
  const code = await main(['doctor', url, '--json'], io)
  return { code, report: JSON.parse(out) as Report }
}

describe('doctor against hostile or plain servers', () => {
  it('a server without OAuth: a warning and a note, no failure', async () => {
    const s = await serve((req, res) => {
      if (req.url === '/mcp') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"jsonrpc":"2.0","id":1,"result":{}}')
      } else {
        res.writeHead(404)
        res.end()
      }
    })
    try {
      const { code, report } = await doctor(s.url)
      assert.equal(code, 0)
      assert.equal(report.checks.find((c) => c.id === 'challenge.status')?.status, 'warn')
      assert.equal(report.checks.find((c) => c.id === 'discovery')?.status, 'info')
    } finally {
      await s.close()
    }
  })

  it('a malformed WWW-Authenticate header is a failure with the parser’s reason', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="unterminated' })
      res.end()
    })
    try {
      const { code, report } = await doctor(s.url)
      assert.equal(code, 1)
      const c = report.checks.find((x) => x.id === 'challenge.header')
      assert.equal(c?.status, 'fail')
      assert.match(c?.detail ?? '', /unterminated quoted-string/)
    } finally {
      await s.close()
    }
  })

  it('an oversized metadata document is refused, not buffered', async () => {
    let sent = 0
    const s = await serve((req, res) => {
      if (req.url === '/mcp') {
        res.writeHead(401, { 'www-authenticate': 'Bearer scope="a"' })
        return res.end()
      }
      // 8 MiB of JSON-looking bytes without a content-length; the engine stops at 1 MiB.
      res.writeHead(200, { 'content-type': 'application/json' })
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      const push = () => {
        while (sent < 8 * 1024 * 1024) {
          sent += chunk.length
          if (!res.write(chunk)) return void res.once('drain', push)
        }
        res.end()
      }
      res.on('close', () => (sent = Number.POSITIVE_INFINITY))
      push()
    })
    try {
      const { code, report } = await doctor(s.url)
      assert.equal(code, 1)
      const failed = report.checks.filter((c) => c.status === 'fail')
      assert.ok(failed.length > 0)
      assert.match(JSON.stringify(failed), /response_too_large|exceeds/)
    } finally {
      await s.close()
    }
  })

  it('a plain-http public URL is a finding, without a request to it', async () => {
    const { code, report } = await doctor('http://mcp.example.invalid/mcp')
    assert.equal(code, 1)
    assert.deepEqual(
      report.checks.map((c) => [c.id, c.status]),
      [['server.https', 'fail']],
    )
  })

  it('an unreachable server: one failing check naming the cause', async () => {
    const s = await serve(() => {})
    const url = s.url
    await s.close()
    const { code, report } = await doctor(url)
    assert.equal(code, 1)
    assert.equal(report.checks.length, 1)
    assert.equal(report.checks[0]?.id, 'challenge.connect')
    assert.match(report.checks[0]?.detail ?? '', /ECONNREFUSED/)
  })
})
