/**
 * What a person reads when things go wrong, through real `mcp-oauth` processes and real sockets: the cause of a
 * network failure named (unknown host, refused port, TLS, not an MCP endpoint) for tools, call, login and connect;
 * no credential of a URL echoed; --device-code without a device grant; and, against a spawned `mcp-oauth serve`
 * with sign-ins in Debian chromium, logout saying exactly what was revoked (and the test proving it), the step-up
 * hint giving the command that works, `token --dpop never` giving a Bearer token, status's token_type.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it, type TestContext } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { completeSignIn, launchChromium } from '../../scripts/consent-page.ts'
import { FileStore, storeKey } from '../../src/client/index.ts'
import { type CliRun, watchCli } from '../support/cli-process.ts'
import { CHROMIUM_PATH, chromiumAvailable, need } from '../support/environment.ts'
import {
  freePort,
  type ServeProcess,
  selfSignedCertificate,
  spawnServe,
} from './authorization-server-helpers.ts'

const bin = new URL('../../bin/mcp-oauth.js', import.meta.url).pathname
const docs = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8')
const user = { username: 'alice', password: 'correct horse battery staple' }
const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-msgs-'))

let page: Page | undefined

function cliEnv(browser: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env['DISPLAY']
  delete env['WAYLAND_DISPLAY']
  if (browser) env['BROWSER'] = 'true'
  else delete env['BROWSER']
  return env
}

/** `mcp-oauth …args` with its own store; with `browser`, a printed sign-in URL is completed in chromium. */
function cli(args: string[], o: { browser?: boolean; store?: string; stdin?: string } = {}): Promise<CliRun> {
  const store = ['--store', 'file', '--store-dir', join(dir, o.store ?? 'store')]
  const child = spawn(process.execPath, [bin, ...args, ...store], {
    env: cliEnv(o.browser ?? false),
    stdio: [o.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  })
  const person = page && o.browser ? page : undefined
  const watched = watchCli(child, args, { code: null, stdout: '', stderr: '' } as CliRun, {
    // connect: once the host's request is answered, the host goes away.
    onStdout: (run) => {
      if (o.stdin !== undefined && run.stdout.includes('"id":1')) child.stdin?.end()
    },
    ...(person ? { person: (url: string) => completeSignIn(person, url, user, () => {}) } : {}),
  })
  if (o.stdin !== undefined) child.stdin!.write(o.stdin)
  return watched
}

const initialize = `${JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'host', version: '1' } },
})}\n`

/** Runs each user-facing command against `url`; connect gets an initialize from a host on stdin. */
async function everyCommand(url: string): Promise<Record<string, CliRun>> {
  return {
    tools: await cli(['tools', url]),
    call: await cli(['call', url, 'whoami']),
    login: await cli(['login', url]),
    connect: await cli(['connect', url], { stdin: initialize }),
  }
}

function assertConnectStdoutIsJsonRpc(r: CliRun): void {
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    assert.equal((JSON.parse(line) as { jsonrpc: string }).jsonrpc, '2.0', line)
  }
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `127.0.0.1:${(server.address() as AddressInfo).port}`
}

let html: Server
let htmlHost = ''

before(async () => {
  html = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><title>Welcome</title><p>Our web site</p>')
  })
  htmlHost = await listen(html)
})

after(() => {
  html.close()
})

describe('network failures name their cause in every command', () => {
  it('an unknown host (.invalid, RFC 2606) says the host name was not found', async () => {
    const runs = await everyCommand('https://mcp.typo.invalid/mcp')
    for (const [name, r] of Object.entries(runs)) {
      assert.match(r.stderr, /the host name mcp\.typo\.invalid was not found \((ENOTFOUND|EAI_AGAIN)\)/, name)
      assert.doesNotMatch(r.stderr, /fetch failed/, name)
      if (name !== 'connect') assert.equal(r.code, 1, `${name}: ${r.stderr}`)
    }
    assertConnectStdoutIsJsonRpc(runs['connect']!)
  })

  it('a refused port says the connection was refused on that port', async () => {
    const port = await freePort()
    const runs = await everyCommand(`http://127.0.0.1:${port}/mcp`)
    for (const [name, r] of Object.entries(runs)) {
      assert.match(
        r.stderr,
        new RegExp(`127\\.0\\.0\\.1 refused the connection on port ${port} \\(ECONNREFUSED\\)`),
        name,
      )
      assert.match(r.stderr, /Check the port in the URL/, name)
      if (name !== 'connect') assert.equal(r.code, 1, `${name}: ${r.stderr}`)
    }
    assertConnectStdoutIsJsonRpc(runs['connect']!)
  })

  it('a self-signed certificate is named, with the --ca-file hint', async () => {
    const { key, cert } = await selfSignedCertificate()
    const server = createHttpsServer({ key, cert }, (_req, res) => res.writeHead(404).end())
    const host = await listen(server)
    try {
      const runs = await everyCommand(`https://${host}/mcp`)
      for (const [name, r] of Object.entries(runs)) {
        assert.match(
          r.stderr,
          /TLS failed for https:\/\/127\.0\.0\.1:\d+\/mcp: the certificate is self-signed/,
          name,
        )
        assert.match(r.stderr, /--ca-file FILE/, name)
      }
      assertConnectStdoutIsJsonRpc(runs['connect']!)
    } finally {
      server.close()
    }
  })

  it('a web page answering 200 with HTML is named as not an MCP endpoint', async () => {
    const url = `http://${htmlHost}/mcp`
    const runs = await everyCommand(url)
    for (const [name, r] of Object.entries(runs)) {
      assert.match(
        r.stderr,
        new RegExp(
          `${url.replace(/[./]/g, '\\$&')} is not an MCP endpoint: POST answered 200 with an HTML page`,
        ),
        name,
      )
      assert.match(r.stderr, /Check the URL's path.*mcp-oauth doctor http:\/\//, name)
      if (name !== 'connect') assert.equal(r.code, 1, `${name}: ${r.stderr}`)
    }
    assertConnectStdoutIsJsonRpc(runs['connect']!)
  })
})

describe('credentials in URLs are never echoed', () => {
  it('userinfo and query stay out of stdout and stderr of tools, call, login, connect and status', async () => {
    const port = await freePort()
    for (const url of [
      `http://user:pw@127.0.0.1:${port}/mcp?token=abc`,
      `http://user:pw@${htmlHost}/mcp?token=abc`,
    ]) {
      const runs = { ...(await everyCommand(url)), status: await cli(['status', url]) }
      for (const [name, r] of Object.entries(runs)) {
        const out = r.stdout + r.stderr
        assert.ok(out.length > 0, name)
        for (const secret of ['pw', 'user:', 'token=abc', 'abc'])
          assert.ok(!out.includes(secret), `${name}: ${secret} in ${out}`)
      }
    }
  })
})

let serve: ServeProcess | undefined
let browser: Browser | undefined

describe('against mcp-oauth serve', { concurrency: false }, () => {
  before(async () => {
    serve = await spawnServe([
      '--port',
      '0',
      '--store',
      `sqlite:${join(dir, 'as.db')}`,
      '--quiet',
      '--user',
      `${user.username}:${user.password}`,
    ])
    if (chromiumAvailable()) {
      browser = await launchChromium(CHROMIUM_PATH)
      page = await browser.newPage()
    }
  })
  after(async () => {
    await browser?.close()
    await serve?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  function ready(t: TestContext): string | undefined {
    if (!need(t, 'chromium', chromiumAvailable())) return undefined
    return serve!.ready.mcp
  }

  async function signedIn(args: string[], store: string): Promise<void> {
    const r = await cli(args, { browser: true, store })
    assert.equal(r.code, 0, r.stderr)
  }

  async function postMcp(mcp: string, token: string): Promise<number> {
    const response = await fetch(mcp, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: initialize,
    })
    await response.body?.cancel()
    return response.status
  }

  it('a path typo on a real MCP server is named as not an MCP endpoint (404), connect included', async () => {
    const url = `${serve!.ready.issuer}/mpc`
    const runs = await everyCommand(url)
    for (const [name, r] of Object.entries(runs)) {
      assert.match(r.stderr, /\/mpc is not an MCP endpoint: POST answered 404/, name)
      assert.match(r.stderr, /mcp-oauth doctor /, name)
      if (name !== 'connect') assert.equal(r.code, 1, `${name}: ${r.stderr}`)
    }
    assertConnectStdoutIsJsonRpc(runs['connect']!)
  })

  it('--device-code against an authorization server without the device grant fails clearly (exit 1)', async () => {
    const r = await cli(['login', serve!.ready.mcp, '--device-code'], { store: 'device' })
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /offers no device grant \(its metadata has no device_authorization_endpoint\)/)
    assert.match(r.stderr, /next: Drop --device-code/)
    // The command to run instead: this URL and store, without --device-code.
    assert.ok(
      r.stderr.includes(`run \`mcp-oauth login ${serve!.ready.mcp} --store file --store-dir `),
      r.stderr,
    )
    assert.doesNotMatch(r.stderr, /open this URL|paste/i)
  })

  it('logout says the refresh token was revoked and a signature-only check accepts the JWT until its exp; serve refuses it at once', async (t) => {
    const mcp = ready(t)
    if (!mcp) return
    const store = 'logout'
    await signedIn(['login', mcp, '--dpop', 'never'], store)
    const token = (await cli(['token', mcp, '--dpop', 'never'], { store })).stdout.trim()
    const exp = new Date(
      (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000,
    ).toISOString()
    const fileStore = new FileStore({ dir: join(dir, store), log: () => {} })
    const pointer = await fileStore.get<{ key: string }>(storeKey.current(mcp))
    const stored = (await fileStore.get<{ client_id: string; tokens: { refresh_token: string } }>(
      pointer!.value.key,
    ))!.value
    const r = await cli(['logout', mcp], { store })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /revoked the refresh token \(the grant: no new access tokens\)/)
    assert.match(
      r.stderr,
      new RegExp(`the access token is a self-contained JWT.*accepts it until ${exp.replace(/\./g, '\\.')}`),
    )
    assert.doesNotMatch(r.stderr, /revoked the tokens|revoked the access token/)
    assert.ok(!r.stderr.includes(token))
    // The refresh token is refused; serve's own /mcp also checks the grant, so it refuses the JWT within 5 s.
    const deadline = Date.now() + 5000
    let status = await postMcp(mcp, token)
    while (status !== 401 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      status = await postMcp(mcp, token)
    }
    assert.equal(status, 401)
    const refresh = await fetch(`${serve!.ready.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: stored.tokens.refresh_token,
        client_id: stored.client_id,
      }),
    })
    assert.equal(refresh.status, 400)
    assert.equal(((await refresh.json()) as { error: string }).error, 'invalid_grant')
    // --json says the same.
    await signedIn(['login', mcp, '--dpop', 'never'], store)
    const j = await cli(['logout', mcp, '--json'], { store })
    const o = JSON.parse(j.stdout) as Record<string, unknown>
    assert.equal(o['revoked'], true)
    assert.equal(o['refresh_token_revoked'], true)
    assert.equal(o['access_token_revoked'], false)
    assert.ok(!Number.isNaN(Date.parse(String(o['valid_until']))))
  })

  it("a non-interactive step-up names `login --scope '…'`, and that command makes the call succeed", async (t) => {
    const mcp = ready(t)
    if (!mcp) return
    const store = 'step-up'
    await signedIn(['login', mcp], store)
    const up = await cli(['call', mcp, 'admin_report'], { store })
    assert.equal(up.code, 3, up.stderr)
    // The URL, the flags of this sign-in (here the store) and the scope, shell-quoted.
    const m = /`mcp-oauth login (\S+) --store file --store-dir \S+ --scope '([^']+)'`/.exec(up.stderr)
    assert.ok(m, up.stderr)
    assert.equal(m[1], mcp)
    const asked = m[2]!.split(' ')
    // The granted scope and the challenged one (plus offline_access, which the engine asks for to get a refresh token).
    for (const scope of ['tools:read', 'admin']) assert.ok(asked.includes(scope), m[2])
    const login = await cli(['login', m[1]!, '--scope', m[2]!], { browser: true, store })
    assert.equal(login.code, 0, login.stderr)
    const again = await cli(['call', mcp, 'admin_report'], { store })
    assert.equal(again.code, 0, again.stderr)
  })

  it('token --dpop never gives a token that works as a Bearer header; plain token warns and names that command', async (t) => {
    const mcp = ready(t)
    if (!mcp) return
    const store = 'dpop'
    await signedIn(['login', mcp], store)
    const status = JSON.parse((await cli(['status', mcp, '--json'], { store })).stdout) as {
      sessions: Array<{ token_type: string }>
    }
    // docs/cli.md documents the casing of RFC 9449: "DPoP" and "Bearer".
    assert.equal(status.sessions[0]!.token_type, 'DPoP')
    assert.match(docs, /\| `token_type` \| `Bearer` or `DPoP`/)
    const plain = await cli(['token', mcp], { store })
    assert.equal(plain.code, 0)
    assert.match(plain.stderr, /DPoP-bound.*\n {2}next: .*`mcp-oauth token \S+ --dpop never`/)
    assert.equal(await postMcp(mcp, plain.stdout.trim()), 401, 'a DPoP-bound token is refused as Bearer')
    // Nobody to ask: exit 3, no token, and the command that works.
    const stuck = await cli(['token', mcp, '--dpop', 'never'], { store })
    assert.equal(stuck.code, 3, stuck.stderr)
    assert.equal(stuck.stdout, '')
    assert.ok(stuck.stderr.includes(`next: run \`mcp-oauth login ${mcp} --dpop never\``), stuck.stderr)
    const bearer = await cli(['token', mcp, '--dpop', 'never'], { browser: true, store })
    assert.equal(bearer.code, 0, bearer.stderr)
    assert.equal(await postMcp(mcp, bearer.stdout.trim()), 200)
    const after = JSON.parse((await cli(['status', mcp, '--json'], { store })).stdout) as {
      sessions: Array<{ token_type: string }>
    }
    assert.equal(after.sessions[0]!.token_type, 'Bearer')
  })
})
