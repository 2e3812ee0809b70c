/**
 * Naming why a request got no response at all (DNS, refused connection, TLS certificate, timeout), from the Node
 * error codes on a failed fetch's `cause` chain (fetch's own message is only "fetch failed"). One table for
 * `doctor` and for every other command. Pure: no I/O.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-4.3.4
 */

/** The kind of failure: each has its own fix. @see https://www.rfc-editor.org/rfc/rfc9110#section-4.3.4 */
export type NetworkFailureKind = 'dns' | 'refused' | 'tls' | 'timeout' | 'reset' | 'other'

/** TLS certificate failures: stable code, what it means, which fix. @see https://www.rfc-editor.org/rfc/rfc5280#section-6 */
export const TLS_FAILURES: Record<
  string,
  { code: 'tls_untrusted' | 'tls_self_signed' | 'tls_expired' | 'tls_name_mismatch'; what: string }
> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: { code: 'tls_self_signed', what: 'the certificate is self-signed' },
  SELF_SIGNED_CERT_IN_CHAIN: {
    code: 'tls_self_signed',
    what: 'the certificate chain ends in a self-signed CA this machine does not trust',
  },
  CERT_HAS_EXPIRED: { code: 'tls_expired', what: 'the certificate has expired' },
  CERT_NOT_YET_VALID: { code: 'tls_expired', what: 'the certificate is not valid yet' },
  ERR_TLS_CERT_ALTNAME_INVALID: {
    code: 'tls_name_mismatch',
    what: 'the certificate is for another host name',
  },
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: {
    code: 'tls_untrusted',
    what: 'the certificate chain is incomplete (intermediate certificate missing)',
  },
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: {
    code: 'tls_untrusted',
    what: 'the certificate was issued by a CA this machine does not trust',
  },
  UNABLE_TO_GET_ISSUER_CERT: { code: 'tls_untrusted', what: 'the issuer of the certificate cannot be found' },
  CERT_UNTRUSTED: { code: 'tls_untrusted', what: 'the certificate is not trusted' },
  CERT_SIGNATURE_FAILURE: { code: 'tls_untrusted', what: 'the certificate signature is invalid' },
}

const KINDS: Record<string, NetworkFailureKind> = {
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_NONAME: 'dns',
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  EHOSTUNREACH: 'refused',
  ENETUNREACH: 'refused',
}

/** What {@link classifyNetworkFailure} found. */
export interface NetworkFailure {
  kind: NetworkFailureKind
  /** The Node/undici error code, when there is one (ENOTFOUND, ECONNREFUSED, CERT_HAS_EXPIRED…). */
  nodeCode?: string
  /** The innermost message (e.g. "getaddrinfo ENOTFOUND host"). */
  message: string
}

/** The first Node error code on an error or its `cause` chain. @see https://nodejs.org/api/errors.html#errorcode */
export function errorCode(error: unknown): string | undefined {
  let e: unknown = error
  for (let depth = 0; e && depth < 6; depth++) {
    const code = (e as { code?: unknown }).code
    // Node and undici codes are upper case; mcp-oauth's own codes (network_error…) are not causes.
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code)) return code
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** The innermost error message (fetch's own message is only "fetch failed"). @see https://nodejs.org/api/errors.html */
export function rootMessage(error: unknown): string {
  let e: unknown = error
  let message = error instanceof Error ? error.message : String(error)
  for (let depth = 0; e && depth < 6; depth++) {
    if (e instanceof Error && e.message) message = e.message
    e = (e as { cause?: unknown }).cause
  }
  return message
}

function timedOut(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 6; depth++) {
    if ((e as { name?: unknown }).name === 'TimeoutError') return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}

/**
 * Classify a request that failed before any response.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-4.3.4
 */
export function classifyNetworkFailure(error: unknown): NetworkFailure {
  const nodeCode = errorCode(error)
  const message = rootMessage(error)
  const kind: NetworkFailureKind =
    nodeCode && nodeCode in TLS_FAILURES
      ? 'tls'
      : nodeCode && KINDS[nodeCode]
        ? KINDS[nodeCode]
        : timedOut(error)
          ? 'timeout'
          : 'other'
  return { kind, ...(nodeCode ? { nodeCode } : {}), message }
}

/**
 * One phrase for a failure where the URL is named elsewhere: "the host name was not found (ENOTFOUND)".
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-4.3.4
 */
export function describeNetworkFailure(f: NetworkFailure): string {
  const code = f.nodeCode ? ` (${f.nodeCode})` : ''
  switch (f.kind) {
    case 'dns':
      return `the host name was not found${code}`
    case 'refused':
      return `the connection was refused${code}`
    case 'tls':
      return `TLS failed: ${TLS_FAILURES[f.nodeCode!]!.what}${code}`
    case 'timeout':
      return `no answer in time${code}`
    case 'reset':
      return `the connection broke${code}`
    default:
      return `${f.message}${code}`
  }
}
