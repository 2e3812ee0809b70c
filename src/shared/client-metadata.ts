/**
 * Client ID Metadata Documents: the document an MCP client publishes at its `client_id` URL.
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/
 */
import { InvalidArgumentError, SPEC } from './errors.ts'

/** The fields MCP requires, plus the optional RFC 7591 ones a client usually sets. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration#client-id-metadata-documents */
export interface ClientMetadataDocument {
  client_id: string
  client_name: string
  redirect_uris: string[]
  grant_types?: string[]
  response_types?: string[]
  token_endpoint_auth_method?: 'none' | 'private_key_jwt'
  jwks_uri?: string
  client_uri?: string
  logo_uri?: string
  scope?: string
  software_id?: string
  software_version?: string
  [extension: string]: unknown
}

function invalid(message: string, hint: string): never {
  throw new InvalidArgumentError('invalid_client_metadata_document', message, { spec: SPEC.cimd, hint })
}

/**
 * Check a document against its URL: `client_id` equal to the URL exactly, an https URL with a path,
 * `client_name` and `redirect_uris` present, and no shared-secret authentication.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration#implementation-requirements
 */
export function validateClientMetadataDocument(doc: unknown, url: string): ClientMetadataDocument {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return invalid('the document URL is not absolute', 'Publish the document at an https URL with a path.')
  }
  if (u.protocol !== 'https:' || u.pathname === '/' || u.hash) {
    invalid(
      `${url} is not an https URL with a path`,
      'Use a URL such as https://app.example/oauth/client.json.',
    )
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    invalid('the document is not a JSON object', 'Serve a JSON object.')
  const d = doc as Record<string, unknown>
  if (d['client_id'] !== url) {
    invalid('client_id does not equal the document URL exactly', `Set "client_id" to "${url}".`)
  }
  if (typeof d['client_name'] !== 'string' || !d['client_name'])
    invalid('client_name is missing', 'Add a human-readable "client_name".')
  const uris = d['redirect_uris']
  if (!Array.isArray(uris) || uris.length === 0 || uris.some((r) => typeof r !== 'string')) {
    invalid('redirect_uris must be a non-empty array of strings', 'List the redirect URIs the app uses.')
  }
  const method = d['token_endpoint_auth_method']
  if (method !== undefined && method !== 'none' && method !== 'private_key_jwt') {
    invalid(
      `token_endpoint_auth_method ${String(method)} needs a shared secret`,
      'Use "none" or "private_key_jwt" (with jwks_uri).',
    )
  }
  return d as ClientMetadataDocument
}

/**
 * Build the document an app publishes at `url` (validated before it is returned).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration#client-id-metadata-documents
 */
export function clientMetadataDocument(
  url: string,
  fields: Omit<ClientMetadataDocument, 'client_id'>,
): ClientMetadataDocument {
  return validateClientMetadataDocument(
    {
      client_id: url,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...fields,
    },
    url,
  )
}
