/**
 * The person at the browser: watches a process's stderr for the sign-in URL mcp-oauth prints and completes
 * mcp-oauth's login and consent pages in real chromium (Playwright).
 */
import type { Readable } from 'node:stream'
import type { Browser, Page } from 'playwright-core'

export interface Person {
  /** How many times this person was asked to sign in (sign-in URLs printed; each is completed in the browser). */
  readonly signIns: number
  /** Everything the process wrote to stderr so far. */
  readonly stderr: string
  /** How many sign-ins the person finished in the browser (diagnostics). */
  readonly completed: number
  /** Stop watching. */
  stop(): void
}

/** Drive each sign-in URL that appears on `stderr` through the login and consent pages. */
export function personAtBrowser(
  stderr: Readable,
  browser: Browser,
  credentials: { username: string; password: string },
): Person {
  let text = ''
  let handled = 0
  let completed = 0
  let stopped = false
  const queue: string[] = []
  let busy = false
  const pump = async () => {
    if (busy) return
    busy = true
    while (queue.length && !stopped) {
      const url = queue.shift()!
      const page = await browser.newPage()
      try {
        await page.goto(url)
        if (await page.locator('#password').count()) {
          await page.fill('#username', credentials.username)
          await page.fill('#password', credentials.password)
          await page.click('button[type=submit]')
        }
        await page.waitForSelector('button:has-text("Allow")', { timeout: 15_000 })
        await page.click('button:has-text("Allow")')
        await page.waitForLoadState('load')
        completed++
      } catch (e) {
        text += `\n[person] could not complete sign-in at ${url.split('?')[0]}: ${(e as Error).message}\n`
      } finally {
        await page.close().catch(() => {})
      }
    }
    busy = false
  }
  stderr.on('data', (chunk: Buffer) => {
    text += chunk.toString()
    const urls = [...text.matchAll(/open this URL in a browser:\s*\n\s*(\S+)/g)].map((m) => m[1]!)
    while (handled < urls.length) queue.push(urls[handled++]!)
    void pump()
  })
  return {
    get signIns() {
      // Counted when the URL appears: the flow can finish (the callback reached the bridge) before the page's
      // own load event, so counting completed pages would race the assertions.
      return handled
    },
    get completed() {
      return completed
    },
    get stderr() {
      return text
    },
    stop() {
      stopped = true
    },
  }
}

/** On serve's login page in `page`: sign in as `credentials`, then allow on the consent page. */
export async function signInAndAllow(
  page: Page,
  credentials: { username: string; password: string },
): Promise<void> {
  await page.fill('#username', credentials.username)
  await page.fill('#password', credentials.password)
  await page.click('button[type=submit]')
  await page.click('button:has-text("Allow")')
}
