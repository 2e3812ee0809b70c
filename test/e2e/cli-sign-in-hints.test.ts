/**
 * The sign-in command a hint prints, run as printed through a shell: against a server that publishes its origin
 * (not its /mcp URL) as the protected resource, the step-up hint names the /mcp URL the person gave, with the flags
 * that shaped the sign-in (store, pre-registered client, mcp-remote's callback port and path), and that command
 * signs in so the call succeeds. Real `mcp-oauth` processes, real sockets; the person answers the authorization
 * server's login and consent forms over plain HTTP.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { CookieJar, signInOverHttp } from '../../scripts/demo-user.ts'
import { type ProtectedMcp, startProtectedMcp, USER } from '../support/protected-mcp.ts'
import { freePort } from './authorization-server-helpers.ts'

const BIN = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-hints-'))
let server: ProtectedMcp
let port = 0

interface Run {
  code: number | null
  stderr: string
  signIns: number
}

/**
 * Runs `command` (argv, or a shell line starting with `mcp-oauth`) with no display and no terminal; with `person`,
 * each printed sign-in URL is answered over HTTP.
 */
function run(command: string[] | string, person = false): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, MCP_OAUTH_NODE: process.execPath, MCP_OAUTH_BIN: BIN }
  delete env['DISPLAY']
  delete env['WAYLAND_DISPLAY']
  delete env['HTTPS_PROXY']
  delete env['HTTP_PROXY']
  if (person) env['BROWSER'] = 'true'
  else delete env['BROWSER']
  const child =
    typeof command === 'string'
      ? spawn('sh', ['-c', command.replace(/^mcp-oauth /, '"$MCP_OAUTH_NODE" "$MCP_OAUTH_BIN" ')], { env })
      : spawn(process.execPath, [BIN, ...command], { env })
  child.stdin.end()
  const result: Run = { code: null, stderr: '', signIns: 0 }
  const jar = new CookieJar()
  let answered: Promise<void> = Promise.resolve()
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    result.stderr += d
    const urls = [...result.stderr.matchAll(/open this URL in a browser:\s*\n\s*(\S+)/g)]
    while (person && result.signIns < urls.length) {
      const url = new URL(urls[result.signIns++]![1]!)
      answered = answered.then(() => signInOverHttp(url, USER, jar))
    }
  })
  child.stdout.resume()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`hung: ${String(command)}\n${result.stderr}`))
    }, 60_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      result.code = code
      answered.then(
        () => resolve(result),
        (e: Error) => reject(new Error(`sign-in: ${e.message}\n${result.stderr}`)),
      )
    })
  })
}

/** The command a hint on stderr names. */
function hinted(stderr: string): string {
  const m = /run `(mcp-oauth login [^`]+)`/.exec(stderr)
  assert.ok(m, stderr)
  return m[1]!
}

before(async () => {
  port = await freePort()
  server = await startProtectedMcp(
    'modern',
    undefined,
    {
      clients: [
        {
          client_id: 'mcp-remote',
          token_endpoint_auth_method: 'none',
          application_type: 'native',
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          redirect_uris: [`http://localhost:${port}/oauth/callback`],
        },
      ],
    },
    { resourceAtOrigin: true },
  )
})
after(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('the sign-in command in hints, run as printed', () => {
  it('the server publishes its origin as the resource', async () => {
    const prm = (await (await fetch(`${server.issuer}/.well-known/oauth-protected-resource`)).json()) as {
      resource: string
    }
    assert.equal(prm.resource, server.issuer)
  })

  it('step-up: names the /mcp URL and the store flags, and that command makes the call succeed', async () => {
    const store = ['--store', 'file', '--store-dir', join(dir, 'step up')]
    const login = await run(['login', server.mcp, ...store], true)
    assert.equal(login.code, 0, login.stderr)
    const up = await run(['call', server.mcp, 'admin_op', ...store])
    assert.equal(up.code, 3, up.stderr)
    const command = hinted(up.stderr)
    assert.ok(command.startsWith(`mcp-oauth login ${server.mcp} `), command)
    assert.ok(command.includes(` --store file --store-dir '${join(dir, 'step up')}'`), command)
    assert.match(command, / --scope '[^']*\badmin\b[^']*'$/)
    const again = await run(command, true)
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.signIns, 1)
    const call = await run(['call', server.mcp, 'admin_op', ...store])
    assert.equal(call.code, 0, call.stderr)
  })

  it("mcp-remote's argument list: login takes it, and the hint carries the client, callback port, host and path", async () => {
    const args = [
      server.mcp,
      String(port),
      '--static-oauth-client-info',
      '{"client_id":"mcp-remote"}',
      '--store',
      'file',
      '--store-dir',
      join(dir, 'mcp-remote'),
    ]
    // No one to ask: the hint names the command.
    const stuck = await run(['login', ...args])
    assert.equal(stuck.code, 3, stuck.stderr)
    const command = hinted(stuck.stderr)
    assert.ok(command.startsWith(`mcp-oauth login ${server.mcp} `), command)
    for (const part of [
      ` --client-info '{"client_id":"mcp-remote"}'`,
      ` --callback-port ${port}`,
      ' --callback-host localhost',
      ' --callback-path /oauth/callback',
    ])
      assert.ok(command.includes(part), `${part} in ${command}`)
    const printed = await run(command, true)
    assert.equal(printed.code, 0, printed.stderr)
    assert.equal(printed.signIns, 1)
    const signInUrl = new URL(/open this URL in a browser:\s*\n\s*(\S+)/.exec(printed.stderr)![1]!)
    assert.equal(signInUrl.searchParams.get('client_id'), 'mcp-remote')
    assert.equal(signInUrl.searchParams.get('redirect_uri'), `http://localhost:${port}/oauth/callback`)
    // The same argument list signs in directly too, as `connect` reads it.
    const direct = await run(['login', ...args], true)
    assert.equal(direct.code, 0, direct.stderr)
  })
})
