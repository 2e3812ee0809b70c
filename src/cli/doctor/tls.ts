/**
 * Naming TLS failures from Node's error codes (found on `error.cause` of a failed fetch), with the `--ca-file`
 * hint for development servers and corporate proxies.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations
 */
import { errorCode, rootMessage, TLS_FAILURES } from '../../shared/network-failure.ts'
import { type Check, check, SPECS } from './report.ts'

export { errorCode, rootMessage }

/** Whether an error is a TLS certificate problem doctor can name. */
export function isTlsError(error: unknown): boolean {
  const code = errorCode(error)
  return code !== undefined && code in TLS_FAILURES
}

/**
 * A check for a request that failed before any response: a named TLS problem, or an unreachable host.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations
 */
export function connectionCheck(id: string, url: string, error: unknown): Check {
  const code = errorCode(error)
  const tls = code ? TLS_FAILURES[code] : undefined
  const known = tls && { diagnosis: tls.code, what: tls.what }
  const host = hostOf(url)
  if (known) {
    return check(id, 'fail', `TLS certificate of ${host}`, SPECS.mcpSecurity, `${known.what} (${code})`, {
      diagnosis: known.diagnosis,
      fix:
        known.diagnosis === 'tls_name_mismatch'
          ? `Serve a certificate whose subjectAltName includes ${host}.`
          : known.diagnosis === 'tls_expired'
            ? `Renew the certificate of ${host}.`
            : `Serve a certificate from a public CA (with its full chain); users of a private CA pass it with --ca-file FILE.`,
    })
  }
  return check(
    id,
    'fail',
    `Reaching ${host}`,
    SPECS.mcpSecurity,
    `no response from ${url}: ${rootMessage(error)}${code ? ` (${code})` : ''}`,
    { fix: 'Check that the server is up and reachable at this URL (DNS, firewall, proxy).' },
  )
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}
