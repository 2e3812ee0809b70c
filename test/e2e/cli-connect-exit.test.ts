/**
 * `mcp-oauth connect` ending while its token is no longer accepted: the 2025 session's closing DELETE gets a 401,
 * and the bridge must exit without signing in (a browser opening as the host quits, a client registered for
 * nothing). The server is hand-written so the DELETE alone is refused; `$BROWSER` records any page it is asked to
 * open, and a display is claimed so the browser path would be taken.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))

describe('connect at exit', () => {
  it('a 401 on the closing DELETE opens no browser and registers no client; it exits 0', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-exit-'))
    const seen: string[] = []
    let base = ''
    const server = createServer(async (req, res) => {
      let body = ''
      for await (const c of req) body += c
      seen.push(`${req.method} ${req.url}`)
      const json = (o: unknown, status = 200, headers: Record<string, string> = {}) =>
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(o))
      if (req.url === '/.well-known/oauth-protected-resource/mcp') {
        return json({ resource: `${base}/mcp`, authorization_servers: [base], scopes_supported: ['mcp'] })
      }
      if (req.url === '/.well-known/oauth-authorization-server') {
        return json({
          issuer: base,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${base}/token`,
          registration_endpoint: `${base}/register`,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code', 'refresh_token'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['none'],
        })
      }
      if (req.url === '/register') {
        const asked = JSON.parse(body) as Record<string, unknown>
        return json({ ...asked, client_id: 'exit-client', client_id_issued_at: 1 }, 201)
      }
      if (req.url !== '/mcp') return void res.writeHead(404).end()
      if (req.method === 'DELETE') {
        const challenge = `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`
        return void res.writeHead(401, { 'www-authenticate': challenge }).end()
      }
      if (req.method === 'GET') return void res.writeHead(405).end()
      const m = JSON.parse(body) as { id?: number | string; method?: string }
      if (m.method === 'server/discover') {
        return json({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found' } })
      }
      if (m.method === 'initialize') {
        const result = {
          protocolVersion: '2025-11-25',
          capabilities: {},
          serverInfo: { name: 'exit', version: '1' },
        }
        return json({ jsonrpc: '2.0', id: m.id, result }, 200, { 'mcp-session-id': 'session-exit' })
      }
      res.writeHead(202).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const marker = join(dir, 'opened')
    const opener = join(dir, 'opener.sh')
    writeFileSync(opener, `#!/bin/sh\necho "$1" >> "${marker}"\n`, { mode: 0o755 })
    const child = spawn(process.execPath, [BIN, 'connect', `${base}/mcp`, '--store', 'memory'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // Interaction on (an environment that turned it off would make this pass without the fix).
      env: {
        ...process.env,
        BROWSER: opener,
        DISPLAY: ':99',
        XDG_CONFIG_HOME: dir,
        MCP_OAUTH_NO_INTERACTION: '',
      },
    })
    t.after(() => {
      child.kill()
      server.closeAllConnections()
      server.close()
      rmSync(dir, { recursive: true, force: true })
    })
    let stdout = ''
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
    })
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    )
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'host', version: '1' } },
    }
    child.stdin.write(`${JSON.stringify(initialize)}\n`)
    while (!stdout.includes('"id":1')) {
      if (child.exitCode !== null) assert.fail(`connect exited early (${child.exitCode})`)
      await new Promise((r) => setTimeout(r, 20))
    }
    child.stdin.end(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`)
    // A hang guard, not a speed check: a bridge that starts a sign-in here waits for a browser that never comes.
    const ended = await Promise.race([
      exited,
      new Promise<string>((r) => setTimeout(() => r('still running after 60 s'), 60_000).unref()),
    ])
    assert.deepEqual(ended, { code: 0, signal: null })
    assert.ok(seen.includes('DELETE /mcp'), 'the session was ended')
    assert.equal(existsSync(marker), false, 'no browser was opened')
    assert.equal(seen.includes('POST /register'), false, 'no client was registered')
  })
})
