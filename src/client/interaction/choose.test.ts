import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { isMcpOAuthError, TransportError } from '../../shared/errors.ts'
import type { AuthorizeContext } from '../authorizer.ts'
import { MemoryStore } from '../stores/store.ts'
import { chooseAuthorizer, loginCommand, pickMode } from './choose.ts'
import { formatRemaining } from './device-code.ts'
import { claimPrompt, isTransientError } from './rate-limit.ts'

const ISSUER = 'https://as.example.com'
const ctx = (state: string): AuthorizeContext => ({
  state,
  expectedIssuer: ISSUER,
  issParameterSupported: false,
  resource: 'https://mcp.example.com/mcp',
  reason: 'login',
})

function sink(isTTY = false) {
  const out = new PassThrough() as PassThrough & { isTTY?: boolean; text: () => string }
  let text = ''
  out.on('data', (c) => {
    text += c
  })
  out.isTTY = isTTY
  out.text = () => text
  return out
}

async function answer(redirect: string, state: string): Promise<number> {
  const res = await fetch(`${redirect}?code=c&state=${state}`, { headers: { connection: 'close' } })
  await res.text()
  return res.status
}

describe('pickMode', () => {
  it('uses the browser where there is a display, the device grant elsewhere', () => {
    assert.equal(pickMode({ env: { DISPLAY: ':0' }, platform: 'linux' }), 'browser')
    assert.equal(pickMode({ env: { WAYLAND_DISPLAY: 'wayland-0' }, platform: 'linux' }), 'browser')
    assert.equal(pickMode({ env: {}, platform: 'darwin' }), 'browser')
    assert.equal(pickMode({ env: {}, platform: 'win32' }), 'browser')
    assert.equal(pickMode({ env: {}, platform: 'linux' }), 'device')
    assert.equal(pickMode({ env: { DISPLAY: ':0' }, platform: 'linux', mode: 'paste' }), 'paste')
  })
})

describe('chooseAuthorizer', () => {
  it('opens at most one unanswered browser tab per session per window, across authorizers sharing a store', async () => {
    const store = new MemoryStore()
    const opened: string[] = []
    const make = () =>
      chooseAuthorizer({
        store,
        env: { DISPLAY: ':0' },
        platform: 'linux',
        output: sink(),
        openUrl: (u) => {
          opened.push(u.href)
        },
      })
    const a = make()
    const b = make()
    try {
      const ra = await a.redirectUri()
      const flowA = a.authorize(new URL(`${ISSUER}/authorize?a`), ctx('A'))
      const rb = await b.redirectUri()
      const flowB = b.authorize(new URL(`${ISSUER}/authorize?b`), ctx('B'))
      await new Promise((r) => setTimeout(r, 50))
      assert.deepEqual(opened, [`${ISSUER}/authorize?a`])
      assert.equal(await answer(ra, 'A'), 200)
      assert.equal(await answer(rb, 'B'), 200)
      await Promise.all([flowA, flowB])
      // A completed sign-in lifts the limit: a deliberate new sign-in opens the browser again.
      const rc = await a.redirectUri()
      const flowC = a.authorize(new URL(`${ISSUER}/authorize?c`), ctx('C'))
      await new Promise((r) => setTimeout(r, 50))
      assert.deepEqual(opened, [`${ISSUER}/authorize?a`, `${ISSUER}/authorize?c`])
      assert.equal(await answer(rc, 'C'), 200)
      await flowC
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('lets exactly one of several simultaneous claims prompt', async () => {
    const store = new MemoryStore()
    const results = await Promise.all(Array.from({ length: 5 }, () => claimPrompt(store, 'r', ISSUER)))
    assert.equal(results.filter((r) => r.allowed).length, 1)
    const later = await claimPrompt(store, 'r', ISSUER, { now: () => Date.now() + 61_000 })
    assert.equal(later.allowed, true)
  })

  it('prefers the device grant without a display and shows the code on the output', async () => {
    const output = sink()
    const a = chooseAuthorizer({ env: {}, platform: 'linux', output, input: sink() })
    try {
      assert.equal(a.mode, 'device')
      assert.equal(a.preferDeviceCode, true)
      await a.showDeviceCode!(
        { user_code: 'WDJB-MJHT', verification_uri: 'https://as.example.com/device', expires_in: 600 },
        {
          expectedIssuer: ISSUER,
          issParameterSupported: true,
          resource: 'https://mcp.example.com/mcp',
          reason: 'login',
        },
      )
      assert.match(output.text(), /WDJB-MJHT/)
      assert.match(output.text(), /https:\/\/as\.example\.com\/device/)
      assert.match(output.text(), /expires in 10:00/)
    } finally {
      await a.close()
    }
  })

  it('without display, terminal or device grant, fails with interaction_required', async () => {
    const a = chooseAuthorizer({ env: {}, platform: 'linux', output: sink(), input: sink(false) })
    try {
      await assert.rejects(a.authorize(new URL(`${ISSUER}/authorize`), ctx('x')), (e) =>
        isMcpOAuthError(e, 'interaction_required'),
      )
    } finally {
      await a.close()
    }
  })

  it('on a headless terminal asks for the pasted URL, refusing one of another sign-in', async () => {
    const input = sink(true)
    const output = sink()
    const a = chooseAuthorizer({ env: {}, platform: 'linux', output, input })
    try {
      const redirect = await a.redirectUri()
      const flow = a.authorize(new URL(`${ISSUER}/authorize`), ctx('good'))
      await new Promise((r) => setTimeout(r, 20))
      input.write(`${redirect}?code=c1&state=bad\n`)
      await new Promise((r) => setTimeout(r, 20))
      input.write(`${redirect}?code=c2&state=good\n`)
      const url = await flow
      assert.equal(url.searchParams.get('code'), 'c2')
      assert.match(output.text(), /belongs to no sign-in in progress/)
      assert.match(output.text(), /Paste the full URL/)
    } finally {
      await a.close()
    }
  })

  it('with --no-browser (paste) and no terminal, prints the URL and waits on the loopback listener', async () => {
    const output = sink()
    const opened: string[] = []
    const a = chooseAuthorizer({
      mode: 'paste',
      env: { DISPLAY: ':0' },
      platform: 'linux',
      output,
      input: sink(false),
      openUrl: (u) => {
        opened.push(u.href)
      },
    })
    try {
      assert.equal(a.preferDeviceCode, undefined)
      const redirect = await a.redirectUri()
      const flow = a.authorize(new URL(`${ISSUER}/authorize?p`), ctx('P'))
      await new Promise((r) => setTimeout(r, 20))
      assert.match(output.text(), /authorize\?p/)
      assert.deepEqual(opened, [], 'no browser was opened')
      assert.equal(await answer(redirect, 'P'), 200)
      assert.equal((await flow).searchParams.get('code'), 'c')
    } finally {
      await a.close()
    }
  })

  it('hand-off: prints the ssh forward for the callback port and takes a paste from a pipe', async () => {
    const input = Object.assign(new PassThrough(), { isTTY: undefined })
    const output = sink()
    const a = chooseAuthorizer({
      mode: 'handoff',
      env: { SSH_CONNECTION: '203.0.113.9 50122 10.0.0.5 22', USER: 'dev' },
      platform: 'linux',
      output,
      input,
    })
    try {
      assert.equal(a.preferDeviceCode, undefined, 'no device grant in hand-off mode')
      const redirect = await a.redirectUri()
      const port = new URL(redirect).port
      const flow = a.authorize(new URL(`${ISSUER}/authorize?h`), ctx('H'))
      await new Promise((r) => setTimeout(r, 20))
      assert.match(output.text(), new RegExp(`ssh -L ${port}:127\\.0\\.0\\.1:${port} -N dev@10\\.0\\.0\\.5`))
      input.write(`${redirect}?code=pasted&state=H\n`)
      assert.equal((await flow).searchParams.get('code'), 'pasted')
    } finally {
      await a.close()
    }
  })

  it("over SSH without a display: the forward line, and a host's pipe (isTTY false) is never read", async () => {
    const input = Object.assign(new PassThrough(), { isTTY: false })
    const output = sink()
    const a = chooseAuthorizer({
      env: { SSH_CONNECTION: '203.0.113.9 50122 10.0.0.5 2200' },
      platform: 'linux',
      output,
      input,
      signInCommand: () => '`mcp-oauth login https://mcp.example.com/mcp`',
    })
    try {
      const redirect = await a.redirectUri()
      const flow = a.authorize(new URL(`${ISSUER}/authorize?s`), ctx('S'))
      await new Promise((r) => setTimeout(r, 20))
      assert.match(output.text(), / -p 2200 -N 10\.0\.0\.5/)
      assert.match(output.text(), /run `mcp-oauth login https:\/\/mcp\.example\.com\/mcp --handoff` here/)
      assert.doesNotMatch(output.text(), /Paste the full URL/)
      assert.equal(await answer(redirect, 'S'), 200)
      assert.equal((await flow).searchParams.get('code'), 'c')
    } finally {
      await a.close()
    }
  })

  it('never prompts when interaction is turned off', async () => {
    const servers = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length
    const before = servers()
    const a = chooseAuthorizer({ mode: 'none', output: sink() })
    await assert.rejects(a.authorize(new URL(`${ISSUER}/authorize`), ctx('x')), (e) =>
      isMcpOAuthError(e, 'interaction_required'),
    )
    // Said before any URL exists, so the engine registers no client for a sign-in that cannot happen.
    assert.ok(isMcpOAuthError(a.refusal(undefined, ctx('x')), 'interaction_required'))
    assert.equal(servers(), before, 'no listener was started')
    await a.close()
  })

  it('once told the command is ending, every mode refuses before the URL and opens nothing', async () => {
    for (const mode of ['browser', 'paste', 'handoff', 'device'] as const) {
      const opened: string[] = []
      const a = chooseAuthorizer({
        mode,
        output: sink(),
        openUrl: async (url) => void opened.push(url.href),
        signInCommand: () => '`app login`',
      })
      assert.equal(a.preferDeviceCode, mode === 'device' ? true : undefined, mode)
      a.stopInteracting()
      // The engine would otherwise start a device flow before asking refusal().
      assert.ok(!a.preferDeviceCode, mode)
      const refused = a.refusal('mcp', ctx('x'))
      assert.ok(isMcpOAuthError(refused, 'interaction_required'), mode)
      assert.match(refused.message, /the command is ending/)
      assert.match(refused.hint ?? '', /app login/)
      await assert.rejects(a.authorize(new URL(`${ISSUER}/authorize`), ctx('x')), (e) =>
        isMcpOAuthError(e, 'interaction_required'),
      )
      assert.deepEqual(opened, [], mode)
      await a.close()
    }
  })

  it('a browser or paste authorizer has nothing to refuse before the URL', async () => {
    for (const mode of ['browser', 'paste', 'handoff'] as const) {
      const a = chooseAuthorizer({ mode, output: sink(), ssh: { host: '10.0.0.5', port: 22 } })
      assert.equal(a.refusal('mcp', ctx('x')), undefined, mode)
      await a.close()
    }
  })
})

describe('helpers', () => {
  it('classifies transient errors and formats countdowns', () => {
    assert.equal(isTransientError(new TransportError('network_error', 'x')), true)
    assert.equal(isTransientError(Object.assign(new Error('x'), { code: 'ECONNRESET' })), true)
    assert.equal(isTransientError(new Error('invalid_grant')), false)
    assert.equal(formatRemaining(61), '1:01')
    assert.equal(formatRemaining(-3), '0:00')
  })
})

describe('the commands the hints name', () => {
  it("step-up: the app's sign-in command with the scope the authorization request asked for", () => {
    const requested = 'tools:read admin'
    const asked: Array<string | undefined> = []
    const command = (scope: string | undefined) => {
      asked.push(scope)
      return `\`app login${scope ? ` --scope '${scope}'` : ''}\``
    }
    const ctx = { reason: 'step-up', resource: 'https://mcp.example' } as const
    assert.equal(loginCommand(requested, ctx, command), "`app login --scope 'tools:read admin'`")
    assert.equal(loginCommand(requested, { ...ctx, reason: 'login' }, command), '`app login`')
    assert.deepEqual(asked, ['tools:read admin', undefined])
  })

  it("without the app's command, names no command for the resource (it may not be the URL the app was given)", () => {
    const said = loginCommand('admin', { reason: 'step-up', resource: 'https://u:pw@mcp.example/?token=abc' })
    assert.doesNotMatch(said, /mcp-oauth login|pw|token=abc/)
    assert.match(said, /https:\/\/mcp\.example with scope "admin"/)
  })

  it('--device-code without a device grant: a typed error naming the issuer and what to run instead', async () => {
    const a = chooseAuthorizer({
      mode: 'device',
      env: {},
      platform: 'linux',
      output: sink(),
      input: sink(true),
      signInCommand: () => '`app login https://mcp.example/mcp --store file`',
    })
    try {
      await assert.rejects(a.authorize(new URL(`${ISSUER}/authorize`), ctx('x')), (e) => {
        assert.ok(isMcpOAuthError(e, 'device_grant_unsupported'))
        assert.match(e.message, /offers no device grant/)
        assert.match(
          e.hint,
          /Drop --device-code: run `app login https:\/\/mcp\.example\/mcp --store file` where/,
        )
        return true
      })
    } finally {
      await a.close()
    }
  })
})
