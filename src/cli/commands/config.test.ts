import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { defaultName, HOSTS, run, shellQuote, snippet } from './config.ts'

function capture() {
  const out = { stdout: '', stderr: '' }
  return {
    out,
    io: {
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s) },
    },
  }
}

const URL_ = 'https://mcp.example.com/mcp'
const npx = ['-y', 'mcp-oauth-toolkit', 'connect', URL_]
// biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${ENV} syntax connect expands itself
const HEADER = 'X-Team: ${TEAM}'

describe('mcp-oauth config', () => {
  it('prints each host its own format, launching npx -y mcp-oauth-toolkit connect <url>', async () => {
    const want: Record<string, unknown> = {
      'claude-desktop': { mcpServers: { 'example-com': { command: 'npx', args: npx } } },
      cursor: { mcpServers: { 'example-com': { command: 'npx', args: npx } } },
      vscode: { servers: { 'example-com': { type: 'stdio', command: 'npx', args: npx } } },
      zed: { context_servers: { 'example-com': { command: 'npx', args: npx, env: {} } } },
    }
    for (const host of HOSTS) {
      const { io, out } = capture()
      assert.equal(await run([host, URL_], io), 0)
      if (host === 'claude-code') {
        assert.equal(out.stdout, `claude mcp add example-com -- npx -y mcp-oauth-toolkit connect ${URL_}\n`)
      } else {
        assert.deepEqual(JSON.parse(out.stdout), want[host], host)
      }
      assert.match(out.stderr, /Add this|Run this/)
      assert.match(out.stderr, /npx -y mcp-oauth-toolkit login https:\/\/mcp\.example\.com\/mcp/)
    }
  })

  it('passes session options on to connect, never --json; --name, --package and --windows shape the launch', async () => {
    const { io, out } = capture()
    const code = await run(
      [
        'vscode',
        URL_,
        '--name',
        'work',
        '--package',
        'mcp-oauth-toolkit@0.1.0',
        '--windows',
        '--scope',
        'files:read files:write',
        '--client-id',
        'abc',
        '--header',
        HEADER,
        '--json',
      ],
      io,
    )
    assert.equal(code, 0)
    assert.deepEqual(JSON.parse(out.stdout), {
      servers: {
        work: {
          type: 'stdio',
          command: 'cmd',
          args: [
            '/c',
            'npx',
            '-y',
            'mcp-oauth-toolkit@0.1.0',
            'connect',
            URL_,
            '--scope',
            'files:read files:write',
            '--client-id',
            'abc',
            '--header',
            HEADER,
          ],
        },
      },
    })
  })

  it('quotes arguments for the Claude Code command line', () => {
    assert.equal(shellQuote('https://a.example/mcp?x=1'), "'https://a.example/mcp?x=1'")
    assert.equal(shellQuote("it's"), `'it'\\''s'`)
    assert.equal(shellQuote('--scope'), '--scope')
    assert.equal(
      snippet('claude-code', {
        name: 'n',
        command: 'npx',
        args: ['-y', 'mcp-oauth-toolkit', 'connect', 'u', '--scope', 'a b'],
      }),
      "claude mcp add n -- npx -y mcp-oauth-toolkit connect u --scope 'a b'\n",
    )
  })

  it('derives a server name from the host name', () => {
    assert.equal(defaultName(new URL('https://mcp.linear.app/sse')), 'linear-app')
    assert.equal(defaultName(new URL('http://127.0.0.1:8976/mcp')), '127-0-0-1')
    assert.equal(defaultName(new URL('https://API.Example.COM/')), 'api-example-com')
  })

  it('refuses an unknown host, a bad URL and a missing argument with exit 2 and a hint', async () => {
    for (const args of [
      ['emacs', URL_],
      ['cursor', 'not a url'],
      ['cursor', 'ftp://x/'],
      ['cursor'],
      ['cursor', URL_, '--nope'],
    ]) {
      const { io, out } = capture()
      assert.equal(await run(args, io), 2, args.join(' '))
      assert.equal(out.stdout, '')
      assert.match(out.stderr, /\n {2}next: /)
    }
  })

  it('accepts host aliases', async () => {
    const { io, out } = capture()
    assert.equal(await run(['VS-Code', URL_], io), 0)
    assert.ok('servers' in JSON.parse(out.stdout))
  })
})
