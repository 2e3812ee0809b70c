/**
 * Test helper: a person in a real browser page, clicking through oidc-provider's own development pages
 * (login, consent, device confirmation) until the browser lands on the redirect URI (or the device success page).
 */
import type { Page } from 'playwright-core'

/** Drive `page` from `target` to `redirectPrefix`; `deny` cancels at the consent page. */
export async function actAsPerson(
  page: Page,
  target: URL,
  redirectPrefix: string,
  options: { deny?: boolean } = {},
): Promise<void> {
  await page.goto(target.href)
  for (let step = 0; step < 8; step++) {
    if (page.url().startsWith(redirectPrefix)) return
    const before = page.url()
    if ((await page.locator('input[name=login]').count()) > 0) {
      await page.fill('input[name=login]', 'user-1')
      await page.fill('input[name=password]', 'any')
      await page.click('button[type=submit]')
    } else if ((await page.locator('input[name=prompt][value=consent]').count()) > 0) {
      if (options.deny) await page.click('text=[ Cancel ]')
      else await page.click('button[type=submit]')
    } else if ((await page.locator('form[id="op.deviceConfirmForm"]').count()) > 0) {
      await page.click('button[autofocus]')
    } else if ((await page.title()) === 'Sign-in Success') {
      return
    } else {
      throw new Error(`unexpected page at ${page.url()}: ${(await page.content()).slice(0, 300)}`)
    }
    await page.waitForURL((u) => u.href !== before)
    await page.waitForLoadState('load')
  }
  throw new Error('too many steps in the interaction')
}
