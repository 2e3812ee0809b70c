/**
 * Several real processes needing the same fixed callback port (a host starting several bridges for a
 * pre-registered client): none crashes; the first listens, the others find it through `/.mcp-oauth/whoami` and
 * get their own callback relayed; when the listener's process exits, a waiting process takes the port over.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { loopbackAuthorizer } from '../../src/client/interaction/loopback.ts'
import { freePort } from '../../src/client/interaction/testing/authorization-server.test-helper.ts'

const SELF = fileURLToPath(import.meta.url)
const ISSUER = 'https://as.example.test'

if (process.env['SIBLING_WORKER']) {
  const state = process.env['STATE']!
  // The person is sent to the URL (open) only once the flow can receive its callback.
  const authorizer = loopbackAuthorizer({
    port: Number(process.env['PORT']),
    log: () => {},
    timeoutMs: 60_000,
    open: () => {
      process.stdout.write(`WAITING ${authorizer.mode}\n`)
    },
  })
  const redirect = await authorizer.redirectUri()
  const url = new URL(`${ISSUER}/authorize`)
  url.searchParams.set('redirect_uri', redirect)
  const flow = authorizer.authorize(url, {
    state,
    expectedIssuer: ISSUER,
    issParameterSupported: true,
    resource: 'https://mcp.example.test/mcp',
    reason: 'login',
  })
  const callback = await flow
  process.stdout.write(`GOT ${callback.searchParams.get('code')}\n`)
  if (process.env['LINGER'] === '1') await new Promise((r) => process.stdin.once('data', r))
  await authorizer.close()
} else {
  interface Worker {
    child: ChildProcess
    lines: string[]
    next(prefix: string): Promise<string>
    exit: Promise<number | null>
  }

  function start(state: string, port: number, linger = false): Worker {
    const child = spawn(process.execPath, [SELF], {
      env: {
        ...process.env,
        SIBLING_WORKER: '1',
        STATE: state,
        PORT: String(port),
        LINGER: linger ? '1' : '0',
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    const lines: string[] = []
    const waiters: Array<() => void> = []
    createInterface({ input: child.stdout! }).on('line', (l) => {
      lines.push(l)
      for (const w of waiters.splice(0)) w()
    })
    const exit = new Promise<number | null>((r) => child.once('exit', r))
    return {
      child,
      lines,
      exit,
      async next(prefix) {
        for (;;) {
          const found = lines.find((l) => l.startsWith(prefix))
          if (found) return found
          await new Promise<void>((r) => waiters.push(r))
        }
      },
    }
  }

  /** The browser's redirect: a plain GET to the callback, retried while nobody listens (as a reload would). */
  async function redirectBrowser(port: number, state: string, code: string): Promise<string> {
    const url = `http://127.0.0.1:${port}/callback?code=${code}&state=${state}&iss=${encodeURIComponent(ISSUER)}`
    for (let i = 0; ; i++) {
      try {
        const res = await fetch(url, { headers: { connection: 'close' } })
        return await res.text()
      } catch (e) {
        if (i > 100) throw e
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  }

  describe('processes sharing one fixed callback port', () => {
    it('three processes: one listens, two relay through it, all three get their own code', {
      timeout: 60_000,
    }, async () => {
      const port = await freePort()
      const first = start('s1', port, true)
      assert.equal(await first.next('WAITING'), 'WAITING listening')
      const others = [start('s2', port), start('s3', port)]
      for (const w of others) assert.equal(await w.next('WAITING'), 'WAITING relay')
      // The browser of each sign-in lands on the one listener.
      assert.match(await redirectBrowser(port, 's3', 'code-3'), /Another mcp-oauth process/)
      assert.match(await redirectBrowser(port, 's2', 'code-2'), /Another mcp-oauth process/)
      assert.match(await redirectBrowser(port, 's1', 'code-1'), /signed in/i)
      assert.equal(await first.next('GOT'), 'GOT code-1')
      assert.equal(await others[0]!.next('GOT'), 'GOT code-2')
      assert.equal(await others[1]!.next('GOT'), 'GOT code-3')
      first.child.stdin!.end('done\n')
      assert.deepEqual(await Promise.all([first.exit, ...others.map((w) => w.exit)]), [0, 0, 0])
    })

    it('when the listening process dies, a relaying one takes the port over and completes', {
      timeout: 60_000,
    }, async () => {
      const port = await freePort()
      const first = start('a', port, true)
      await first.next('WAITING')
      const second = start('b', port)
      assert.equal(await second.next('WAITING'), 'WAITING relay')
      first.child.kill('SIGKILL')
      await first.exit
      assert.match(await redirectBrowser(port, 'b', 'code-b'), /signed in/i)
      assert.equal(await second.next('GOT'), 'GOT code-b')
      assert.equal(await second.exit, 0)
    })
  })
}
