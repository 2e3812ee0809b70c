import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import {
  InteractionRequiredError,
  InvalidArgumentError,
  OAuthResponseError,
  TransportError,
} from '../shared/errors.ts'
import { capture } from './commands/fixtures.test-helper.ts'
import { main } from './main.ts'
import { notAnMcpEndpoint, notMcpAnswer } from './mcp-endpoint.ts'
import { browserFromEnv } from './options.ts'
import {
  EXIT_CODES,
  expectPositionals,
  findOAuthError,
  guard,
  probeChallenge,
  showBrowserWait,
} from './session-command.ts'

const MINE = ['login', 'logout', 'status', 'token', 'tools', 'call', 'config']

describe('session command plumbing', () => {
  it('every command answers --help on stdout with its usage and exit codes', async () => {
    for (const name of MINE) {
      const { io, out } = capture()
      assert.equal(await main([name, '--help'], io), 0, name)
      assert.match(out.stdout, new RegExp(`^Usage: mcp-oauth ${name} `), name)
      assert.match(out.stdout, /Exit codes: 0 /, name)
      assert.equal(out.stderr, '')
    }
  })

  it('the top-level help lists the commands', async () => {
    const { io, out } = capture()
    assert.equal(await main(['--help'], io), 0)
    for (const name of MINE) assert.match(out.stdout, new RegExp(`\\n {2}${name}\\s+\\S`))
  })

  it('guard maps errors to exit codes 2, 3 and 1 with the hint on stderr; unknown errors propagate', async () => {
    const cases: Array<[Error, number]> = [
      [new InvalidArgumentError('invalid_usage', 'bad flag', { hint: 'fix the flag' }), EXIT_CODES.usage],
      [new InteractionRequiredError('interaction_required', 'needs a person', { hint: 'log in' }), 3],
      [new TransportError('network_error', 'down', { hint: 'check network' }), 1],
      // The SDK wraps what the transport's fetch throws: the cause chain is searched.
      [
        new Error('Error POSTing', {
          cause: new InteractionRequiredError('sign_in_required', 'no session', { hint: 'run login' }),
        }),
        3,
      ],
    ]
    for (const [error, code] of cases) {
      const { io, out } = capture()
      assert.equal(
        await guard('x', io, async () => {
          throw error
        }),
        code,
      )
      assert.match(out.stderr, /^mcp-oauth x: .+\n {2}next: .+\n$/)
    }
    await assert.rejects(
      guard('x', capture().io, async () => {
        throw new RangeError('plain')
      }),
      RangeError,
    )
  })

  it('findOAuthError walks causes and stops', () => {
    const inner = new OAuthResponseError('invalid_grant', 'expired')
    assert.equal(findOAuthError(new Error('a', { cause: new Error('b', { cause: inner }) })), inner)
    assert.equal(findOAuthError(new Error('a')), undefined)
    const loop: { cause?: unknown } = {}
    loop.cause = loop
    assert.equal(findOAuthError(loop), undefined)
  })

  it('expectPositionals names what is missing and refuses extras', () => {
    assert.throws(() => expectPositionals('call', ['u'], ['url', 'tool']), /missing <tool>/)
    assert.throws(() => expectPositionals('status', ['a', 'b'], [], ['url']), /unexpected argument "b"/)
    expectPositionals('status', [], [], ['url'])
  })

  it('probeChallenge reads scope and resource_metadata from a real 401, sending the --header values', async () => {
    let seen: IncomingHttpHeaders | undefined
    const server = createServer((req, res) => {
      seen = req.headers
      req.resume()
      res.writeHead(401, {
        'www-authenticate':
          'Bearer error="invalid_token", scope="files:read", resource_metadata="https://r.example/.well-known/oauth-protected-resource"',
      })
      res.end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`
      const probe = await probeChallenge(url, { 'x-team': 'blue' })
      assert.deepEqual(probe, {
        status: 401,
        scope: 'files:read',
        resourceMetadataUrl: 'https://r.example/.well-known/oauth-protected-resource',
      })
      assert.equal(seen?.['x-team'], 'blue')
      assert.equal(seen?.['authorization'], undefined)
    } finally {
      server.close()
    }
  })

  it('BROWSER opens sign-in pages with that command: %s is the URL, else it is appended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-browser-env-'))
    try {
      const script = join(dir, 'record.mjs')
      writeFileSync(
        script,
        "import { writeFileSync } from 'node:fs'\nwriteFileSync(process.argv[2], JSON.stringify(process.argv.slice(3)))\n",
      )
      const url = new URL('https://as.example/authorize?state=a b')
      const wait = async (file: string) => {
        for (let i = 0; i < 200 && !existsSync(file); i++) await delay(25)
        return JSON.parse(readFileSync(file, 'utf8')) as string[]
      }
      const appended = join(dir, 'appended.json')
      await browserFromEnv({ BROWSER: `${process.execPath} ${script} ${appended} --new-window` })!(url)
      assert.deepEqual(await wait(appended), ['--new-window', url.href])
      const placed = join(dir, 'placed.json')
      await browserFromEnv({ BROWSER: `${process.execPath} ${script} ${placed} --url=%s --x` })!(url)
      assert.deepEqual(await wait(placed), [`--url=${url.href}`, '--x'])
      assert.equal(browserFromEnv({ BROWSER: '  ' }), undefined)
      assert.equal(browserFromEnv({}), undefined)
      await assert.rejects(browserFromEnv({ BROWSER: join(dir, 'no-such-browser') })!(url))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('showBrowserWait decorates only a browser sign-in on a terminal, passing the result through', async () => {
    const make = (mode: string) => {
      const authorizer = {
        mode,
        authorize: async (url: URL) => new URL(`http://127.0.0.1/callback?from=${url.host}`),
      }
      return { authorizer, cli: { session: { options: { authorizer } }, authorizer } as never }
    }
    const plain = make('browser')
    const before = plain.authorizer.authorize
    showBrowserWait(plain.cli, { write: () => {} })
    assert.equal(plain.authorizer.authorize, before, 'not a terminal: untouched')
    const device = make('device')
    const deviceBefore = device.authorizer.authorize
    showBrowserWait(device.cli, { write: () => {}, isTTY: true })
    assert.equal(device.authorizer.authorize, deviceBefore, 'device codes have their own countdown')
    const tty = make('browser')
    let written = ''
    showBrowserWait(tty.cli, { write: (t: string) => (written += t), isTTY: true })
    assert.notEqual(tty.authorizer.authorize, before)
    const result = await tty.authorizer.authorize(new URL('https://as.example/authorize'))
    assert.equal(result.href, 'http://127.0.0.1/callback?from=as.example')
    assert.ok(written.endsWith('\r\u001b[2K'), 'the waiting line is cleared at the end')
  })
})

describe('notMcpAnswer names answers that show the URL is no MCP endpoint', () => {
  const answer = (status: number, type: string | undefined, body: string | null) =>
    new Response(body, { status, headers: type ? { 'content-type': type } : {} })

  it('404/405, an HTML page, JSON that is not JSON-RPC; not a 401, a JSON-RPC answer, an SSE stream or a 202', async () => {
    assert.equal(await notMcpAnswer(answer(404, 'text/plain', 'Not Found')), 'POST answered 404')
    assert.equal(await notMcpAnswer(answer(405, undefined, null)), 'POST answered 405')
    assert.equal(
      await notMcpAnswer(answer(200, 'text/html; charset=utf-8', '<html></html>')),
      'POST answered 200 with an HTML page',
    )
    assert.equal(
      await notMcpAnswer(answer(200, 'application/json', '{"status":"ok"}')),
      'POST answered 200 with JSON that is not JSON-RPC',
    )
    assert.equal(await notMcpAnswer(answer(401, 'text/html', '<html></html>')), undefined)
    assert.equal(
      await notMcpAnswer(answer(200, 'application/json', '{"jsonrpc":"2.0","id":1,"result":{}}')),
      undefined,
    )
    assert.equal(await notMcpAnswer(answer(200, 'text/event-stream', 'data: {}\n\n')), undefined)
    assert.equal(await notMcpAnswer(answer(202, undefined, null)), undefined)
  })

  it('the error redacts the URL and names doctor', () => {
    const e = notAnMcpEndpoint('https://u:pw@mcp.example/mpc?token=abc', 'POST answered 404')
    assert.equal(e.code, 'not_an_mcp_endpoint')
    assert.equal(e.message, 'https://mcp.example/mpc is not an MCP endpoint: POST answered 404')
    assert.match(e.hint, /mcp-oauth doctor https:\/\/mcp\.example\/mpc`/)
  })
})
