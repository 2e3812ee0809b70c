/**
 * Two accounts on one server: against a spawned `mcp-oauth serve` with two users, `login --account work` signs in
 * as one and `login --account home` as the other from the same browser (the named account asks the server to
 * authenticate again, so the browser's session for the first user is not reused), `call whoami` with each shows
 * each identity, `status` lists both, and `logout --account work` leaves `home` signed in.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { watchCli } from '../support/cli-process.ts'
import { HeadlessAgent, type ServeProcess, spawnServe } from './authorization-server-helpers.ts'

const bin = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))
const alice = { username: 'alice', password: 'alice passphrase long' }
const bob = { username: 'bob', password: 'bob passphrase longer' }

describe('--account: several sessions with one server', () => {
  let serve: ServeProcess
  let dir: string
  // One browser for both sign-ins: it keeps the authorization server's session cookie of the first user.
  const browser = new HeadlessAgent()
  before(async () => {
    serve = await spawnServe([
      '--port',
      '0',
      '--store',
      'memory',
      '--no-rate-limits',
      '--access-token-ttl',
      '2',
      '--user',
      `${alice.username}:${alice.password}`,
      '--user',
      `${bob.username}:${bob.password}`,
    ])
    dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-accounts-'))
  })
  after(async () => {
    await serve?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** `mcp-oauth …args` with a file store in `dir`; a printed sign-in URL is completed as `person`. */
  function cli(
    args: string[],
    person?: { username: string; password: string },
  ): Promise<{ code: number | null; stdout: string; stderr: string; pages: string[] }> {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir }
    for (const name of ['DISPLAY', 'WAYLAND_DISPLAY', 'BROWSER', 'DBUS_SESSION_BUS_ADDRESS']) delete env[name]
    const child = spawn(
      process.execPath,
      [bin, ...args, '--store', 'file', '--store-dir', join(dir, 'store')],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    const run = { code: null as number | null, stdout: '', stderr: '', pages: [] as string[] }
    return watchCli(child, args, run, {
      firstOnly: true,
      ...(person
        ? {
            person: async (url: string) => {
              run.pages.push(url)
              const redirectUri = new URL(url).searchParams.get('redirect_uri')!
              const { callback, pages } = await browser.authorize(url, redirectUri, person)
              run.pages.push(...pages)
              await (await fetch(callback)).arrayBuffer()
            },
          }
        : {}),
    })
  }

  const subject = async (account: string): Promise<string> => {
    const run = await cli(['call', serve.ready.mcp, 'whoami', '--account', account, '--no-interaction'])
    assert.equal(run.code, 0, run.stderr)
    const result = JSON.parse(run.stdout) as { content: { text: string }[] }
    return String((JSON.parse(result.content[0]!.text) as { subject: unknown }).subject)
  }

  it('signs in work and home as two people and keeps them apart', async () => {
    const work = await cli(['login', serve.ready.mcp, '--account', 'work', '--no-browser'], alice)
    assert.equal(work.code, 0, work.stderr)
    assert.match(new URL(work.pages[0]!).searchParams.get('prompt') ?? '', /\blogin\b/)
    const home = await cli(['login', serve.ready.mcp, '--account', 'home', '--no-browser'], bob)
    assert.equal(home.code, 0, home.stderr)
    assert.ok(
      home.pages.some((html) => html.includes('name="password"')),
      'the second sign-in showed the login form although the browser was signed in as alice',
    )
    // Both access tokens expire: each account's refresh token must still work, although the second login ended
    // the first user's session at the authorization server.
    await new Promise((r) => setTimeout(r, 2500))
    const refreshed = () => serve.stderr().split('"token.refreshed"').length - 1
    const before = refreshed()
    const workSubject = await subject('work')
    const homeSubject = await subject('home')
    assert.equal(refreshed() - before, 2, 'each account refreshed its own expired token')
    assert.notEqual(workSubject, homeSubject)
    assert.match(workSubject, /alice/)
    assert.match(homeSubject, /bob/)

    const status = await cli(['status', '--json'])
    assert.equal(status.code, 0, status.stderr)
    const doc = JSON.parse(status.stdout) as {
      sessions: { server: string; account?: string; signed_in: boolean }[]
    }
    assert.deepEqual(
      doc.sessions.map((s) => [s.account, s.signed_in]),
      [
        ['home', true],
        ['work', true],
      ],
    )
    const text = await cli(['status'])
    assert.match(text.stdout, /\/mcp \(account home\)\n {2}signed in {6}yes/)
    // The default account is a session of its own: none here.
    assert.equal((await cli(['status', serve.ready.mcp])).code, 3)
  })

  it('logout --account work leaves home signed in', async () => {
    const out = await cli(['logout', serve.ready.mcp, '--account', 'work'])
    assert.equal(out.code, 0, out.stderr)
    assert.equal((await cli(['status', serve.ready.mcp, '--account', 'work'])).code, 3)
    assert.equal((await cli(['status', serve.ready.mcp, '--account', 'home'])).code, 0)
    assert.match(await subject('home'), /bob/)
  })

  it('refuses an account name that would not fit a command line', async () => {
    const run = await cli(['status', serve.ready.mcp, '--account', 'work; rm -rf'])
    assert.equal(run.code, 2, run.stderr)
    assert.match(run.stderr, /bad account name/)
  })
})
