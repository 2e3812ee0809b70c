/**
 * The server's own HTML: login, consent and error pages. Plain forms, no JavaScript, labelled fields,
 * and headers that forbid framing.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations
 */
import type { ServerResponse } from 'node:http'

/** Escapes text for HTML element and attribute content. @see https://html.spec.whatwg.org/multipage/parsing.html#escapingString */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

/**
 * Text a client chose, made safe to show: control, bidirectional-override and invisible characters removed
 * (a U+202E cannot reverse what the person reads), whitespace collapsed, at most 80 characters.
 * @see https://www.unicode.org/reports/tr36/#Bidirectional_Text_Spoofing
 */
export function displayText(value: unknown): string {
  const cleaned = String(value ?? '')
    .normalize('NFC')
    .replace(
      /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\ufff9-\ufffb]/gu,
      ' ',
    )
    .replace(/\s+/gu, ' ')
    .trim()
  return [...cleaned].length > 80 ? `${[...cleaned].slice(0, 79).join('')}…` : cleaned
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1d21}
main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.55rem;border:1px solid #888;border-radius:4px;font:inherit}
button{font:inherit;padding:.55rem 1.2rem;border-radius:4px;border:1px solid #1a56db;background:#1a56db;color:#fff;cursor:pointer;margin:1rem .5rem 0 0}
button.secondary{background:#fff;color:#1a56db}.error{color:#a30000;background:#fdecec;padding:.5rem;border-radius:4px}
ul{padding-left:1.2rem}code{background:#eef;padding:0 .2rem;border-radius:3px}small{color:#555}`

/** Content-Security-Policy of every page: nothing but inline style, no framing. @see https://www.w3.org/TR/CSP3/#directive-frame-ancestors */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"

/** Sends a complete page with anti-framing, no-store and nosniff headers. @see https://www.rfc-editor.org/rfc/rfc7034 */
export function sendPage(res: ServerResponse, status: number, title: string, body: string): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`
  res.statusCode = status
  res.setHeader('content-type', 'text/html; charset=utf-8')
  res.setHeader('cache-control', 'no-store')
  res.setHeader('content-security-policy', PAGE_CSP)
  res.setHeader('x-frame-options', 'DENY')
  res.setHeader('x-content-type-options', 'nosniff')
  res.setHeader('referrer-policy', 'no-referrer')
  res.end(html)
}

/** What the login page shows. */
export interface LoginView {
  action: string
  csrf: string
  clientName: string
  username?: string
  error?: string
  /** A second way in: sign in at an upstream identity provider. */
  upstream?: { action: string; name: string; only?: boolean }
}

/** The sign-in form. @see https://openid.net/specs/openid-connect-core-1_0.html#Authenticates */
export function loginPage(view: LoginView): string {
  const passwordForm = view.upstream?.only
    ? ''
    : `<form method="post" action="${escapeHtml(view.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(view.csrf)}">
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" required autofocus value="${escapeHtml(view.username)}">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`
  return `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(view.clientName)}</strong></p>
${view.error ? `<p class="error" role="alert">${escapeHtml(view.error)}</p>` : ''}
${passwordForm}${
  view.upstream
    ? `
<form method="post" action="${escapeHtml(view.upstream.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(view.csrf)}">
<button type="submit" class="secondary">Sign in with ${escapeHtml(view.upstream.name)}</button>
</form>`
    : ''
}`
}

/** What the consent page shows. */
export interface ConsentView {
  action: string
  abortAction: string
  csrf: string
  /** The client as {@link displayText} left it: its self-chosen name, its metadata document's host, its redirect host. */
  client: { name: string; documentHost?: string; redirectHost: string }
  account: string
  scopes: { name: string; description?: string }[]
  resources: string[]
}

/** The consent form naming client, host, scopes and resources. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations */
export function consentPage(view: ConsentView): string {
  const { client } = view
  const claimed = client.name ? `"${escapeHtml(client.name)}"` : 'no name'
  const who = client.documentHost
    ? `The application published at <strong>${escapeHtml(client.documentHost)}</strong> (it calls itself ${claimed})`
    : `An application that calls itself <strong>${claimed}</strong> <em>(name not verified)</em>`
  const scopes = view.scopes.length
    ? `<ul>${view.scopes
        .map(
          (s) =>
            `<li><code>${escapeHtml(s.name)}</code>${s.description ? ` ${escapeHtml(s.description)}` : ''}</li>`,
        )
        .join('')}</ul>`
    : '<p>No specific permissions.</p>'
  const resources = view.resources.length
    ? `<p>For: ${view.resources.map((r) => `<code>${escapeHtml(r)}</code>`).join(', ')}</p>`
    : ''
  return `<h1>Allow access?</h1>
<p>${who} wants to act as <strong>${escapeHtml(view.account)}</strong>.</p>
<p>If you allow, access is sent back to <strong>${escapeHtml(client.redirectHost)}</strong>.</p>
<h2>Permissions requested</h2>
${scopes}
${resources}
<form method="post" action="${escapeHtml(view.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(view.csrf)}">
<button type="submit">Allow</button>
<button type="submit" class="secondary" formaction="${escapeHtml(view.abortAction)}">Deny</button>
</form>
<p><small>Only allow applications you trust.</small></p>`
}

/** An error page carrying the OAuth error code and description. @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1 */
export function errorPage(error: string, description?: string, hint?: string): string {
  return `<h1>Something went wrong</h1>
<p class="error" role="alert"><strong>${escapeHtml(error)}</strong>${description ? `: ${escapeHtml(description)}` : ''}</p>
<p>${hint ? `${escapeHtml(hint)}. ` : ''}Return to the application and start signing in again.</p>`
}
