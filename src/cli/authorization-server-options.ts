/**
 * The flags for authorization servers that need more than the spec: provider-specific authorization parameters
 * (`--authorize-param`), the resource policy (`--resource-parameter`), and endpoints given by hand for servers
 * that publish no metadata (`--authorization-endpoint`, `--token-endpoint`, `--as-metadata FILE`).
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
import { readFileSync } from 'node:fs'
import type { SessionOptions } from '../client/index.ts'
import { InvalidArgumentError } from '../shared/errors.ts'

/** parseArgs option table for these flags. @see https://www.rfc-editor.org/rfc/rfc6749#section-3.1 */
export const AUTHORIZATION_SERVER_FLAGS = {
  'authorize-param': { type: 'string', multiple: true },
  'resource-parameter': { type: 'string' },
  'authorization-endpoint': { type: 'string' },
  'token-endpoint': { type: 'string' },
  'revocation-endpoint': { type: 'string' },
  issuer: { type: 'string' },
  'as-metadata': { type: 'string' },
} as const

/** Help lines for these flags. @see https://www.rfc-editor.org/rfc/rfc6749#section-3.1 */
export const AUTHORIZATION_SERVER_FLAGS_HELP = `  --authorize-param NAME=VALUE  extra authorization parameter (repeatable), e.g. access_type=offline for
                             Google; never state, PKCE, redirect_uri, client_id, response_type, scope, resource
  --resource-parameter send|omit  send the resource indicator (default; dropped automatically, once and
                             remembered, when the authorization server refuses it) or never send it
  --authorization-endpoint URL, --token-endpoint URL, --revocation-endpoint URL, --issuer URL
                             the authorization server's endpoints, for servers that publish no metadata
                             (GitHub OAuth apps); authorization server discovery is then skipped
  --as-metadata FILE         the same as an RFC 8414 JSON document (the endpoint flags override its fields)`

/** The parsed flags. @see https://www.rfc-editor.org/rfc/rfc6749#section-3.1 */
export type AuthorizationServerFlags = {
  'authorize-param'?: string[]
  'resource-parameter'?: string
  'authorization-endpoint'?: string
  'token-endpoint'?: string
  'revocation-endpoint'?: string
  issuer?: string
  'as-metadata'?: string
  resource?: string
}

function usageError(message: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_usage', message, { hint })
}

function authorizationParams(list: string[] | undefined): Record<string, string> | undefined {
  if (!list?.length) return undefined
  const out: Record<string, string> = {}
  for (const item of list) {
    const eq = item.indexOf('=')
    if (eq <= 0)
      throw usageError(
        `bad --authorize-param "${item.slice(0, 40)}"`,
        'Write it as --authorize-param name=value.',
      )
    out[item.slice(0, eq).trim()] = item.slice(eq + 1)
  }
  return out
}

function metadataFile(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    throw usageError(`cannot read --as-metadata ${file}`, 'Pass a readable JSON file (RFC 8414 metadata).')
  }
  try {
    const v = JSON.parse(text) as unknown
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>
  } catch {}
  throw usageError(
    `--as-metadata ${file} is not a JSON object`,
    'Write {"authorization_endpoint": "…", "token_endpoint": "…"} (RFC 8414 field names).',
  )
}

/**
 * Session options from these flags: `authorizationParams`, `resourceParameter`, `authorizationServerMetadata`.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export function authorizationServerOptions(flags: AuthorizationServerFlags): Partial<SessionOptions> {
  const out: Partial<SessionOptions> = {}
  const params = authorizationParams(flags['authorize-param'])
  if (params) out.authorizationParams = params
  const policy = flags['resource-parameter']
  if (policy !== undefined) {
    if (policy !== 'send' && policy !== 'omit')
      throw usageError(`bad --resource-parameter ${policy}`, 'Use --resource-parameter send or omit.')
    if (policy === 'omit' && flags.resource)
      throw usageError(
        '--resource-parameter omit contradicts --resource',
        'Pass either --resource URI (send that value) or --resource-parameter omit (send none).',
      )
    out.resourceParameter = policy
  }
  const given: Record<string, unknown> = flags['as-metadata'] ? metadataFile(flags['as-metadata']) : {}
  const fields = {
    authorization_endpoint: flags['authorization-endpoint'],
    token_endpoint: flags['token-endpoint'],
    revocation_endpoint: flags['revocation-endpoint'],
    issuer: flags.issuer,
  }
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) given[k] = v
  if (Object.keys(given).length === 0) return out
  if (typeof given['token_endpoint'] !== 'string' || typeof given['authorization_endpoint'] !== 'string') {
    throw usageError(
      'the authorization server needs both an authorization endpoint and a token endpoint',
      'Pass --authorization-endpoint URL and --token-endpoint URL, or --as-metadata FILE with both.',
    )
  }
  out.authorizationServerMetadata = given as SessionOptions['authorizationServerMetadata'] & object
  return out
}
