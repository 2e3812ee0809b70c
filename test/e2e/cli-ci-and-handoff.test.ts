/**
 * Sign-in away from a browser, against one spawned serve. CI mode against a spawned `mcp-oauth serve --access-token-ttl 2`: with `--no-interaction` (or
 * MCP_OAUTH_NO_INTERACTION=1) and no session, `tools` exits 3 at once, prints no sign-in URL and names the
 * `mcp-oauth login` command to run where a browser is; once a person has signed in, the same command refreshes the
 * expired access token and succeeds without asking anyone. The SSH hand-off: `login --handoff` with
 * SSH_CONNECTION set prints the URL and the `ssh -L P:127.0.0.1:P` line for its callback port; the callback arriving
 * on that port (the far end of the forward) completes it, and so does the address pasted on stdin.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type CliRun, watchCli } from '../support/cli-process.ts'
import { HeadlessAgent, type ServeProcess, spawnServe } from './authorization-server-helpers.ts'

const bin = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))
const user = { username: 'ci-user', password: 'a long ci passphrase' }

interface Run extends CliRun {
  ms: number
}

describe('--no-interaction (CI mode)', () => {
  let serve: ServeProcess
  let root: string
  let env: NodeJS.ProcessEnv
  before(async () => {
    serve = await spawnServe([
      '--port',
      '0',
      '--store',
      'memory',
      '--access-token-ttl',
      '2',
      '--no-rate-limits',
      '--user',
      `${user.username}:${user.password}`,
    ])
    root = mkdtempSync(join(tmpdir(), 'mcp-oauth-ci-'))
    mkdirSync(join(root, 'home'))
    // No display, no browser command, no keychain: a CI runner.
    env = { ...process.env, HOME: join(root, 'home'), XDG_CONFIG_HOME: join(root, 'config') }
    for (const name of [
      'DISPLAY',
      'WAYLAND_DISPLAY',
      'BROWSER',
      'DBUS_SESSION_BUS_ADDRESS',
      'MCP_OAUTH_NO_INTERACTION',
    ])
      delete env[name]
  })
  after(async () => {
    await serve?.stop()
    rmSync(root, { recursive: true, force: true })
  })

  const store = () => ['--store', 'file', '--store-dir', join(root, 'store')]

  /**
   * `mcp-oauth …args`; with `signIn`, a printed sign-in URL is completed over HTTP on serve's forms and the
   * browser's final address is delivered to the callback (`deliver`) or pasted on stdin (`paste`).
   */
  function cli(
    args: string[],
    extraEnv: NodeJS.ProcessEnv = {},
    signIn: false | 'deliver' | 'paste' | true = false,
  ): Promise<Run> {
    const started = performance.now()
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...env, ...extraEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const run: Run = { code: null, stdout: '', stderr: '', ms: 0 }
    const watched = watchCli(child, args, run, {
      firstOnly: true,
      onExit: () => {
        run.ms = Math.round(performance.now() - started)
      },
      ...(signIn
        ? {
            person: async (url: string) => {
              const redirectUri = new URL(url).searchParams.get('redirect_uri')!
              const { callback } = await new HeadlessAgent().authorize(url, redirectUri, user)
              if (signIn === 'paste') {
                child.stdin.end(`${callback}\n`)
                return
              }
              const delivered = await fetch(callback)
              await delivered.arrayBuffer()
            },
          }
        : {}),
    })
    if (signIn !== 'paste') child.stdin.end()
    return watched
  }

  it('without a session: exit 3, no sign-in URL, no client registered, the login command to run elsewhere', async (t) => {
    for (const [how, args, extra] of [
      ['--no-interaction', ['tools', serve.ready.mcp, '--no-interaction', ...store()], {}],
      [
        'MCP_OAUTH_NO_INTERACTION=1',
        ['tools', serve.ready.mcp, ...store()],
        { MCP_OAUTH_NO_INTERACTION: '1' },
      ],
      ['login --no-interaction', ['login', serve.ready.mcp, '--no-interaction', ...store()], {}],
    ] as const) {
      const registered = serve.stderr().split('"client.registered"').length
      const run = await cli([...args], extra)
      // Discovery only reads; registering a client would change the authorization server for a refused sign-in.
      assert.equal(
        serve.stderr().split('"client.registered"').length,
        registered,
        `${how}: the authorization server registered a client`,
      )
      t.diagnostic(`${how}: exit ${run.code} after ${run.ms} ms`)
      assert.equal(run.code, 3, `${how}: ${run.stderr}`)
      assert.equal(run.stdout, '')
      assert.doesNotMatch(run.stderr, /open this URL|\/auth\?/, 'no sign-in was started')
      assert.match(run.stderr, /needs a person/)
      assert.match(
        run.stderr,
        /next: .*`mcp-oauth login http:\/\/127\.0\.0\.1:\d+\/mcp --store file --store-dir \S+` where a browser is/,
      )
    }
  })

  it('contradicting flags are a usage error (exit 2)', async () => {
    const run = await cli(['tools', serve.ready.mcp, '--no-interaction', '--device-code', ...store()])
    assert.equal(run.code, 2, run.stderr)
    assert.match(run.stderr, /--device-code asks a person, but --no-interaction says nobody is there/)
  })

  it('with a session: an expired access token is refreshed and the command succeeds', async () => {
    const login = await cli(['login', serve.ready.mcp, '--no-browser', ...store()], {}, true)
    assert.equal(login.code, 0, login.stderr)
    // The audit line the CI-mode test counts is there when a client is registered.
    assert.match(serve.stderr(), /"client\.registered"/)
    const refreshesBefore = serve.stderr().split('"token.refreshed"').length
    // The access token lives 2 s; let it expire.
    await new Promise((r) => setTimeout(r, 2500))
    const run = await cli(['tools', serve.ready.mcp, '--no-interaction', '--json', ...store()])
    assert.equal(run.code, 0, run.stderr)
    const tools = JSON.parse(run.stdout) as { name: string }[]
    assert.ok(tools.some((x) => x.name === 'whoami'))
    assert.doesNotMatch(run.stderr, /open this URL/)
    assert.ok(
      serve.stderr().split('"token.refreshed"').length > refreshesBefore,
      'the authorization server issued a refreshed token',
    )
  })

  const ssh = { SSH_CONNECTION: '203.0.113.9 50122 10.0.0.5 22', USER: 'dev' }

  it('login --handoff over SSH: the URL, the ssh -L line for its callback port, finished through that port', async () => {
    const dir = ['--store', 'file', '--store-dir', join(root, 'handoff')]
    const run = await cli(['login', serve.ready.mcp, '--handoff', ...dir], ssh, 'deliver')
    assert.equal(run.code, 0, run.stderr)
    const url = /open this URL in a browser:\n\s+(\S+)/.exec(run.stderr)?.[1]
    assert.ok(url, run.stderr)
    const port = new URL(new URL(url).searchParams.get('redirect_uri')!).port
    assert.match(
      run.stderr,
      new RegExp(`\\n  ssh -L ${port}:127\\.0\\.0\\.1:${port} -N dev@10\\.0\\.0\\.5\\n`),
    )
    assert.match(run.stderr, /Signed in\./)
  })

  it('login --handoff: the address pasted on stdin when no forward is possible', async () => {
    const dir = ['--store', 'file', '--store-dir', join(root, 'pasted')]
    const run = await cli(['login', serve.ready.mcp, '--handoff', ...dir], ssh, 'paste')
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, /Paste the full URL/)
    assert.match(run.stderr, /Signed in\./)
    const tools = await cli(['tools', serve.ready.mcp, '--no-interaction', ...dir])
    assert.equal(tools.code, 0, tools.stderr)
    assert.match(tools.stdout, /whoami/)
  })
})
