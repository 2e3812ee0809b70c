/**
 * `npm run demo` as a fresh clone runs it on a machine without a display, in both ways it can: with a chromium on
 * PATH it completes the sign-ins in headless chromium; with none, its own demo user walks the real login and
 * consent forms over plain HTTP. Either way it says so, goes through every step (sign-in, tools, call, step-up,
 * status, sign-out), exits 0 and never prints a token.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { findChromium } from '../../scripts/consent-page.ts'
import { need } from '../support/environment.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const script = join(root, 'scripts', 'demo.ts')

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Run `command` in the repository until it exits; its whole process group dies if the test times out. */
function run(t: TestContext, command: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const [file, ...args] = command as [string, ...string[]]
  const child = spawn(file, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {}
  }
  t.signal.addEventListener('abort', kill, { once: true })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  return new Promise((resolve) => {
    child.once('close', (code) => {
      t.signal.removeEventListener('abort', kill)
      resolve({ code, stdout, stderr })
    })
  })
}

/** The environment of a machine without a display or a configured browser. */
function headlessEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env['DISPLAY']
  delete env['WAYLAND_DISPLAY']
  delete env['BROWSER']
  return env
}

/** Every step shown and done, the step-up granted, the session shown without a token. */
function assertAllSteps({ stdout, stderr }: Run): void {
  const all = `${stdout}\n${stderr}`
  for (const [i, title] of [
    'Sign in through the consent page',
    'List the tools',
    'Call a tool',
    'Call a tool that needs more scope: 403 insufficient_scope, then step-up consent',
    'Show the session (never a token)',
    'Sign out (revokes at the authorization server)',
  ].entries()) {
    assert.ok(stderr.includes(`── ${i + 1}/6 ${title}\n`), `step ${i + 1} shown`)
  }
  for (const command of ['login', 'tools', 'call', 'status', 'logout']) {
    assert.match(stdout, new RegExp(`^\\$ mcp-oauth ${command}\\b`, 'm'), `step ${command} shown`)
  }
  assert.match(stdout, /^whoami\s+Who is calling/m, 'the tools were listed')
  assert.match(stdout, /\\"subject\\":\\"dev\\"/, 'whoami answered as the demo user')
  assert.match(stdout, /^\$ mcp-oauth call http:\/\/127\.0\.0\.1:\d+\/mcp admin_report$/m)
  assert.match(stdout, /"text": "\{\\"notes\\":0\}"/, 'the admin tool answered after the step-up')
  // The status step shows the stepped-up scopes and the in-memory store.
  assert.match(stdout, /Store: memory/)
  assert.match(stdout, /scopes\s+tools:read admin/)
  assert.match(stderr, /Signed out of http:\/\/127\.0\.0\.1:\d+\/mcp/)
  assert.match(
    stderr,
    /\ndemo: all 6 steps completed \(login, tools, call, call, status, logout\); sign-ins: login, step-up\n/,
  )
  assert.doesNotMatch(all, /eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/, 'no JWT (access token) in the output')
  assert.doesNotMatch(all, /access_token|refresh_token/)
}

/** Where `name` is on this process's PATH (the real file, symlinks resolved). */
function onPath(name: string): string {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    try {
      return realpathSync(join(dir, name))
    } catch {}
  }
  throw new Error(`${name} is not on PATH`)
}

/** The `npm` a person would run, as argv run by this (pinned) Node when it is npm's JavaScript entry point. */
function npmCommand(): string[] {
  const npm = onPath('npm')
  return npm.endsWith('.js') ? [process.execPath, npm] : [npm]
}

test('findChromium searches PATH for executables of the chromium family, not one fixed path', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-chromium-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const [first, second] = [join(dir, 'a'), join(dir, 'b')]
  mkdirSync(first)
  mkdirSync(second)
  writeFileSync(join(first, 'chromium'), '') // not executable: skipped
  mkdirSync(join(first, 'google-chrome')) // a directory: skipped
  writeFileSync(join(second, 'microsoft-edge'), '#!/bin/sh\n', { mode: 0o755 })
  assert.equal(findChromium({ PATH: [first, second].join(delimiter) }), join(second, 'microsoft-edge'))
  writeFileSync(join(second, 'chromium-browser'), '#!/bin/sh\n')
  chmodSync(join(second, 'chromium-browser'), 0o755)
  assert.equal(
    findChromium({ PATH: [first, second].join(delimiter) }),
    join(second, 'chromium-browser'),
    'earlier names win',
  )
  assert.equal(findChromium({ PATH: first }), undefined)
  assert.equal(findChromium({ PATH: 'relative/dir' }), undefined)
  assert.equal(findChromium({}), undefined)
})

/**
 * `npm run demo` as a person runs it, on a PATH with only this Node in it, as `node`, and the `sh` npm runs
 * scripts with: no chromium (Debian's merged /usr puts one in /bin too) and no system Node in front of the pinned
 * one. `npm run` adds node_modules/.bin.
 */
async function npmRunDemoWithoutChromium(t: TestContext, extra: NodeJS.ProcessEnv = {}): Promise<Run> {
  const bin = mkdtempSync(join(tmpdir(), 'mcp-oauth-demo-bin-'))
  const home = mkdtempSync(join(tmpdir(), 'mcp-oauth-demo-home-'))
  t.after(() => {
    rmSync(bin, { recursive: true, force: true })
    rmSync(home, { recursive: true, force: true })
  })
  symlinkSync(process.execPath, join(bin, 'node'))
  symlinkSync(onPath('sh'), join(bin, 'sh'))
  const path = [join(root, 'node_modules', '.bin'), bin].join(delimiter)
  assert.equal(findChromium({ PATH: path }), undefined, 'no chromium reachable on the demo PATH')
  const env = Object.fromEntries(
    Object.entries(headlessEnv()).filter(([name]) => !/^npm_/i.test(name)),
  ) as NodeJS.ProcessEnv
  Object.assign(env, { PATH: bin, HOME: home, npm_config_update_notifier: 'false' }, extra)
  return await run(t, [...npmCommand(), 'run', 'demo'], env)
}

test('npm run demo without a display or chromium on PATH: the plain-HTTP demo user does every step', {
  timeout: 60_000,
}, async (t) => {
  const result = await npmRunDemoWithoutChromium(t)
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`)
  assert.match(
    result.stderr,
    /\ndemo: no display and no chromium on PATH: signing in as the demo user over plain HTTP \(the real login and consent forms\)\n/,
  )
  assert.equal(result.stderr.match(/demo: plain HTTP: signing in as "dev" on the login form/g)?.length, 1)
  assert.equal(
    result.stderr.match(/demo: plain HTTP: allowing on the consent form/g)?.length,
    2,
    'the first consent and the step-up consent',
  )
  assert.doesNotMatch(result.stderr, /chromium: /)
  assertAllSteps(result)
})

test('npm run demo with a display opens pages with $BROWSER; when that fails the demo user takes over', {
  timeout: 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-demo-browser-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const browser = join(dir, 'my browser')
  const seen = join(dir, 'seen')
  writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$@" >> '${seen}'\nexit 3\n`, { mode: 0o755 })
  const result = await npmRunDemoWithoutChromium(t, { DISPLAY: ':99', BROWSER: `'${browser}' --new-window` })
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`)
  assert.match(result.stderr, /\ndemo: sign-in pages open with \$BROWSER\n/)
  assert.match(
    result.stderr,
    /\ndemo: could not open your browser \(BROWSER could not open the page \(.*my browser exited with status 3\)\): the plain-HTTP demo user completes the sign-ins\n/,
  )
  const [flag, url] = readFileSync(seen, 'utf8').split('\n')
  assert.equal(flag, '--new-window')
  assert.match(
    url!,
    /^http:\/\/127\.0\.0\.1:\d+\/auth\?response_type=code&/,
    'the sign-in URL, as one argument',
  )
  assertAllSteps(result)
})

test('npm run demo without a display, chromium on PATH: headless chromium does every step', {
  timeout: 60_000,
}, async (t) => {
  if (!need(t, 'chromium on PATH', findChromium() !== undefined)) return
  const result = await run(t, [process.execPath, script], headlessEnv())
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`)
  assert.match(
    result.stderr,
    /\ndemo: no display here to open a browser on: the sign-in will be completed in headless chromium \(.+\)\n/,
  )
  assert.match(result.stderr, /headless chromium: signing in as "dev"/)
  assert.equal(result.stderr.match(/headless chromium: allowing on the consent page/g)?.length, 2)
  assert.doesNotMatch(result.stderr, /plain HTTP/)
  assertAllSteps(result)
})

test('npm run demo -- --no-browser prints the URLs; opening them in any browser completes the demo', {
  timeout: 60_000,
}, async (t) => {
  if (!need(t, 'chromium on PATH', findChromium() !== undefined)) return
  const { launchChromium, completeSignIn } = await import('../../scripts/consent-page.ts')
  const browser = await launchChromium()
  t.after(() => browser.close())
  const page = await browser.newPage()
  const child = spawn(process.execPath, [script, '--no-browser'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.signal.addEventListener('abort', () => child.kill('SIGKILL'), { once: true })
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
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  await browsing
  assert.equal(code, 0, `${stdout}\n${stderr}`)
  assert.equal(opened.size, 2, 'two pages: the sign-in and the step-up consent')
  assert.match(stderr, /the sign-in URLs will be printed for you to open/)
  assert.match(stderr, /demo: all 6 steps completed/)
})
