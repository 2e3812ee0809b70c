/**
 * `npm run demo` as a fresh clone runs it on a machine without a display: it must say it completes the sign-in
 * in headless chromium, go through every step (sign-in, tools, call, step-up, status, sign-out) and never print
 * a token.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { chromiumAvailable, need } from '../support/environment.ts'

const script = new URL('../../scripts/demo.ts', import.meta.url).pathname

test('npm run demo completes every step headless and prints no token', async (t) => {
  if (!need(t, 'chromium', chromiumAvailable())) return
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env['DISPLAY']
  delete env['WAYLAND_DISPLAY']
  delete env['BROWSER']
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.once('exit', (c) => {
      clearTimeout(timer)
      resolve(c)
    })
  })
  const all = `${stdout}\n${stderr}`
  assert.equal(code, 0, all)
  assert.match(
    stderr,
    /no display here to open a browser on: the sign-in will be completed in headless chromium/,
  )
  for (const command of ['login', 'tools', 'call', 'status', 'logout']) {
    assert.match(stdout, new RegExp(`^\\$ mcp-oauth ${command}\\b`, 'm'), `step ${command} shown`)
  }
  assert.match(stdout, /^\$ mcp-oauth call http:\/\/127\.0\.0\.1:\d+\/mcp admin_report$/m)
  assert.match(stderr, /headless chromium: allowing on the consent page/)
  assert.match(
    stderr,
    /demo: all 6 steps completed \(login, tools, call, call, status, logout\); sign-ins: login, step-up/,
  )
  // The status step shows the stepped-up scopes and the in-memory store.
  assert.match(stdout, /Store: memory/)
  assert.match(stdout, /scopes\s+tools:read admin/)
  assert.match(stdout, /"text": "\{\\"notes\\":0\}"/, 'the admin tool answered after the step-up')
  assert.doesNotMatch(all, /eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/, 'no JWT (access token) in the output')
  assert.doesNotMatch(all, /access_token|refresh_token/)
})

test('npm run demo -- --no-browser prints the URLs; opening them in any browser completes the demo', async (t) => {
  if (!need(t, 'chromium', chromiumAvailable())) return
  const { launchChromium, completeSignIn } = await import('../../scripts/consent-page.ts')
  const browser = await launchChromium()
  t.after(() => browser.close())
  const page = await browser.newPage()
  const child = spawn(process.execPath, [script, '--no-browser'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const opened = new Set<string>()
  let browsing: Promise<void> = Promise.resolve()
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
    const user = /sign in as "([^"]+)" \/ "([^"]+)"/.exec(stderr)
    for (const m of stderr.matchAll(/open this URL in a browser:\n\s+(\S+)/g)) {
      if (!user || opened.has(m[1]!)) continue
      opened.add(m[1]!)
      browsing = browsing.then(() => completeSignIn(page, m[1]!, { username: user[1]!, password: user[2]! }))
    }
  })
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.once('exit', (c) => {
      clearTimeout(timer)
      resolve(c)
    })
  })
  await browsing
  assert.equal(code, 0, `${stdout}\n${stderr}`)
  assert.equal(opened.size, 2, 'two pages: the sign-in and the step-up consent')
  assert.match(stderr, /the sign-in URLs will be printed for you to open/)
  assert.match(stderr, /demo: all 6 steps completed/)
})
