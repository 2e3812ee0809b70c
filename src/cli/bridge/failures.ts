/**
 * How the bridge reads a failure: a lost 2025 session, the JSON-RPC error code it answers the host with, and a
 * one-line description without URLs' secrets.
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#session-management
 */
import { isMcpOAuthError } from '../../shared/errors.ts'
import { redactUrlsIn } from '../../shared/redact.ts'

/** JSON-RPC error codes the bridge answers with. @see https://www.jsonrpc.org/specification#error_object */
export const INTERNAL = -32603
const METHOD_NOT_FOUND = -32601

/** Whether a 2025 server forgot the session (404): the bridge initializes again. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#session-management */
export function isSessionLost(e: unknown): boolean {
  const status =
    (e as { status?: number; data?: { status?: number } })?.status ??
    (e as { data?: { status?: number } })?.data?.status
  return status === 404 || /\b404\b|session not found/i.test(describe(e))
}

/** The JSON-RPC error code a failure becomes for the host. @see https://www.jsonrpc.org/specification#error_object */
export function errorCode(e: unknown): number {
  return /method not found/i.test(describe(e)) ? METHOD_NOT_FOUND : INTERNAL
}

/** One line about a failure, its hint included, URLs redacted. @see https://www.rfc-editor.org/rfc/rfc6750#section-5.3 */
export function describe(e: unknown): string {
  if (isMcpOAuthError(e)) return redactUrlsIn(`${e.message} (${e.hint})`)
  return redactUrlsIn(e instanceof Error ? e.message : String(e))
}
