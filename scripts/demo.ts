/**
 * `npm run demo`: the whole story in one command. Starts `mcp-oauth serve` (an authorization server and a
 * protected demo MCP server on loopback), signs in through its real consent page, lists the tools, calls one,
 * calls a tool that needs more scope (step-up: the server answers 403 insufficient_scope and you consent to
 * the extra scope), shows `mcp-oauth status`, then signs out.
 *
 * It works on any machine, and says on stderr which way the sign-ins go:
 * - with a display (or `$BROWSER` set, as the CLI honours it), in your browser: you sign in as the printed
 *   development user;
 * - without one, in headless chromium (playwright-core) when a chromium-family browser is on PATH;
 * - with neither, the demo plays its own user over plain HTTP: the same login and consent forms, CSRF tokens and
 *   cookies included (scripts/demo-user.ts).
 * Sessions live in memory, so the demo never touches your real token store.
 *
 *   npm run demo                 # as above
 *   npm run demo -- --headless   # always headless chromium (fails when none is on PATH)
 *   npm run demo -- --http       # always the plain-HTTP demo user
 *   npm run demo -- --no-browser # only print the URLs; you open them (any browser on this machine)
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Browser, Page } from 'playwright-core'
import type { CliIo } from '../src/cli/main.ts'
import {
  type AuthorizeContext,
  type Authorizer,
  chooseAuthorizer,
  hasDisplay,
  MemoryStore,
  openBrowser,
} from '../src/client/index.ts'
import { completeSignIn, findChromium, launchChromium } from './consent-page.ts'
import { CookieJar, signInOverHttp } from './demo-user.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'bin', 'mcp-oauth.js')

/** How the sign-in pages are answered: your browser, headless chromium, the plain-HTTP demo user, or you by hand. */
type Mode = 'browser' | 'chromium' | 'http' | 'url'

interface Served {
  mcp: string
  username: string
  password: string
  child: ChildProcess
}

/** Start `mcp-oauth serve --port 0 --store memory --json` and read its address and development user. */
async function startServe(): Promise<Served> {
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--port', '0', '--store', 'memory', '--json', '--quiet'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d
  })
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')))
    })
    child.once('exit', (code) => reject(new Error(`mcp-oauth serve exited (${code}):\n${err}`)))
  })
  const info = JSON.parse(line) as { mcp: string }
  const user = /development user "([^"]+)" with password "([^"]+)"/.exec(err)
  if (!user) throw new Error(`mcp-oauth serve printed no development user:\n${err}`)
  return { mcp: info.mcp, username: user[1]!, password: user[2]!, child }
}

/** The mode for this machine and the flags, with the line that tells the person why. */
function pickMode(flags: { headless?: boolean; http?: boolean; 'no-browser'?: boolean }): {
  mode: Mode
  chromium?: string
  why: string
} {
  if (flags['no-browser']) return { mode: 'url', why: 'the sign-in URLs will be printed for you to open' }
  if (flags.http) {
    return {
      mode: 'http',
      why: 'signing in as the demo user over plain HTTP (the real login and consent forms)',
    }
  }
  const chromium = findChromium()
  if (flags.headless) {
    if (!chromium) throw new Error('--headless: no chromium on PATH; run "npm run demo -- --http" instead')
    return {
      mode: 'chromium',
      chromium,
      why: `the sign-in will be completed in headless chromium (${chromium})`,
    }
  }
  if (process.env['BROWSER']?.trim()) return { mode: 'browser', why: 'sign-in pages open with $BROWSER' }
  if (hasDisplay()) return { mode: 'browser', why: 'sign-in pages open in your browser' }
  if (chromium) {
    return {
      mode: 'chromium',
      chromium,
      why: `no display here to open a browser on: the sign-in will be completed in headless chromium (${chromium})`,
    }
  }
  return {
    mode: 'http',
    why: 'no display and no chromium on PATH: signing in as the demo user over plain HTTP (the real login and consent forms)',
  }
}

/** The demo's authorizer: the loopback listener of `chooseAuthorizer`, answering pages the way `mode` says. */
function demoAuthorizer(
  picked: { mode: Mode; chromium?: string },
  served: Served,
  say: (line: string) => void,
  onFailure: (error: Error) => void,
): { authorizer: Authorizer; reasons: string[]; close(): Promise<void> } {
  let browser: Promise<Browser> | undefined
  let page: Promise<Page> | undefined
  const jar = new CookieJar()
  const reasons: string[] = []
  let current = picked
  const answer = async (mode: Mode, url: URL): Promise<void> => {
    if (mode === 'http') {
      return await signInOverHttp(url, served, jar, (step) =>
        say(
          step === 'login'
            ? `plain HTTP: signing in as "${served.username}" on the login form`
            : 'plain HTTP: allowing on the consent form',
        ),
      )
    }
    browser ??= launchChromium(current.chromium)
    page ??= browser.then((b) => b.newPage())
    let p: Page
    try {
      p = await page
    } catch (error) {
      // A chromium on PATH that cannot run here (a snap stub in a container, missing libraries): the demo goes on.
      say(
        `headless chromium did not start (${(error as Error).message.split('\n')[0]}): the plain-HTTP demo user completes the sign-ins`,
      )
      browser = page = undefined
      current = { mode: 'http' }
      return await answer('http', url)
    }
    await completeSignIn(p, url.href, served, (step) =>
      say(
        step === 'login'
          ? `headless chromium: signing in as "${served.username}"`
          : 'headless chromium: allowing on the consent page',
      ),
    )
  }
  const openUrl = async (url: URL) => {
    if (current.mode === 'browser') {
      say(`Opening your browser. Sign in as "${served.username}" with password "${served.password}".`)
      try {
        await openBrowser(url)
        return
      } catch (error) {
        const chromium = findChromium()
        current = chromium ? { mode: 'chromium', chromium } : { mode: 'http' }
        say(
          `could not open your browser (${(error as Error).message}): ${chromium ? 'headless chromium' : 'the plain-HTTP demo user'} completes the sign-ins`,
        )
      }
    }
    if (current.mode === 'url') {
      say(
        `Open the URL above in a browser on this machine; sign in as "${served.username}" / "${served.password}".`,
      )
      return
    }
    // The loopback listener is waiting meanwhile; the last redirect lands on it.
    void answer(current.mode, url).catch((error: Error) => onFailure(error))
  }
  // No store given: the demo shows each consent page, without the one-tab-a-minute limit of real use.
  const chosen = chooseAuthorizer({ mode: 'browser', openUrl, output: process.stderr })
  const authorizer: Authorizer = {
    redirectUri: chosen.redirectUri,
    authorize(url: URL, context: AuthorizeContext) {
      reasons.push(context.reason)
      return chosen.authorize(url, context)
    },
  }
  return {
    authorizer,
    reasons,
    async close() {
      await chosen.close()
      if (browser) await (await browser).close()
    },
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      headless: { type: 'boolean' },
      http: { type: 'boolean' },
      'no-browser': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write('Usage: npm run demo [-- --headless | --http | --no-browser]\n')
    return 0
  }
  const say = (line: string) => void process.stderr.write(`demo: ${line}\n`)
  let picked: ReturnType<typeof pickMode>
  try {
    picked = pickMode(values)
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n`)
    return 2
  }
  say('starting mcp-oauth serve (authorization server + protected demo MCP server, in memory)…')
  const served = await startServe()
  say(picked.why)
  let fail: (error: Error) => void = () => {}
  const failed = new Promise<never>((_, reject) => {
    fail = reject
  })
  failed.catch(() => {})
  const auth = demoAuthorizer(picked, served, say, (e) => fail(e))
  const store = new MemoryStore()
  const io: CliIo = process
  const url = served.mcp
  const steps: Array<{
    title: string
    command: string[]
    expect?: (reasons: string[]) => string | undefined
  }> = [
    { title: 'Sign in through the consent page', command: ['login', url] },
    { title: 'List the tools', command: ['tools', url] },
    { title: 'Call a tool', command: ['call', url, 'whoami'] },
    {
      title: 'Call a tool that needs more scope: 403 insufficient_scope, then step-up consent',
      command: ['call', url, 'admin_report'],
      expect: (r) => (r.includes('step-up') ? undefined : 'no step-up sign-in happened'),
    },
    { title: 'Show the session (never a token)', command: ['status'] },
    { title: 'Sign out (revokes at the authorization server)', command: ['logout', url] },
  ]
  const done: string[] = []
  try {
    for (const [i, step] of steps.entries()) {
      process.stderr.write(`\n── ${i + 1}/${steps.length} ${step.title}\n`)
      process.stdout.write(`$ mcp-oauth ${step.command.join(' ')}\n`)
      const [name, ...args] = step.command as [string, ...string[]]
      const command = (await import(`../src/cli/commands/${name}.ts`)) as {
        run(args: string[], io: CliIo, overrides: object): Promise<number>
      }
      const code = await Promise.race([
        command.run([...args, '--store', 'memory'], io, { store, authorizer: auth.authorizer }),
        failed,
      ])
      const problem = code !== 0 ? `exit code ${code}` : step.expect?.(auth.reasons)
      if (problem) throw new Error(`step "${step.title}" failed: ${problem}`)
      done.push(name)
    }
    process.stderr.write(
      `\ndemo: all ${steps.length} steps completed (${done.join(', ')}); sign-ins: ${auth.reasons.join(', ')}\n`,
    )
    return 0
  } catch (error) {
    process.stderr.write(`\ndemo: FAILED: ${(error as Error).message}\n`)
    return 1
  } finally {
    await auth.close()
    served.child.kill('SIGTERM')
  }
}

process.exit(await main())
