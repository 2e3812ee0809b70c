/**
 * URLs as messages may show them: scheme, host, port and path only. Userinfo (`user:password@`), the query
 * (`?token=…`) and the fragment can carry credentials, so they never reach a log line, an error or `status`.
 * Pure: no I/O.
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-3.2.1
 */

/**
 * The URL without userinfo, query and fragment, for messages; `(invalid url)` when it does not parse.
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-7.5
 */
export function redactUrl(url: string | URL): string {
  let u: URL
  try {
    u = new URL(String(url))
  } catch {
    return '(invalid url)'
  }
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
    const redacted = redactUrl(bare)
    return redacted === '(invalid url)' ? bare.replace(/[@?#].*$/, '…') + trail : redacted + trail
  })
}
