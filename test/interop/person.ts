/**
 * The person signing in, without a browser: a plain-HTTP user agent with a cookie jar that follows redirects and
 * submits the login and consent forms it meets (oidc-provider's pages and mcp-oauth's), until the client's
 * redirect URI. For `connect`, it watches the bridge's stderr for the sign-in URL and follows it to the bridge's
 * own loopback callback.
 */
import type { Readable } from 'node:stream'

/** Who signs in: the login form's fields are filled with these. */
export interface Credentials {
  username: string
  password: string
}

function attribute(tag: string, name: string): string | undefined {
  const m = tag.match(new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`, 'i'))
  return m?.[1]
    ?.replace(/&amp;/g, '&')
    .replace(/&#x2F;/gi, '/')
    .replace(/&quot;/g, '"')
}

/** The first form of an HTML page, as action and the fields to post. */
function firstForm(
  html: string,
  credentials: Credentials,
): { action: string; fields: URLSearchParams } | undefined {
  const form = html.match(/<form\b[^>]*>([\s\S]*?)<\/form>/i)
  if (!form) return undefined
  const action = attribute(form[0].slice(0, form[0].indexOf('>') + 1), 'action') ?? ''
  const fields = new URLSearchParams()
  for (const input of form[1]!.matchAll(/<input\b[^>]*>/gi)) {
    const name = attribute(input[0], 'name')
    if (!name) continue
    const type = (attribute(input[0], 'type') ?? 'text').toLowerCase()
    if (type === 'password') fields.set(name, credentials.password)
    else if (type === 'text' || type === 'email') fields.set(name, credentials.username)
    else fields.set(name, attribute(input[0], 'value') ?? '')
  }
  return { action, fields }
}

/** A user agent for one person: `signIn` returns the URL the flow ended at (the redirect URI with the code). */
export function formAgent(credentials: Credentials) {
  const jar = new Map<string, string>()
  let signIns = 0
  async function request(url: URL, init: RequestInit = {}): Promise<Response> {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const headers = new Headers(init.headers)
    if (cookie) headers.set('cookie', cookie)
    const r = await fetch(url, { ...init, headers, redirect: 'manual' })
    for (const c of r.headers.getSetCookie()) {
      const pair = c.split(';')[0]!
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      if (/expires=Thu, 01 Jan 1970/i.test(c) || value === '') jar.delete(name)
      else jar.set(name, value)
    }
    return r
  }
  return {
    /** Completed sign-ins (flows that reached the redirect URI). */
    get signIns() {
      return signIns
    },
    /**
     * Follow `start` through every redirect and form. With `redirectUri`, stop before requesting it (the library's
     * authorizer takes the URL); without, request the final URL too (the bridge's callback listens there).
     */
    async signIn(start: string | URL, redirectUri?: string): Promise<URL> {
      let url = new URL(String(start))
      let init: RequestInit = {}
      for (let hop = 0; hop < 30; hop++) {
        if (redirectUri && url.href.startsWith(redirectUri)) {
          signIns++
          return url
        }
        const r = await request(url, init)
        init = {}
        const location = r.headers.get('location')
        if (location && r.status >= 300 && r.status < 400) {
          await r.body?.cancel()
          url = new URL(location, url)
          continue
        }
        const text = await r.text()
        const form = r.ok ? firstForm(text, credentials) : undefined
        if (!form) {
          if (!redirectUri && r.ok) {
            signIns++
            return url
          }
          throw new Error(`sign-in stopped at HTTP ${r.status} ${url.pathname}: ${text.slice(0, 300)}`)
        }
        url = new URL(form.action, url)
        init = {
          method: 'POST',
          body: form.fields.toString(),
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }
      }
      throw new Error('too many steps during sign-in')
    },
  }
}

/**
 * A plain-HTTP person watching a bridge's stderr: each sign-in URL printed is followed to the callback.
 * `onError` runs when a sign-in cannot be completed (the test then ends at once instead of timing out).
 */
export function personOnStderr(
  stderr: Readable,
  agent: ReturnType<typeof formAgent>,
  onError: () => void = () => {},
) {
  let text = ''
  let handled = 0
  const errors: string[] = []
  let chain = Promise.resolve()
  stderr.on('data', (chunk: Buffer) => {
    text += chunk.toString()
    const urls = [...text.matchAll(/open this URL in a browser:\s*\n\s*(\S+)/g)].map((m) => m[1]!)
    while (handled < urls.length) {
      const url = urls[handled++]!
      chain = chain.then(() =>
        agent.signIn(url).then(
          () => {},
          (e: Error) => {
            errors.push(e.message)
            onError()
          },
        ),
      )
    }
  })
  return {
    /** Sign-in URLs the bridge printed. */
    get asked() {
      return handled
    },
    get stderr() {
      return `${text}${errors.length ? `\n[person] ${errors.join('\n[person] ')}` : ''}`
    },
  }
}
