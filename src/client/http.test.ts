import assert from 'node:assert/strict'
import { test } from 'node:test'
import { networkError } from './http.ts'

const failed = (code: string, message: string) =>
  new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) })
const URL_WITH_SECRETS = 'https://user:pw@mcp.example:8443/mcp?token=abc'

test('networkError names the cause and the fix, with the URL redacted', () => {
  const cases: Array<[unknown, string, RegExp, RegExp]> = [
    [
      failed('ENOTFOUND', 'getaddrinfo ENOTFOUND mcp.example'),
      'host_not_found',
      /the host name mcp\.example was not found \(ENOTFOUND\)/,
      /typo/,
    ],
    [
      failed('ECONNREFUSED', 'connect ECONNREFUSED'),
      'connection_refused',
      /mcp\.example refused the connection on port 8443 \(ECONNREFUSED\)/,
      /Check the port/,
    ],
    [
      failed('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'),
      'tls_self_signed',
      /TLS failed for https:\/\/mcp\.example:8443\/mcp: the certificate is self-signed/,
      /--ca-file FILE/,
    ],
    [
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      'timeout',
      /no answer in time/,
      /HTTPS_PROXY/,
    ],
  ]
  for (const [cause, code, message, hint] of cases) {
    const e = networkError(cause, URL_WITH_SECRETS)
    assert.equal(e.code, code)
    assert.match(e.message, message)
    assert.match(e.hint, hint)
    if (!code.startsWith('tls_')) assert.match(e.hint, /mcp-oauth doctor https:\/\/mcp\.example:8443\/mcp/)
    for (const secret of ['pw', 'user', 'token=abc'])
      assert.ok(!`${e.message} ${e.hint}`.includes(secret), secret)
  }
})
