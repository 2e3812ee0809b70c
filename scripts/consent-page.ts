/**
 * Acts as the person on `mcp-oauth serve`'s sign-in and consent pages in a real (headless) chromium, for the demo
 * on machines without a display and for the CLI end-to-end tests. Fills the login form (username, password), then
 * presses "Allow" on the consent page, until the browser leaves the authorization server (the loopback callback).
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
import type { Browser, Page } from 'playwright-core'

/** Debian's chromium and the flags that let it run headless in containers (as test/support/environment.ts). */
export const CHROMIUM_PATH = '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
]

/** Launch headless chromium through playwright-core. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core')
  return await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
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
