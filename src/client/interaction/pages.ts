/**
 * The small HTML pages the loopback callback server answers with: success, and an actionable error per cause.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */

/** Headers every loopback answer carries: no keep-alive (a pooled socket to a dead listener hangs the next sign-in), no caching, no referrer. @see https://www.rfc-editor.org/rfc/rfc8252#section-8.3 */
export const CALLBACK_HEADERS: Readonly<Record<string, string>> = {
  Connection: 'close',
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** HTML-escape text from the outside world (error codes and descriptions come from the authorization server). @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c)
}

/** A page: `title` and `lines` are plain text and are escaped here. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export function page(title: string, lines: string[], ok: boolean): string {
  const colour = ok ? '#1a7f37' : '#cf222e'
  const body = lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#1f2328}
h1{font-size:1.4em;color:${colour}}p{margin:.6em 0}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`
}

/** What the person should do for each RFC 6749 §4.1.2.1 error code. @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1 */
const ADVICE: Record<string, string> = {
  access_denied:
    'Access was not granted. If that was a mistake, start the sign-in again from your application and approve the request.',
  invalid_scope:
    'The server asked for permissions the authorization server does not know or allow. Ask the server administrator which scopes to use, or sign in with fewer scopes.',
  invalid_request:
    'The authorization server rejected the request as malformed. Run "mcp-oauth doctor <server>" to see what was sent.',
  unauthorized_client:
    'This client is not allowed to use this kind of sign-in. The client registration may need updating; try "mcp-oauth logout" and sign in again.',
  unsupported_response_type:
    'The authorization server does not support the authorization code flow for this client.',
  server_error: 'The authorization server had an internal error. Try again in a moment.',
  temporarily_unavailable: 'The authorization server is busy or down for maintenance. Try again in a moment.',
  login_required: 'You need to sign in at the authorization server. Start the sign-in again.',
  consent_required:
    'The authorization server needs your consent. Start the sign-in again and approve the request.',
  interaction_required: 'The authorization server needs you to interact with it. Start the sign-in again.',
}

/** Success: the code reached the application. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export function successPage(resource: string): string {
  return page(
    'Signed in',
    [
      `You are signed in${resource ? ` to ${resource}` : ''}. You can close this tab and return to your application.`,
    ],
    true,
  )
}

/** The AS answered with an error (shown only after `state` and `iss` passed). @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export function errorPage(error: string, description: string | undefined): string {
  const advice = ADVICE[error] ?? 'Start the sign-in again from your application.'
  const lines = [`The authorization server answered: ${error}.`]
  if (description) lines.push(`Its explanation: ${description}`)
  lines.push(advice)
  return page('Sign-in did not complete', lines, false)
}

/** A callback carrying a `state` that no sign-in in progress issued (a stale tab, a replay, a forgery). @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export function wrongStatePage(): string {
  return page(
    'This sign-in link is not the one in progress',
    [
      'This page belongs to an older or unknown sign-in attempt, so it was ignored.',
      'If a sign-in is still waiting, finish it in the newest tab your application opened; otherwise start again.',
    ],
    false,
  )
}

/** The response came from, or claims to come from, a different authorization server (RFC 9207 mix-up defence). @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export function issuerPage(): string {
  return page(
    'Sign-in refused: unexpected authorization server',
    [
      'The response did not come from the authorization server this sign-in was started with, so it was refused.',
      'Nothing was stored. Start the sign-in again; if this repeats, the server configuration may be wrong or someone may be interfering.',
    ],
    false,
  )
}

/** A malformed callback. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export function malformedPage(reason: string): string {
  return page('Sign-in response not understood', [`The response was malformed (${reason}).`], false)
}

/** The callback was handed to a sibling mcp-oauth process that started this sign-in. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export function relayedPage(): string {
  return page(
    'Sign-in response received',
    ['Another mcp-oauth process on this computer started this sign-in and received the response.'],
    true,
  )
}
