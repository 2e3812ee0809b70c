/**
 * URLs as messages may show them: scheme, host, port and path only. Userinfo (`user:password@`), the query
 * (`?token=…`) and the fragment can carry credentials, so they never reach a log line, an error or `status`.
 * Pure: no I/O.
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-3.2.1
 */

/**
 * The URL without userinfo, query and fragment, for messages. Text that does not parse (a typo, a missing
 * scheme) loses the same parts by position: everything from `?` or `#`, and everything up to the last `@`.
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-7.5
 */
export function redactUrl(url: string | URL): string {
  let u: URL
  try {
    u = new URL(String(url))
  } catch {
    return redactUnparsed(String(url))
  }
  // "user:pw@host/mcp" parses with the scheme "user:" and an opaque path holding the rest: no host, no trust.
  if (!u.host) return redactUnparsed(String(url))
  // `origin` is "null" for non-special schemes; build it from the parts so nothing secret slips through.
  const path = u.pathname === '/' ? '' : u.pathname
  return `${u.protocol}//${u.host}${path}`
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi

/**
 * Every URL inside a free-text message (an SDK error, a peer's description) redacted as {@link redactUrl} does;
 * the last line of defence before text reaches a person.
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-7.5
 */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (match) => {
    // Keep sentence punctuation that the pattern swallowed outside the URL.
    const trail = /[.,;:)\]]+$/.exec(match)?.[0] ?? ''
    const bare = trail ? match.slice(0, -trail.length) : match
    if (!/[@?#]/.test(bare)) return match
    return redactUrl(bare) + trail
  })
}

// A password may hold '/', so for text the URL parser refused the authority cannot be trusted: the last '@'
// before the query is the only safe cut.
function redactUnparsed(raw: string): string {
  const cut = raw.replace(/[?#][\s\S]*$/, '')
  const at = cut.lastIndexOf('@')
  if (at === -1) return cut === raw ? cut : `${cut}…`
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(cut)?.[0] ?? ''
  return `${scheme}…@${cut.slice(at + 1)}${cut === raw ? '' : '…'}`
}

/**
 * Text a person typed where a URL was expected, fit for an error message: redacted as {@link redactUrl}
 * does (also when it is not a URL at all), and cut to `max` characters.
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-7.5
 */
export function redactInput(text: string, max = 100): string {
  const r = redactUrl(text.trim())
  return r.length > max ? `${r.slice(0, max)}…` : r
}
