/**
 * A first run on a fresh machine: `HOME` and every `XDG_*` point into a new empty directory, no keychain, no display.
 * `serve` on its default store (SQLite under the data directory), `users add`, a CLI sign-in against it (the login
 * and consent forms posted over plain HTTP, CSRF included), `status` and `logout` all work; every folder mcp-oauth
 * made is 0700 and every file 0600. Once with XDG_* set (to folders that do not exist yet), once with them set but
 * empty, which must count as unset (nothing written into the current directory). And `status` alone writes nothing.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type CliRun, watchCli } from '../support/cli-process.ts'
import { HeadlessAgent } from './authorization-server-helpers.ts'

const bin = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))
const XDG = ['XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME', 'XDG_CACHE_HOME', 'XDG_RUNTIME_DIR']
const roots: string[] = []
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true })
})

interface Machine {
  home: string
  cwd: string
  env: NodeJS.ProcessEnv
}

/** A new empty home; `xdg`: the XDG_* variables point to folders inside it that do not exist yet, or are empty. */
function freshMachine(xdg: 'set' | 'empty'): Machine {
  const root = mkdtempSync(join(tmpdir(), 'mcp-oauth-home-'))
  roots.push(root)
  const home = join(root, 'home')
  const cwd = join(root, 'cwd')
  mkdirSync(home)
  mkdirSync(cwd)
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, BROWSER: 'true' }
  for (const name of Object.keys(env)) if (name.startsWith('XDG_')) delete env[name]
  for (const name of XDG) env[name] = xdg === 'set' ? join(home, 'xdg', name.toLowerCase()) : ''
  // No keychain (this test must never write into a developer's real one), no display, no inherited overrides.
  for (const name of [
    'DBUS_SESSION_BUS_ADDRESS',
    'DISPLAY',
    'WAYLAND_DISPLAY',
    'MCP_OAUTH_DATA_DIR',
    'MCP_OAUTH_STORAGE_KEY',
  ])
    delete env[name]
  return { home, cwd, env }
}

/** Run `mcp-oauth …args` on `machine`; a printed sign-in URL is completed over HTTP as `user`. */
function cli(
  machine: Machine,
  args: string[],
  options: { stdin?: string; user?: { username: string; password: string } } = {},
): Promise<CliRun> {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: machine.cwd,
    env: machine.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const user = options.user
  const watched = watchCli(
    child,
    args,
    { code: null, stdout: '', stderr: '' },
    {
      firstOnly: true,
      ...(user ? { person: (url: string) => completeOverHttp(url, user) } : {}),
    },
  )
  child.stdin.end(options.stdin ?? '')
  return watched
}

/** The person: sign in and allow on serve's forms, then follow the redirect to the CLI's loopback callback. */
async function completeOverHttp(url: string, user: { username: string; password: string }): Promise<void> {
  const redirectUri = new URL(url).searchParams.get('redirect_uri')
  assert.ok(redirectUri, `no redirect_uri in ${url}`)
  const { callback } = await new HeadlessAgent().authorize(url, redirectUri, user)
  const delivered = await fetch(callback)
  await delivered.arrayBuffer()
  assert.equal(delivered.status, 200, 'the CLI accepted the callback')
}

interface Serving {
  child: ChildProcess
  mcp: string
  exited: Promise<number | null>
  stderr: () => string
}

/** `mcp-oauth serve --port 0 --json` on its default store, ready once its JSON line is out. */
async function serve(machine: Machine): Promise<Serving> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--json', '--quiet'], {
    cwd: machine.cwd,
    env: machine.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const ready = await new Promise<{ mcp: string }>((resolve, reject) => {
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as { mcp: string })
    })
    void exited.then((code) => reject(new Error(`serve exited with ${code}: ${err}`)))
  })
  return { child, mcp: ready.mcp, exited, stderr: () => err }
}

/** Every path under `dir` (relative), folders included, sorted. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()
}

/** Everything mcp-oauth created under `home` is private: folders 0700, files 0600. */
function assertPrivate(home: string): void {
  for (const path of tree(home)) {
    const stat = statSync(join(home, path))
    assert.equal(
      stat.mode & 0o777,
      stat.isDirectory() ? 0o700 : 0o600,
      `${path} is ${(stat.mode & 0o777).toString(8)}`,
    )
  }
}

describe('mcp-oauth on a fresh home directory', () => {
  for (const [xdg, order] of [
    ['set', 'serve first'],
    ['empty', 'users add first'],
  ] as const) {
    it(`XDG_* ${xdg}: serve, users add (${order}), login, status, logout; folders 0700, files 0600`, async () => {
      const machine = freshMachine(xdg)
      const dataDir =
        xdg === 'set'
          ? join(machine.home, 'xdg', 'xdg_data_home', 'mcp-oauth')
          : join(machine.home, '.local', 'share', 'mcp-oauth')
      const storeDir =
        xdg === 'set'
          ? join(machine.home, 'xdg', 'xdg_config_home', 'mcp-oauth')
          : join(machine.home, '.config', 'mcp-oauth')
      const user = { username: 'carol', password: randomBytes(12).toString('base64url') }
      const addUser = async () => {
        const added = await cli(machine, ['users', 'add', user.username, '--password-stdin'], {
          stdin: `${user.password}\n`,
        })
        assert.equal(added.code, 0, added.stderr)
        assert.match(added.stderr, /saved carol/)
      }
      if (order === 'users add first') await addUser()
      const server = await serve(machine)
      try {
        if (order === 'serve first') await addUser()
        const login = await cli(machine, ['login', server.mcp], { user })
        assert.equal(login.code, 0, login.stderr)
        assert.match(login.stderr, /no usable OS keychain/)

        const status = await cli(machine, ['status', server.mcp, '--json'])
        assert.equal(status.code, 0, status.stderr)
        const doc = JSON.parse(status.stdout) as { store_dir: string; sessions: { signed_in: boolean }[] }
        assert.equal(doc.store_dir, storeDir)
        assert.equal(doc.sessions[0]?.signed_in, true)
        // While serve runs, its WAL and shared-memory files exist too: they must be private as well.
        assert.ok(tree(dataDir).includes('authorization-server.db-wal'), tree(dataDir).join(' '))
        assertPrivate(machine.home)

        const logout = await cli(machine, ['logout', server.mcp])
        assert.equal(logout.code, 0, logout.stderr)
        const after = await cli(machine, ['status', server.mcp])
        assert.equal(after.code, 3, after.stderr)
        assert.match(after.stdout, /not signed in/)
      } finally {
        server.child.kill('SIGTERM')
        assert.equal(await server.exited, 0, server.stderr())
      }
      // An explicit --store sqlite:PATH into folders that do not exist yet works the same way.
      const nested = join(machine.home, 'elsewhere', 'deeper', 'as.db')
      const explicit = await cli(
        machine,
        ['users', 'add', 'dave', '--password-stdin', '--store', `sqlite:${nested}`],
        {
          stdin: `${user.password}\n`,
        },
      )
      assert.equal(explicit.code, 0, explicit.stderr)
      assert.deepEqual(tree(join(machine.home, 'elsewhere')), ['deeper', 'deeper/as.db', 'deeper/as.db.key'])
      const data = tree(dataDir)
      for (const f of ['authorization-server.db', 'authorization-server.db.key'])
        assert.ok(data.includes(f), f)
      const store = tree(storeDir)
      for (const f of ['store.json', 'store.key', 'entries', 'locks']) assert.ok(store.includes(f), f)
      assertPrivate(machine.home)
      assert.deepEqual(readdirSync(machine.cwd), [], 'nothing written in the current directory')
      assert.deepEqual(
        readdirSync(join(machine.home, '..')).sort(),
        ['cwd', 'home'],
        'nothing written beside the home directory',
      )
    })
  }

  it('status on a fresh home writes nothing and says there are no sessions', async () => {
    for (const xdg of ['set', 'empty'] as const) {
      const machine = freshMachine(xdg)
      const human = await cli(machine, ['status'])
      assert.equal(human.code, 0, human.stderr)
      assert.match(human.stdout, /No sessions stored/)
      const json = await cli(machine, ['status', '--json'])
      assert.equal(json.code, 0, json.stderr)
      assert.deepEqual((JSON.parse(json.stdout) as { sessions: unknown[] }).sessions, [])
      const one = await cli(machine, ['status', 'https://mcp.example.com/mcp'])
      assert.equal(one.code, 3, one.stderr)
      assert.match(one.stdout, /not signed in/)
      assert.deepEqual(tree(machine.home), [], `status created ${tree(machine.home).join(', ')}`)
      assert.deepEqual(readdirSync(machine.cwd), [])
    }
  })
})
