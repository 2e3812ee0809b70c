/**
 * One error base class for everything mcp-oauth throws. Callers switch on `code`, never on message text.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */

/** Where in the specs a rule lives; used as the `spec` link of an error. */
export const SPEC = {
  mcpAuth: 'https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization',
  mcpAuthIss:
    'https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-response-validation',
  mcpScope:
    'https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-selection-strategy',
  mcpStepUp:
    'https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#step-up-authorization-flow',
  mcpDiscovery:
    'https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery',
  mcpRegistration:
    'https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration',
  mcpSecurity:
    'https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations',
  mcpHttp: 'https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http',
  rfc6749: 'https://www.rfc-editor.org/rfc/rfc6749',
  rfc6750: 'https://www.rfc-editor.org/rfc/rfc6750#section-3',
  rfc7009: 'https://www.rfc-editor.org/rfc/rfc7009',
  rfc7591: 'https://www.rfc-editor.org/rfc/rfc7591',
  rfc7636: 'https://www.rfc-editor.org/rfc/rfc7636',
  rfc7662: 'https://www.rfc-editor.org/rfc/rfc7662',
  rfc8252: 'https://www.rfc-editor.org/rfc/rfc8252#section-7.3',
  rfc8414: 'https://www.rfc-editor.org/rfc/rfc8414#section-3.3',
  rfc8628: 'https://www.rfc-editor.org/rfc/rfc8628',
  rfc8707: 'https://www.rfc-editor.org/rfc/rfc8707#section-2',
  rfc9068: 'https://www.rfc-editor.org/rfc/rfc9068',
  rfc9110: 'https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1',
  rfc9207: 'https://www.rfc-editor.org/rfc/rfc9207#section-2.4',
  rfc9449: 'https://www.rfc-editor.org/rfc/rfc9449',
  rfc9728: 'https://www.rfc-editor.org/rfc/rfc9728#section-3.3',
  cimd: 'https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/',
  nodeEngines: 'https://docs.npmjs.com/cli/configuring-npm/package-json#engines',
} as const

/** The oldest Node.js mcp-oauth runs on: package.json `engines.node` (a unit test keeps the two equal). @see https://docs.npmjs.com/cli/configuring-npm/package-json#engines */
export const MINIMUM_NODE = '22.18'

/** Options every mcp-oauth error takes. */
export interface McpOAuthErrorOptions {
  /** Spec section the rule rests on. */
  spec?: string
  /** One line telling the reader what to do next. */
  hint?: string
  /** Underlying error. */
  cause?: unknown
  /** Machine-readable facts (never secrets). */
  details?: Record<string, unknown>
}

/**
 * Base class of every error mcp-oauth throws: a stable `code`, the `spec` section it enforces and a `hint`.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export class McpOAuthError extends Error {
  /** Stable identifier to switch on. */
  readonly code: string
  /** Link to the spec section the check enforces. */
  readonly spec: string
  /** What to do next, in one line. */
  readonly hint: string
  /** Structured, secret-free facts about the failure. */
  readonly details: Record<string, unknown>

  constructor(code: string, message: string, options: McpOAuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.spec = options.spec ?? SPEC.mcpAuth
    this.hint = options.hint ?? ''
    this.details = options.details ?? {}
  }

  /** A JSON form suitable for `--json` output and logs (no stack, no secrets). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      spec: this.spec,
      hint: this.hint,
      details: this.details,
    }
  }
}

/** The peer (server, authorization server, browser callback) broke a protocol rule. @see https://www.rfc-editor.org/rfc/rfc6749 */
export class ProtocolViolationError extends McpOAuthError {}

/** An OAuth error response (RFC 6749 §5.2 / §4.1.2.1) from the authorization server. @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 */
export class OAuthResponseError extends McpOAuthError {
  /** The `error` code the authorization server returned. */
  readonly error: string
  /** The `error_description` it returned, if any. */
  readonly error_description: string | undefined
  /** HTTP status of the response, when there was one. */
  readonly status: number | undefined

  constructor(
    error: string,
    error_description: string | undefined,
    options: McpOAuthErrorOptions & { status?: number; code?: string } = {},
  ) {
    super(
      options.code ?? `oauth_${error}`,
      `authorization server answered ${error}${error_description ? `: ${error_description}` : ''}`,
      { spec: SPEC.rfc6749, ...options },
    )
    this.error = error
    this.error_description = error_description
    this.status = options.status
  }
}

/** The flow needs a person (sign-in, consent, device code) and none could be asked. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export class InteractionRequiredError extends McpOAuthError {}

/** The caller passed something unusable (bad URL, missing option). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export class InvalidArgumentError extends McpOAuthError {}

/** The network failed or timed out talking to a peer; usually transient. @see https://www.rfc-editor.org/rfc/rfc9110 */
export class TransportError extends McpOAuthError {}

/** This JavaScript runtime lacks something mcp-oauth needs (e.g. a Node.js without `node:sqlite`). @see https://docs.npmjs.com/cli/configuring-npm/package-json#engines */
export class UnsupportedRuntimeError extends McpOAuthError {}

/**
 * The `unsupported_runtime` error for a missing built-in (`feature`): the Node.js version needed, the one found,
 * and how to get a newer one.
 * @see https://docs.npmjs.com/cli/configuring-npm/package-json#engines
 */
export function unsupportedRuntime(
  feature: string,
  cause?: unknown,
  found: string = process.versions.node,
): UnsupportedRuntimeError {
  const major = MINIMUM_NODE.split('.')[0]
  return new UnsupportedRuntimeError(
    'unsupported_runtime',
    `mcp-oauth needs Node.js >=${MINIMUM_NODE} but found Node.js ${found}, which has no ${feature}`,
    {
      spec: SPEC.nodeEngines,
      hint: `install Node ${MINIMUM_NODE} or newer from https://nodejs.org or with your version manager (nvm install ${major})`,
      cause,
      details: { needed: `>=${MINIMUM_NODE}`, found, missing: feature },
    },
  )
}

/** Narrow `unknown` to an mcp-oauth error with the given code. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export function isMcpOAuthError(value: unknown, code?: string): value is McpOAuthError {
  return value instanceof McpOAuthError && (code === undefined || value.code === code)
}
