/**
 * A host entry written for mcp-remote 0.15.1 with only the package name changed: `connect <url> <port>
 * --static-oauth-client-info '{"client_id":"mcp-remote"}'` (inline and @file) against an authorization server
 * that has no dynamic registration and knows only that public client, registered for mcp-remote's redirect URI
 * `http://localhost:<port>/oauth/callback`. Signing in through real chromium and a tool call must succeed.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Client } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { useBridgeHost } from '../support/bridge-host.ts'
import { chromiumAvailable, need } from '../support/environment.ts'
import { type ProtectedMcp, startProtectedMcp, USER } from '../support/protected-mcp.ts'
import { personAtBrowser } from '../support/sign-in.ts'
import { freePort } from './authorization-server-helpers.ts'

const host = useBridgeHost()
const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-mcp-remote-args-'))
let server: ProtectedMcp
const ports: number[] = []

before(async () => {
  // Picked at run time: one callback port per case, both registered for the one static client.
  ports.push(await freePort(), await freePort(), await freePort())
  server = await startProtectedMcp('modern', undefined, {
    registration: { mode: 'off' },
    clients: [
      {
        client_id: 'mcp-remote',
        token_endpoint_auth_method: 'none',
        application_type: 'native',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ports.map((p) => `http://localhost:${p}/oauth/callback`),
      },
    ],
  })
})
after(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

function text(result: unknown): string {
  return (result as { content: { text: string }[] }).content[0]?.text ?? ''
}

describe("connect with the seed's mcp-remote argument list", () => {
  it('the authorization server offers no registration: only the pre-registered client can sign in', async () => {
    const metadata = (await (
      await fetch(`${server.issuer}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>
    assert.equal(metadata['registration_endpoint'], undefined)
  })

  for (const [index, form] of (['inline', '@file'] as const).entries()) {
    it(`positional callback port and --static-oauth-client-info ${form}: signs in and calls a tool`, async (t) => {
      if (!need(t, 'chromium', chromiumAvailable())) return
      const port = ports[index]!
      let info = '{"client_id":"mcp-remote"}'
      if (form === '@file') {
        const file = join(dir, 'client-info.json')
        writeFileSync(file, info)
        info = `@${file}`
      }
      const params = host.connectParams(server.mcp)
      // The host's mcp-remote entry after the URL: `<port> --static-oauth-client-info <json>`.
      params.args.splice(
        params.args.indexOf(server.mcp) + 1,
        0,
        String(port),
        '--static-oauth-client-info',
        info,
      )
      const transport = new StdioClientTransport(params)
      const person = personAtBrowser(transport.stderr as never, host.browser(), USER)
      const client = new Client({ name: 'host', version: '1.0.0' })
      try {
        await client.connect(transport)
        const { tools } = await client.listTools()
        assert.ok(tools.some((x) => x.name === 'echo'))
        assert.equal(
          text(await client.callTool({ name: 'echo', arguments: { value: form } })),
          `{"value":"${form}"}`,
        )
        assert.equal(person.signIns, 1, person.stderr)
        const signInUrl = new URL(/open this URL in a browser:\s*\n\s*(\S+)/.exec(person.stderr)![1]!)
        assert.equal(signInUrl.searchParams.get('client_id'), 'mcp-remote')
        assert.equal(signInUrl.searchParams.get('redirect_uri'), `http://localhost:${port}/oauth/callback`)
        assert.doesNotMatch(person.stderr, /ignoring mcp-remote arguments/, 'every argument has its meaning')
      } finally {
        if (process.env['DEBUG_CONNECT']) console.error(person.stderr)
        person.stop()
        await client.close()
      }
    })
  }

  it('--ignore-tool hides matching tools from tools/list and refuses calling them; no-equivalent args are named once', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const params = host.connectParams(server.mcp)
    params.args.splice(
      params.args.indexOf(server.mcp) + 1,
      0,
      String(ports[2]),
      '--static-oauth-client-info',
      '{"client_id":"mcp-remote"}',
      '--ignore-tool',
      'ADMIN*',
      '--ignore-tool',
      'big',
      '--ipv4',
      '--keep-alive',
    )
    const transport = new StdioClientTransport(params)
    const person = personAtBrowser(transport.stderr as never, host.browser(), USER)
    const client = new Client({ name: 'host', version: '1.0.0' })
    try {
      await client.connect(transport)
      const { tools } = await client.listTools()
      assert.deepEqual(
        tools.map((x) => x.name),
        ['echo'],
      )
      await assert.rejects(client.callTool({ name: 'admin_op', arguments: {} }), /admin_op" is not available/)
      assert.equal(text(await client.callTool({ name: 'echo', arguments: { value: 'x' } })), '{"value":"x"}')
      const warnings = person.stderr.split('\n').filter((l) => l.includes('ignoring mcp-remote arguments'))
      assert.equal(warnings.length, 1, person.stderr)
      assert.match(warnings[0]!, /--ipv4; --keep-alive/)
    } finally {
      person.stop()
      await client.close()
    }
  })
})
