/**
 * A sign-in begun in one process and completed in another, as a web app's instances would: process A calls
 * `beginAuthorization` against a spawned `mcp-oauth serve`, chromium signs in and is sent to the app's callback
 * route (a loopback server here, standing for any instance), process B calls `completeAuthorization` with that
 * URL and calls a tool. Both processes share only a file store. The same callback a second time, and a callback of
 * an expired sign-in, are refused with typed errors.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Browser } from 'playwright-core'
import { chromiumAvailable, chromiumIfAvailable, need } from '../support/environment.ts'
import { startServer, type TestServer } from '../support/http-server.ts'
import { signInAndAllow } from '../support/sign-in.ts'
import { type ServeProcess, spawnServeWithUser } from './authorization-server-helpers.ts'

const instance = fileURLToPath(new URL('../support/web-app-instance.ts', import.meta.url))
const user = { username: 'carol', password: 'carol has a long passphrase' }

/** Run one instance of the web app as its own process; its one JSON line. */
function run(...args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--conditions=mcp-oauth-source', instance, ...args],
      { env: { ...process.env, HOME: tmpdir() }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${args[0]} failed: ${error.message}\n${stderr}`))
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>)
      },
    )
  })
}

describe('beginAuthorization / completeAuthorization across processes', () => {
  let serve: ServeProcess
  let app: TestServer
  let redirectUri = ''
  let store = ''
  let browser: Browser | undefined
  const arrived: string[] = []
  before(async () => {
    serve = await spawnServeWithUser(user)
    // The app's callback route: it only records the URL; another instance completes it.
    app = await startServer({
      '/oauth/callback': (req, res) => {
        arrived.push(new URL(req.url ?? '/', redirectUri).href)
        res.end('signed in; you may close this page')
      },
    })
    redirectUri = `${app.origin}/oauth/callback`
    store = mkdtempSync(join(tmpdir(), 'mcp-oauth-web-app-'))
    browser = await chromiumIfAvailable()
  })
  after(async () => {
    await browser?.close()
    await serve?.stop()
    await app?.close()
    rmSync(store, { recursive: true, force: true })
  })

  it('A begins, the person signs in, B completes and calls a tool; the callback works once', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const begun = await run('begin', serve.ready.mcp, store, redirectUri)
    const url = new URL(String(begun['url']))
    assert.equal(url.origin, new URL(serve.ready.issuer).origin)

    const page = await browser!.newPage()
    try {
      await page.goto(url.href)
      await signInAndAllow(page, user)
      await page.waitForURL((u) => u.href.startsWith(redirectUri))
    } finally {
      await page.close()
    }
    const callback = arrived.at(-1)!
    assert.equal(new URL(callback).searchParams.get('state'), begun['state'])

    const completed = await run('complete', store, callback)
    const whoami = completed['whoami'] as { subject: string } | undefined
    assert.ok(whoami, JSON.stringify(completed))
    assert.match(String(whoami.subject), /carol/)

    const replayed = await run('complete', store, callback)
    assert.equal(replayed['error'], 'authorization_unknown', JSON.stringify(replayed))
  })

  it('a callback after the sign-in expired is refused', async () => {
    const begun = await run('begin', serve.ready.mcp, store, redirectUri, '1')
    await new Promise((r) => setTimeout(r, 20))
    const late = await run('complete', store, `${redirectUri}?code=anything&state=${begun['state']}`)
    assert.equal(late['error'], 'authorization_expired', JSON.stringify(late))
    // Taken even when refused: it cannot be tried again.
    const again = await run('complete', store, `${redirectUri}?code=anything&state=${begun['state']}`)
    assert.equal(again['error'], 'authorization_unknown')
  })
})
