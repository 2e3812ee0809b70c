/**
 * Checks an authorization response (the URL the browser was sent back to) before anything touches the code:
 * `state` first, then `iss` by the MCP 2026-07-28 four-row table, then the error, if any.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-response-validation
 */
import { timingSafeEqual } from 'node:crypto'
import type { AuthorizeContext } from '../authorizer.ts'

/** The verdict on one callback. `wrong_state` leaves the flow waiting; `iss_*` end it; `error` carries the AS's error. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-response-validation */
export type CallbackVerdict =
  | { kind: 'code'; url: URL }
  | { kind: 'error'; url: URL; error: string; error_description: string | undefined }
  | { kind: 'wrong_state' }
  | { kind: 'iss_mismatch' }
  | { kind: 'iss_missing' }
  | { kind: 'malformed'; reason: string }

/** What the validation needs from the flow. @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4 */
export type CallbackExpectation = Pick<AuthorizeContext, 'state' | 'expectedIssuer' | 'issParameterSupported'>

/** Constant-time string equality: the `state` is a secret the callback proves knowledge of. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Classify a callback URL. `iss` is compared by exact string equality after form decoding (no case folding,
 * no trailing-slash or port normalization); on an `iss` problem the AS's `error` fields are never surfaced.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-response-validation
 */
export function validateCallback(url: URL, expected: CallbackExpectation): CallbackVerdict {
  const params = url.searchParams
  for (const name of ['state', 'iss', 'code', 'error']) {
    if (params.getAll(name).length > 1) return { kind: 'malformed', reason: `repeated ${name} parameter` }
  }
  const state = params.get('state')
  if (state === null || !sameSecret(state, expected.state)) return { kind: 'wrong_state' }
  const iss = params.get('iss')
  if (iss !== null) {
    if (iss !== expected.expectedIssuer) return { kind: 'iss_mismatch' }
  } else if (expected.issParameterSupported) {
    return { kind: 'iss_missing' }
  }
  const error = params.get('error')
  if (error !== null) {
    return { kind: 'error', url, error, error_description: params.get('error_description') ?? undefined }
  }
  if (!params.get('code')) return { kind: 'malformed', reason: 'neither code nor error in the callback' }
  return { kind: 'code', url }
}
