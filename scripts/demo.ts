/**
 * `npm run demo`: the whole story in one command. Starts `mcp-oauth serve` (an authorization server and a
 * protected demo MCP server on loopback), signs in through its real consent page, lists the tools, calls one,
 * calls a tool that needs more scope (step-up: the server answers 403 insufficient_scope and you consent to
 * the extra scope), shows `mcp-oauth status`, then signs out.
 *
 * The sign-in happens in your browser when one can be opened; without a display it says so and completes the
 * sign-in in headless chromium (playwright-core) when chromium is installed, otherwise it prints the URL to open.
 * Sessions live in memory, so the demo never touches your real token store.
 *
 *   npm run demo                 # your browser, or headless chromium without a display
 *   npm run demo -- --headless   # always headless chromium
 *   npm run demo -- --no-browser # only print the URLs; you open them (any browser on this machine)
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
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
import { CHROMIUM_PATH, completeSignIn, launchChromium } from './consent-page.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'bin', 'mcp-oauth.js')

type Mode = 'browser' | 'headless' | 'url'

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

function pickMode(flags: { headless?: boolean; 'no-browser'?: boolean }): Mode {
  if (flags['no-browser']) return 'url'
  if (!flags.headless && hasDisplay()) return 'browser'
  return existsSync(CHROMIUM_PATH) ? 'headless' : 'url'
}

/** The demo's authorizer: the loopback listener of `chooseAuthorizer`, opening pages the way `mode` says. */
function demoAuthorizer(
  mode: Mode,
  served: Served,
  say: (line: string) => void,
  onFailure: (error: Error) => void,
): { authorizer: Authorizer; reasons: string[]; close(): Promise<void> } {
  let browser: Promise<Browser> | undefined
  let page: Promise<Page> | undefined
  const reasons: string[] = []
  const openUrl = async (url: URL) => {
    if (mode === 'browser') {
      say(`Opening your browser. Sign in as "${served.username}" with password "${served.password}".`)
      await openBrowser(url)
      return
    }
    if (mode === 'url') {
      say(
        `Open the URL above in a browser on this machine; sign in as "${served.username}" / "${served.password}".`,
      )
      return
    }
    browser ??= launchChromium()
    page ??= browser.then((b) => b.newPage())
    // The loopback listener is waiting meanwhile; the browser's last redirect lands on it.
    void page
      .then((p) =>
        completeSignIn(p, url.href, served, (step) =>
          say(
            step === 'login'
              ? `headless chromium: signing in as "${served.username}"`
              : 'headless chromium: allowing on the consent page',
          ),
        ),
      )
      .catch((error: Error) => onFailure(error))
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
    options: { headless: { type: 'boolean' }, 'no-browser': { type: 'boolean' }, help: { type: 'boolean' } },
    strict: true,
  })
  if (values.help) {
    process.stdout.write('Usage: npm run demo [-- --headless | --no-browser]\n')
    return 0
  }
  const say = (line: string) => void process.stderr.write(`demo: ${line}\n`)
  say('starting mcp-oauth serve (authorization server + protected demo MCP server, in memory)…')
  const served = await startServe()
  const mode = pickMode(values)
  if (mode === 'headless' && !values.headless) {
    say('no display here to open a browser on: the sign-in will be completed in headless chromium')
  } else if (mode === 'url') {
    say(
      existsSync(CHROMIUM_PATH) || values['no-browser']
        ? 'the sign-in URLs will be printed for you to open'
        : 'no display and no chromium: the sign-in URLs will be printed for you to open',
    )
  }
  let fail: (error: Error) => void = () => {}
  const failed = new Promise<never>((_, reject) => {
    fail = reject
  })
  failed.catch(() => {})
  const auth = demoAuthorizer(mode, served, say, (e) => fail(e))
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
