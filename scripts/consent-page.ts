/**
 * Acts as the person on `mcp-oauth serve`'s sign-in and consent pages in a real (headless) chromium, for the demo
 * on machines without a display and for the CLI end-to-end tests. Fills the login form (username, password), then
 * presses "Allow" on the consent page, until the browser leaves the authorization server (the loopback callback).
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, isAbsolute, join } from 'node:path'
import type { Browser, Page } from 'playwright-core'

/** The names chromium and its rebrands are installed under, searched in this order on PATH. @see https://playwright.dev/docs/api/class-browsertype#browser-type-launch */
export const CHROMIUM_NAMES = [
  'chromium',
  'chromium-browser',
  'google-chrome',
  'google-chrome-stable',
  'chrome',
  'microsoft-edge',
  'microsoft-edge-stable',
  'brave-browser',
]
/** The flags that let it run headless in containers (as test/support/environment.ts). @see https://developer.chrome.com/docs/chromium/headless */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
]

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The first chromium-family browser on `env.PATH` (each of {@link CHROMIUM_NAMES}, in the PATH's order; with
 * PATHEXT's extensions on Windows), or undefined. Only PATH is searched, so a PATH without one really means none.
 * @see https://pubs.opengroup.org/onlinepubs/9799919799/basedefs/V1_chap08.html#tag_08_03
 */
export function findChromium(
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const dirs = (env['PATH'] ?? env['Path'] ?? '').split(delimiter).filter((d) => d && isAbsolute(d))
  const extensions = platform === 'win32' ? (env['PATHEXT'] ?? '.EXE').split(';').filter(Boolean) : ['']
  for (const name of CHROMIUM_NAMES) {
    for (const dir of dirs) {
      for (const extension of extensions) {
        const file = join(dir, name + extension)
        if (isExecutable(file)) return file
      }
    }
  }
  return undefined
}

/** Launch headless chromium through playwright-core: the one {@link findChromium} finds unless one is given. @see https://playwright.dev/docs/api/class-browsertype#browser-type-launch */
export async function launchChromium(executablePath = findChromium()): Promise<Browser> {
  if (!executablePath) {
    throw new Error(`no chromium on PATH (looked for ${CHROMIUM_NAMES.join(', ')})`)
  }
  const { chromium } = await import('playwright-core')
  return await chromium.launch({ executablePath, args: CHROMIUM_ARGS })
}

/** What {@link completeSignIn} did, page by page (for progress output). */
export type SignInStep = 'login' | 'consent'

/**
 * Open `url` (an authorization request) in `page` and complete it: sign in as `user` when asked, allow on the
 * consent page, until the browser is sent away from the authorization server. Throws on anything unexpected.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 */
export async function completeSignIn(
  page: Page,
  url: string,
  user: { username: string; password: string },
  onStep: (step: SignInStep) => void = () => {},
): Promise<void> {
  const server = new URL(url).origin
  await page.goto(url)
  for (let step = 0; step < 10; step++) {
    if (new URL(page.url()).origin !== server) {
      await page.waitForLoadState('load')
      return
    }
    const before = page.url()
    const text = (await page.locator('body').textContent()) ?? ''
    if (/wrong username or password/i.test(text)) throw new Error(`the sign-in page refused ${user.username}`)
    if ((await page.locator('input[name=username]').count()) > 0) {
      onStep('login')
      await page.fill('input[name=username]', user.username)
      await page.fill('input[name=password]', user.password)
      await page.click('button[type=submit]')
    } else if ((await page.locator('form[action$="/confirm"]').count()) > 0) {
      onStep('consent')
      await page.click('form[action$="/confirm"] button[type=submit]:not([formaction])')
    } else {
      throw new Error(`unexpected page at ${page.url()}: ${text.replace(/\s+/g, ' ').slice(0, 300)}`)
    }
    await page.waitForURL((u) => u.href !== before, { timeout: 30_000 })
  }
  throw new Error('the sign-in took more than 10 pages')
}
