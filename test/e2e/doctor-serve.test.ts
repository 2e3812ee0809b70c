/**
 * `mcp-oauth doctor --login` against a spawned `mcp-oauth serve`, with the sign-in done by a real browser
 * (Debian chromium via playwright-core) on serve's own login and consent pages: everything must be green,
 * including the token, refresh and step-up (admin_report needs the `admin` scope, a second consent).
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { type Browser, chromium, type Page } from 'playwright-core'
import { runDoctorCommand } from '../../src/cli/commands/doctor.ts'
import { type Report, renderReport } from '../../src/cli/doctor/report.ts'
import { chooseAuthorizer } from '../../src/client/interaction/choose.ts'
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, need } from '../support/environment.ts'

const USER = 'doctor'
const PASSWORD = randomBytes(12).toString('base64url')

let serve: ChildProcess | undefined
let mcp: string
let browser: Browser | undefined
let page: Page

before(async () => {
  serve = spawn(
    process.execPath,
    [
      'bin/mcp-oauth.js',
      'serve',
      '--json',
      '--port',
      // 0 in CI; the README's report was made with DOCTOR_SERVE_PORT=8976 (serve's default port).
      process.env['DOCTOR_SERVE_PORT'] ?? '0',
      '--store',
      'memory',
      '--quiet',
      '--user',
      `${USER}:${PASSWORD}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const ready = await new Promise<{ mcp: string }>((resolve, reject) => {
    let out = ''
    let err = ''
    serve!.stderr!.on('data', (b: Buffer) => (err += b.toString()))
    serve!.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line && out.includes('\n')) resolve(JSON.parse(line) as { mcp: string })
    })
    serve!.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)))
  })
  mcp = ready.mcp
  if (chromiumAvailable()) {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
    page = await (await browser.newContext()).newPage()
  }
})

after(async () => {
  await browser?.close()
  serve?.kill('SIGTERM')
})

/** Act as the person on serve's pages: sign in, then allow, until the browser reaches the loopback callback. */
async function signInWithBrowser(url: URL): Promise<void> {
  await page.goto(url.href)
  for (let step = 0; step < 6; step++) {
    if (page.url().startsWith('http://127.0.0.1') && new URL(page.url()).pathname === '/callback') return
    const before = page.url()
    if ((await page.locator('input[name=username]').count()) > 0) {
      await page.fill('input[name=username]', USER)
      await page.fill('input[name=password]', PASSWORD)
      await page.click('button[type=submit]')
    } else if ((await page.locator('button', { hasText: 'Allow' }).count()) > 0) {
      await page.click('button:has-text("Allow")')
    } else {
      throw new Error(`unexpected page ${page.url()}: ${(await page.textContent('body'))?.slice(0, 300)}`)
    }
    await page.waitForURL((u) => u.href !== before)
    await page.waitForLoadState('load')
  }
}

describe('doctor --login against mcp-oauth serve', () => {
  it('reports everything green, with a real browser sign-in and step-up', { timeout: 120_000 }, async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const browserErrors: unknown[] = []
    const flows: Promise<void>[] = []
    const output = new PassThrough()
    let authorizerLog = ''
    output.on('data', (b: Buffer) => (authorizerLog += b.toString()))
    const authorizer = chooseAuthorizer({
      mode: 'browser',
      promptWindowMs: 0,
      output,
      openUrl: (url) => {
        flows.push(signInWithBrowser(url).catch((e: unknown) => void browserErrors.push(e)))
      },
    })
    let out = ''
    let err = ''
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } }
    let code: number
    try {
      code = await runDoctorCommand([mcp, '--login', '--call-tool', 'admin_report', '--json'], io, {
        authorizer,
      })
    } finally {
      await Promise.all(flows)
      await authorizer.close()
    }
    assert.deepEqual(browserErrors, [])
    const report = JSON.parse(out) as Report
    const problems = report.checks.filter((c) => c.status === 'fail' || c.status === 'warn')
    assert.deepEqual(problems, [], renderReport(report))
    assert.equal(code, 0)
    const status = (id: string) => report.checks.find((c) => c.id === id)?.status
    for (const id of [
      'challenge.status',
      'prm.resource',
      'as.issuer',
      'as.pkce',
      'login.sign_in',
      'token.accepted',
      'token.accepted_tools_list',
      'token.audience',
      'refresh.issued',
      'refresh.works',
      'refresh.rotation',
      'stepup.challenge',
      'stepup.retry',
    ]) {
      assert.equal(status(id), 'pass', id)
    }
    assert.ok(flows.length >= 2, 'a sign-in and a step-up consent in the browser')
    const text = out + err + authorizerLog
    assert.doesNotMatch(text, /eyJ[\w-]+\.[\w-]+\.[\w-]+/, 'no JWT printed')
    assert.ok(!text.includes(PASSWORD))
  })

  it('the spawned command, as a person runs it: human report on stdout, sign-in URLs on stderr, exit 0', {
    timeout: 120_000,
  }, async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    // A display and a no-op browser opener: the URL the command prints is what the person (chromium here) opens.
    const child = spawn(
      process.execPath,
      ['bin/mcp-oauth.js', 'doctor', mcp, '--login', '--call-tool', 'admin_report'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, DISPLAY: ':0', BROWSER: 'true' },
        signal: t.signal,
      },
    )
    child.on('error', () => {}) // an abort (test timeout) kills it; 'close' still follows
    let out = ''
    let err = ''
    const seen = new Set<string>()
    const flows: Promise<void>[] = []
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString()
      for (const m of err.matchAll(/open this URL in a browser:\n {2}(\S+)\n/g)) {
        if (seen.has(m[1]!)) continue
        seen.add(m[1]!)
        flows.push(signInWithBrowser(new URL(m[1]!)))
      }
    })
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    await Promise.all(flows)
    assert.equal(code, 0, `${out}\n${err}`)
    assert.ok(flows.length >= 2, 'sign-in and step-up consent')
    assert.match(out, /^mcp-oauth doctor http:\/\/127\.0\.0\.1:\d+\/mcp\n/)
    assert.match(out, /✓ Step-up \(admin_report\): re-authorized with tools:read admin; admin_report → 200/)
    assert.match(out, /\d+ passed, 0 failed, 0 warnings, \d+ notes\n$/)
    assert.doesNotMatch(out + err, /eyJ[\w-]+\.[\w-]+\.[\w-]+/, 'no JWT printed')
    if (process.env['DOCTOR_REPORT_OUT']) writeFileSync(process.env['DOCTOR_REPORT_OUT'], out)
  })
})
