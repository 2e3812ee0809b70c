/**
 * Turns a callback verdict into what the browser sees and what the waiting flow gets, so the loopback server,
 * the relay from a sibling process and the paste prompt all decide the same way.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-response-validation
 */
import { McpOAuthError, ProtocolViolationError, SPEC } from '../../shared/errors.ts'
import type { CallbackVerdict } from './callback.ts'
import { errorPage, issuerPage, malformedPage, successPage, wrongStatePage } from './pages.ts'

/** The page to answer with, and the flow's result: a URL to hand to the engine, an error ending the flow, or nothing (keep waiting). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-response-validation */
export interface Outcome {
  status: number
  html: string
  result: URL | Error | undefined
}

/** Decide the page and the flow result for a verdict. @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4 */
export function outcomeOf(verdict: CallbackVerdict, resource: string): Outcome {
  switch (verdict.kind) {
    case 'code':
      return { status: 200, html: successPage(resource), result: verdict.url }
    case 'error':
      // The engine turns the error into an OAuthResponseError; state and iss have been checked, so showing it is allowed.
      return { status: 200, html: errorPage(verdict.error, verdict.error_description), result: verdict.url }
    case 'wrong_state':
      return { status: 400, html: wrongStatePage(), result: undefined }
    case 'iss_mismatch':
      return {
        status: 400,
        html: issuerPage(),
        result: new ProtocolViolationError(
          'iss_mismatch',
          'the authorization response names a different issuer than the one the sign-in started with',
          {
            spec: SPEC.mcpAuthIss,
            hint: 'possible mix-up attack or a misconfigured authorization server; nothing was stored, sign in again',
          },
        ),
      }
    case 'iss_missing':
      return {
        status: 400,
        html: issuerPage(),
        result: new ProtocolViolationError(
          'iss_missing',
          'the authorization server advertises authorization_response_iss_parameter_supported but sent no iss',
          {
            spec: SPEC.mcpAuthIss,
            hint: 'the authorization server is misconfigured; report it to its operator',
          },
        ),
      }
    case 'malformed':
      return {
        status: 400,
        html: malformedPage(verdict.reason),
        result: new ProtocolViolationError(
          'callback_malformed',
          `malformed authorization response: ${verdict.reason}`,
          {
            spec: SPEC.rfc6749,
            hint: 'sign in again; if this repeats, report it to the authorization server operator',
          },
        ),
      }
  }
}

/** The error a flow ends with when its signal aborts. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-response-validation */
export function abortedError(reason: unknown): McpOAuthError {
  return new McpOAuthError('sign_in_aborted', 'the sign-in was cancelled', {
    spec: SPEC.rfc8252,
    cause: reason,
    hint: 'start the sign-in again when ready',
  })
}
