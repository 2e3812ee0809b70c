/**
 * Real browser (Debian chromium via playwright-core) against a real oidc-provider on loopback, through the
 * loopback authorizer: repeated sign-in on one fixed port in one browser profile (the Zed seed: no hang),
 * denied consent, a wrong-state callback followed by the right one, and the device grant on a headless machine.
 * The token exchange is done here with oauth4webapi (the engine's job) so this test needs only the authorizer.
 */
import assert from 'node:assert/strict'
import { promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it, type TestContext } from 'node:test'
import * as oauth from 'oauth4webapi'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import type { AuthorizeContext } from '../../src/client/authorizer.ts'
import { authorizedFetch, createSession } from '../../src/client/index.ts'
import { chooseAuthorizer } from '../../src/client/interaction/choose.ts'
import { loopbackAuthorizer } from '../../src/client/interaction/loopback.ts'
import {
  freePort,
  startTestAuthorizationServer,
  type TestAuthorizationServer,
} from '../../src/client/interaction/testing/authorization-server.test-helper.ts'
import { startTestMcpServer } from '../../src/client/interaction/testing/mcp-server.test-helper.ts'
import { actAsPerson as drivePerson } from '../../src/client/interaction/testing/person.test-helper.ts'
import { FileStore } from '../../src/client/stores/file-store.ts'
import { storeKey } from '../../src/client/stores/store.ts'
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, need } from '../support/environment.ts'

const RESOURCE = 'https://mcp.example.test/mcp'
const insecure = { [oauth.allowInsecureRequests]: true }

let browser: Browser | undefined
let context: BrowserContext
let page: Page
let as: TestAuthorizationServer
let metadata: oauth.AuthorizationServer
let port: number
let redirect: string
let dir: string
let store: FileStore
/** Headers of every response the browser got from the loopback listener. */
const callbackResponses: Array<Record<string, string>> = []

before(async () => {
  if (!chromiumAvailable()) return
  port = await freePort()
  redirect = `http://127.0.0.1:${port}/callback`
  as = await startTestAuthorizationServer({ redirectUris: [redirect], resource: RESOURCE })
  const res = await oauth.discoveryRequest(new URL(as.issuer), { algorithm: 'oidc', ...insecure })
  metadata = await oauth.processDiscoveryResponse(new URL(as.issuer), res)
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
  context = await browser.newContext()
  page = await context.newPage()
  page.on('response', (r) => {
    if (r.url().startsWith(redirect)) callbackResponses.push(r.headers())
  })
  dir = await fs.mkdtemp(join(tmpdir(), 'mcp-oauth-browser-'))
  store = new FileStore({ dir, log: () => {} })
})

after(async () => {
  await browser?.close()
  await as?.close()
  if (dir) await fs.rm(dir, { recursive: true, force: true })
})

/** Act as the person on oidc-provider's own pages until the browser reaches the redirect URI. */
function actAsPerson(target: URL, options: { deny?: boolean } = {}): Promise<void> {
  return drivePerson(page, target, redirect, options)
}

const client = (): oauth.Client => ({ client_id: as.clientId })

/** One authorization-code sign-in through `authorizer`; returns the stored session key, or throws the AS error. */
async function signIn(
  authorizer: ReturnType<typeof loopbackAuthorizer>,
  options: { prompt?: string; deny?: boolean; beforeRight?: (state: string) => Promise<void> } = {},
): Promise<{ key: string; tokens: oauth.TokenEndpointResponse }> {
  const redirectUri = await authorizer.redirectUri()
  assert.equal(redirectUri, redirect)
  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const url = new URL(metadata.authorization_endpoint!)
  url.search = new URLSearchParams({
    client_id: as.clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'mcp:tools',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    resource: RESOURCE,
    ...(options.prompt ? { prompt: options.prompt } : {}),
  }).toString()
  const ctx: AuthorizeContext = {
    state,
    expectedIssuer: metadata.issuer,
    issParameterSupported: metadata.authorization_response_iss_parameter_supported === true,
    resource: RESOURCE,
    reason: 'login',
  }
  const callback = await authorizer.authorize(url, ctx)
  const params = oauth.validateAuthResponse(metadata, client(), callback, state)
  const res = await oauth.authorizationCodeGrantRequest(
    metadata,
    client(),
    oauth.None(),
    params,
    redirectUri,
    verifier,
    {
      ...insecure,
      additionalParameters: { resource: RESOURCE },
    },
  )
  const tokens = await oauth.processAuthorizationCodeResponse(metadata, client(), res)
  const key = storeKey.session(RESOURCE, metadata.issuer, as.clientId)
  await store.set(key, tokens)
  return { key, tokens }
}

async function assertStoredSafely(tokens: oauth.TokenEndpointResponse): Promise<void> {
  const secrets = [tokens.access_token, tokens.refresh_token].filter((s): s is string => Boolean(s))
  const walk = async (d: string): Promise<string[]> =>
    (
      await Promise.all(
        (
          await fs.readdir(d, { withFileTypes: true })
        ).map((e) => (e.isDirectory() ? walk(join(d, e.name)) : Promise.resolve([join(d, e.name)]))),
      )
    ).flat()
  for (const f of await walk(dir)) {
    assert.equal((await fs.stat(f)).mode & 0o777, 0o600, `${f} is not 0600`)
    const text = await fs.readFile(f, 'latin1')
    for (const s of secrets) assert.ok(!text.includes(s.slice(0, 24)), `${f} contains a readable token`)
  }
}

function skipWithoutChromium(t: TestContext): boolean {
  return !need(t, 'chromium', chromiumAvailable())
}

describe('sign-in in a real browser through the loopback authorizer', () => {
  it('signs in, logs out and signs in again twice, same browser profile, same fixed port: no hang', {
    timeout: 90_000,
  }, async (t) => {
    if (skipWithoutChromium(t)) return
    for (let round = 0; round < 3; round++) {
      const person: Promise<void>[] = []
      const authorizer = loopbackAuthorizer({
        port,
        log: () => {},
        timeoutMs: 30_000,
        open: (url) => {
          person.push(actAsPerson(url))
        },
      })
      try {
        const { key, tokens } = await signIn(authorizer)
        await Promise.all(person)
        assert.match(await page.content(), /You are signed in/)
        assert.ok(tokens.access_token)
        assert.ok((await store.get(key))?.value)
        await assertStoredSafely(tokens)
        // Log out: forget the tokens and free the port, as `mcp-oauth logout` does.
        assert.equal(await store.delete(key), true)
      } finally {
        await authorizer.close()
      }
    }
    assert.equal(as.stats.codeGrants, 3)
    // The browser was told to keep no pooled connection to the listener (the seed's hang).
    assert.equal(callbackResponses.length, 3)
    for (const h of callbackResponses) {
      assert.equal(h['connection'], 'close')
      assert.equal(h['cache-control'], 'no-store')
      assert.equal(h['referrer-policy'], 'no-referrer')
    }
  })

  it('refuses a callback with a wrong state, then completes with the right one', {
    timeout: 60_000,
  }, async (t) => {
    if (skipWithoutChromium(t)) return
    const person: Promise<void>[] = []
    const forgedThenReal = async (url: URL) => {
      const forged = new URL(redirect)
      forged.search = new URLSearchParams({
        code: 'forged',
        state: 'not-the-state',
        iss: metadata.issuer,
      }).toString()
      const res = await page.goto(forged.href)
      assert.equal(res?.status(), 400)
      assert.match(await page.content(), /not the one in progress/)
      await actAsPerson(url)
    }
    const authorizer = loopbackAuthorizer({
      port,
      log: () => {},
      timeoutMs: 30_000,
      open: (url) => {
        person.push(forgedThenReal(url))
      },
    })
    try {
      const { key } = await signIn(authorizer)
      await Promise.all(person)
      assert.match(await page.content(), /You are signed in/)
      await store.delete(key)
    } finally {
      await authorizer.close()
    }
  })

  it('shows a clear error when consent is denied, and stores nothing', { timeout: 60_000 }, async (t) => {
    if (skipWithoutChromium(t)) return
    const person: Promise<void>[] = []
    const authorizer = loopbackAuthorizer({
      port,
      log: () => {},
      timeoutMs: 30_000,
      open: (url) => {
        person.push(actAsPerson(url, { deny: true }))
      },
    })
    try {
      await assert.rejects(signIn(authorizer, { prompt: 'consent' }), (e) => {
        assert.ok(e instanceof oauth.AuthorizationResponseError)
        assert.equal(e.error, 'access_denied')
        return true
      })
      await Promise.all(person)
      const text = (await page.locator('body').textContent()) ?? ''
      assert.match(text, /Sign-in did not complete/)
      assert.match(text, /access_denied/)
      assert.match(text, /Access was not granted/)
      assert.deepEqual(await store.list('session '), [])
    } finally {
      await authorizer.close()
    }
  })

  it('headless: the device grant completes, approved through the real page in the browser', {
    timeout: 60_000,
  }, async (t) => {
    if (skipWithoutChromium(t)) return
    const output = new PassThrough() as PassThrough & { isTTY?: boolean }
    let printed = ''
    output.on('data', (c) => {
      printed += c
    })
    const authorizer = chooseAuthorizer({
      env: {},
      platform: 'linux',
      output,
      input: new PassThrough(),
    })
    try {
      assert.equal(authorizer.mode, 'device')
      assert.equal(authorizer.preferDeviceCode, true)
      assert.ok(metadata.device_authorization_endpoint, 'the AS offers the device grant')
      const res = await oauth.deviceAuthorizationRequest(
        metadata,
        client(),
        oauth.None(),
        new URLSearchParams({ scope: 'mcp:tools', resource: RESOURCE }),
        insecure,
      )
      const device = await oauth.processDeviceAuthorizationResponse(metadata, client(), res)
      await authorizer.showDeviceCode!(
        {
          user_code: device.user_code,
          verification_uri: device.verification_uri,
          ...(device.verification_uri_complete
            ? { verification_uri_complete: device.verification_uri_complete }
            : {}),
          expires_in: device.expires_in,
        },
        { expectedIssuer: metadata.issuer, issParameterSupported: true, resource: RESOURCE, reason: 'login' },
      )
      assert.ok(printed.includes(device.user_code))
      const shown = /Or open (\S+)/.exec(printed)?.[1]
      assert.ok(shown, 'the complete verification URI was printed')
      // The person opens the printed URL on another device (here: the browser) and approves.
      const approved = actAsPerson(new URL(shown))
      let tokens: oauth.TokenEndpointResponse | undefined
      while (!tokens) {
        await new Promise((r) => setTimeout(r, 1000))
        try {
          const r = await oauth.deviceCodeGrantRequest(metadata, client(), oauth.None(), device.device_code, {
            ...insecure,
            additionalParameters: { resource: RESOURCE },
          })
          tokens = await oauth.processDeviceCodeResponse(metadata, client(), r)
        } catch (e) {
          if (!(e instanceof oauth.ResponseBodyError && e.error === 'authorization_pending')) throw e
        }
      }
      await approved
      assert.equal(await page.title(), 'Sign-in Success')
      const key = storeKey.session(RESOURCE, metadata.issuer, as.clientId)
      await store.set(key, tokens)
      await assertStoredSafely(tokens)
      assert.equal(as.stats.deviceGrants, 1)
    } finally {
      await authorizer.close()
    }
  })
})

describe('the engine with chooseAuthorizer on a machine without a display', () => {
  it('signs in through the device grant, approved in the browser, then calls the server', {
    timeout: 90_000,
  }, async (t) => {
    if (skipWithoutChromium(t)) return
    const mcp = await startTestMcpServer()
    const engineAs = await startTestAuthorizationServer({ redirectUris: [redirect], resource: mcp.url })
    mcp.setIssuer(engineAs.issuer)
    const output = new PassThrough() as PassThrough & { isTTY?: boolean }
    let printed = ''
    const approvals: Promise<void>[] = []
    output.on('data', (c) => {
      printed += c
      const shown = /Or open (\S+)/.exec(printed)?.[1]
      if (shown && approvals.length === 0) approvals.push(actAsPerson(new URL(shown)))
    })
    const engineDir = await fs.mkdtemp(join(tmpdir(), 'mcp-oauth-device-'))
    const authorizer = chooseAuthorizer({ env: {}, platform: 'linux', output, input: new PassThrough() })
    try {
      const session = createSession({
        serverUrl: mcp.url,
        store: new FileStore({ dir: engineDir, log: () => {} }),
        authorizer,
        identity: {
          client_name: 'mcp-oauth test',
          preRegistered: { client_id: engineAs.clientId, token_endpoint_auth_method: 'none' },
        },
        dpop: 'never',
      })
      const res = await authorizedFetch(session)(mcp.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      })
      assert.equal(res.status, 200)
      await res.text()
      await Promise.all(approvals)
      assert.equal(approvals.length, 1, 'the device code was shown and approved once')
      assert.equal(engineAs.stats.deviceGrants, 1)
      assert.equal(engineAs.stats.codeGrants, 0, 'no browser redirect flow was used')
      assert.equal(mcp.stats.authorized, 1)
      assert.equal((await session.status()).signed_in, true)
    } finally {
      await authorizer.close()
      await engineAs.close()
      await mcp.close()
      await fs.rm(engineDir, { recursive: true, force: true })
    }
  })
})
