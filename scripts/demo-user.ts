/**
 * The demo's own user, for machines with neither a display nor chromium: it walks `mcp-oauth serve`'s real login
 * and consent forms over plain HTTP (Node's fetch), as a browser would — cookies kept in a jar, redirects followed
 * by hand, every hidden field (the CSRF token) sent back — until a redirect reaches the loopback callback, which it
 * then visits so the waiting CLI receives the code. Nothing is skipped: the authorization server cannot tell it
 * from a person pressing the buttons.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1
 */
import type { SignInStep } from './consent-page.ts'

interface Cookie {
  name: string
  value: string
  origin: string
  path: string
  expires: number
}

/** A cookie jar good enough for one loopback authorization server: origin-bound (host-only), path-matched, expiring. @see https://www.rfc-editor.org/rfc/rfc6265#section-5.3 */
export class CookieJar {
  #cookies: Cookie[] = []

  /** Store the response's Set-Cookie headers for the URL that was requested. @see https://www.rfc-editor.org/rfc/rfc6265#section-5.2 */
  store(url: URL, response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = header.split(';')
      const eq = pair.indexOf('=')
      if (eq < 1) continue
      const cookie: Cookie = {
        name: pair.slice(0, eq).trim(),
        value: pair.slice(eq + 1).trim(),
        origin: url.origin,
        path: url.pathname.replace(/\/[^/]*$/, '') || '/',
        expires: Number.POSITIVE_INFINITY,
      }
      for (const attribute of attributes) {
        const [key = '', ...rest] = attribute.split('=')
        const value = rest.join('=').trim()
        const name = key.trim().toLowerCase()
        if (name === 'path' && value.startsWith('/')) cookie.path = value
        else if (name === 'max-age' && /^-?\d+$/.test(value))
          cookie.expires = Date.now() + Number(value) * 1000
        else if (name === 'expires' && cookie.expires === Number.POSITIVE_INFINITY) {
          const at = Date.parse(value)
          if (!Number.isNaN(at)) cookie.expires = at
        }
      }
      this.#cookies = this.#cookies.filter(
        (c) => !(c.name === cookie.name && c.origin === cookie.origin && c.path === cookie.path),
      )
      if (cookie.expires > Date.now()) this.#cookies.push(cookie)
    }
  }

  /** The Cookie header for a request to `url`, longest paths first. @see https://www.rfc-editor.org/rfc/rfc6265#section-5.4 */
  header(url: URL): string {
    const now = Date.now()
    return this.#cookies
      .filter(
        (c) =>
          c.origin === url.origin &&
          c.expires > now &&
          (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)),
      )
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ')
  }
}

/** A form on a page: where it posts and its named fields with their values. @see https://html.spec.whatwg.org/multipage/forms.html#the-form-element */
export interface HtmlForm {
  action: string
  method: string
  fields: Array<[string, string]>
}

function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' }
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === '#') {
      const code =
        entity[1] === 'x' || entity[1] === 'X'
          ? Number.parseInt(entity.slice(2), 16)
          : Number(entity.slice(1))
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole
    }
    return named[entity.toLowerCase()] ?? whole
  })
}

function attributesOf(tag: string): Map<string, string> {
  const attributes = new Map<string, string>()
  for (const m of tag.matchAll(/([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
    attributes.set(m[1]!.toLowerCase(), decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''))
  }
  return attributes
}

/** The forms of an HTML page with the fields a browser would submit without a click on a named button. @see https://html.spec.whatwg.org/multipage/form-control-infrastructure.html#constructing-the-form-data-set */
export function parseForms(html: string): HtmlForm[] {
  const forms: HtmlForm[] = []
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const form = attributesOf(m[1]!)
    const fields: Array<[string, string]> = []
    for (const input of m[2]!.matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributesOf(input[1]!)
      const name = a.get('name')
      const type = (a.get('type') ?? 'text').toLowerCase()
      if (!name || a.has('disabled') || ['submit', 'button', 'reset', 'image', 'file'].includes(type))
        continue
      if ((type === 'checkbox' || type === 'radio') && !a.has('checked')) continue
      fields.push([name, a.get('value') ?? (type === 'checkbox' || type === 'radio' ? 'on' : '')])
    }
    forms.push({
      action: form.get('action') ?? '',
      method: (form.get('method') ?? 'get').toLowerCase(),
      fields,
    })
  }
  return forms
}

/** Who signs in: the development user `mcp-oauth serve` prints. @see https://openid.net/specs/openid-connect-core-1_0.html#Authenticates */
export interface DemoUser {
  username: string
  password: string
}

const visible = (html: string) =>
  decodeEntities(html.replace(/<style[\s\S]*?<\/style>/gi, '').replace(/<[^>]+>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300)

/**
 * Complete the authorization request `url` over plain HTTP as `user`: sign in on the login form, allow on the
 * consent form, follow the redirects, and visit the loopback callback the last one points at. `jar` keeps the
 * authorization server's session between calls, so a step-up asks only for consent, as in a browser.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
export async function signInOverHttp(
  url: URL,
  user: DemoUser,
  jar: CookieJar,
  onStep: (step: SignInStep) => void = () => {},
): Promise<void> {
  const server = url.origin
  let request: { url: URL; method: string; body?: URLSearchParams } = { url, method: 'GET' }
  for (let hop = 0; hop < 20; hop++) {
    if (request.url.origin !== server) {
      // The loopback callback: what the browser's last redirect would load. Its page says whether it worked.
      const done = await fetch(request.url, { redirect: 'manual' })
      const text = await done.text()
      if (!done.ok) throw new Error(`the callback answered ${done.status}: ${visible(text)}`)
      return
    }
    const cookie = jar.header(request.url)
    const response = await fetch(request.url, {
      method: request.method,
      redirect: 'manual',
      headers: {
        accept: 'text/html',
        ...(cookie ? { cookie } : {}),
        ...(request.body ? { 'content-type': 'application/x-www-form-urlencoded', origin: server } : {}),
      },
      ...(request.body ? { body: request.body } : {}),
    })
    jar.store(request.url, response)
    const location = response.headers.get('location')
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel()
      request = { url: new URL(location, request.url), method: 'GET' }
      continue
    }
    const html = await response.text()
    const forms = parseForms(html)
    const login = forms.find((f) => f.fields.some(([name]) => name === 'password'))
    const consent = forms.find((f) => f.action.endsWith('/confirm'))
    if (/wrong username or password/i.test(html)) throw new Error(`the sign-in page refused ${user.username}`)
    let form: HtmlForm
    if (login) {
      onStep('login')
      form = {
        ...login,
        fields: login.fields.map(([name, value]): [string, string] => [
          name,
          name === 'username' ? user.username : name === 'password' ? user.password : value,
        ]),
      }
    } else if (consent) {
      onStep('consent')
      form = consent
    } else {
      throw new Error(`unexpected page (${response.status}) at ${request.url.pathname}: ${visible(html)}`)
    }
    if (form.method !== 'post') throw new Error(`the ${request.url.pathname} form is not a POST form`)
    request = {
      url: new URL(form.action, request.url),
      method: 'POST',
      body: new URLSearchParams(form.fields),
    }
  }
  throw new Error('the sign-in took more than 20 requests')
}
