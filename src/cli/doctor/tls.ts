/**
 * Naming TLS failures from Node's error codes (found on `error.cause` of a failed fetch), with the `--ca-file`
 * hint for development servers and corporate proxies.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations
 */
import { type Check, check, type Diagnosis, SPECS } from './report.ts'

const CODES: Record<string, { diagnosis: Diagnosis; what: string }> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: { diagnosis: 'tls_self_signed', what: 'the certificate is self-signed' },
  SELF_SIGNED_CERT_IN_CHAIN: {
    diagnosis: 'tls_self_signed',
    what: 'the certificate chain ends in a self-signed CA this machine does not trust',
  },
  CERT_HAS_EXPIRED: { diagnosis: 'tls_expired', what: 'the certificate has expired' },
  CERT_NOT_YET_VALID: { diagnosis: 'tls_expired', what: 'the certificate is not valid yet' },
  ERR_TLS_CERT_ALTNAME_INVALID: {
    diagnosis: 'tls_name_mismatch',
    what: 'the certificate is for another host name',
  },
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: {
    diagnosis: 'tls_untrusted',
    what: 'the certificate chain is incomplete (intermediate certificate missing)',
  },
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: {
    diagnosis: 'tls_untrusted',
    what: 'the certificate was issued by a CA this machine does not trust',
  },
  UNABLE_TO_GET_ISSUER_CERT: {
    diagnosis: 'tls_untrusted',
    what: 'the issuer of the certificate cannot be found',
  },
  CERT_UNTRUSTED: { diagnosis: 'tls_untrusted', what: 'the certificate is not trusted' },
  CERT_SIGNATURE_FAILURE: { diagnosis: 'tls_untrusted', what: 'the certificate signature is invalid' },
}

/** The first Node error code on an error or its `cause` chain. */
export function errorCode(error: unknown): string | undefined {
  let e: unknown = error
  for (let depth = 0; e && depth < 6; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && code !== 'network_error') return code
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** The innermost error message (fetch's own message is only "fetch failed"). */
export function rootMessage(error: unknown): string {
  let e: unknown = error
  let message = error instanceof Error ? error.message : String(error)
  for (let depth = 0; e && depth < 6; depth++) {
    if (e instanceof Error && e.message) message = e.message
    e = (e as { cause?: unknown }).cause
  }
  return message
}

/** Whether an error is a TLS certificate problem doctor can name. */
export function isTlsError(error: unknown): boolean {
  const code = errorCode(error)
  return code !== undefined && code in CODES
}

/**
 * A check for a request that failed before any response: a named TLS problem, or an unreachable host.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations
 */
export function connectionCheck(id: string, url: string, error: unknown): Check {
  const code = errorCode(error)
  const known = code ? CODES[code] : undefined
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
