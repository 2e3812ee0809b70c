/**
 * The client engine in a browser: the browser build (scripts/build-browser.ts, esbuild for the browser platform)
 * holds no `node:` import; a page on its own origin that loads only that bundle signs in against a spawned
 * `mcp-oauth serve` (discovery from the 401, registration, PKCE, the redirect away and back to the page, the code
 * redeemed in the page) and calls a tool, in real chromium. A reload of the callback URL is refused.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Browser } from 'playwright-core'
import { buildBrowser } from '../../scripts/build-browser.ts'
import { chromiumAvailable, chromiumIfAvailable, need } from '../support/environment.ts'
import { startServer, type TestServer } from '../support/http-server.ts'
import { signInAndAllow } from '../support/sign-in.ts'
import { type ServeProcess, spawnServeWithUser } from './authorization-server-helpers.ts'

const user = { username: 'dana', password: 'dana uses a long passphrase' }
const page = readFileSync(new URL('../support/browser-client-page.html', import.meta.url), 'utf8')

describe('browser build of the client engine', () => {
  let serve: ServeProcess
  let site: TestServer
  let bundle = ''
  let dir = ''
  let browser: Browser | undefined
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-browser-build-'))
    await buildBrowser(join(dir, 'client.js'))
    bundle = readFileSync(join(dir, 'client.js'), 'utf8')
    serve = await spawnServeWithUser(user)
    site = await startServer({
      '/client.js': (_req, res) => {
        res.setHeader('content-type', 'text/javascript')
        res.end(bundle)
      },
      '/app.html': (_req, res) => {
        res.setHeader('content-type', 'text/html')
        res.end(page.replaceAll('MCP_URL', serve.ready.mcp))
      },
    })
    browser = await chromiumIfAvailable()
  })
  after(async () => {
    await browser?.close()
    await serve?.stop()
    await site?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('the bundle imports nothing from Node', () => {
    assert.ok(bundle.length > 10_000)
    assert.doesNotMatch(bundle, /["']node:[a-z_/]+["']/)
    assert.doesNotMatch(bundle, /\brequire\(["']/)
  })

  it('a page signs in against serve with the redirect flow and calls a tool', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const tab = await browser!.newPage()
    const errors: string[] = []
    tab.on('pageerror', (e) => errors.push(e.message))
    try {
      await tab.goto(`${site.origin}/app.html`)
      await tab.waitForSelector('#password', { timeout: 30_000 }).catch(async (e: Error) => {
        throw new Error(
          `${e.message}\npage: ${tab.url()}\n${await tab.textContent('body')}\n${errors.join('\n')}`,
        )
      })
      await signInAndAllow(tab, user)
      await tab.waitForFunction('document.title === "done"', undefined, { timeout: 30_000 })
      const result = JSON.parse((await tab.textContent('#out')) ?? '{}') as {
        whoami?: { subject: string; scopes: string[] }
        replay?: string
        status?: { signed_in: boolean; store: string }
        error?: string
        message?: string
      }
      assert.ok(result.whoami, `${JSON.stringify(result)} ${errors.join('\n')}`)
      assert.match(result.whoami.subject, /dana/)
      assert.equal(result.replay, 'authorization_unknown')
      assert.equal(result.status?.signed_in, true)
      assert.equal(result.status?.store, 'web-storage')
      assert.ok(new URL(tab.url()).searchParams.has('code'), 'the page completed the sign-in itself')
    } finally {
      await tab.close()
    }
  })
})
