/**
 * Registration checks: which ways a new client can get a client ID (pre-registration, Client ID Metadata
 * Documents, Dynamic Client Registration), and what a live DCR test of a native loopback client showed.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration
 */
import type { AuthorizationServerMetadata } from '../../shared/authorization-server.ts'
import { type Check, check, SPECS } from './report.ts'

/** What the live DCR test (or the sign-in's own registration) observed. */
export type DcrOutcome =
  | { kind: 'not-run'; reason: string }
  | { kind: 'registered'; client_id: string; deleted: 'yes' | 'not-offered' | { status: number } }
  | { kind: 'registered-by-sign-in'; client_id: string; deleted: 'yes' | 'not-offered' | { status: number } }
  | { kind: 'refused'; status?: number | undefined; error: string; description?: string | undefined }

/** What the user configured for registration. */
export interface RegistrationInputs {
  preRegisteredClientId?: string | undefined
  clientMetadataUrl?: string | undefined
}

/**
 * Static registration checks over the AS metadata.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration
 */
export function checkRegistrationOptions(md: AuthorizationServerMetadata, i: RegistrationInputs): Check[] {
  const checks: Check[] = []
  checks.push(
    check(
      'registration.pre_registered',
      'info',
      'Pre-registered client',
      SPECS.mcpPreRegistration,
      i.preRegisteredClientId
        ? `using client ${i.preRegisteredClientId} given with --client-id`
        : 'none given (pass --client-id if the operator issued you one)',
    ),
  )
  const cimd = md.client_id_metadata_document_supported === true
  checks.push(
    cimd
      ? check(
          'registration.cimd',
          'pass',
          'Client ID Metadata Documents',
          SPECS.mcpCimd,
          'client_id_metadata_document_supported: true',
        )
      : check(
          'registration.cimd',
          'warn',
          'Client ID Metadata Documents',
          SPECS.mcpCimd,
          'not supported: every client must be pre-registered or use DCR',
          {
            fix: 'Accept https client_id URLs (Client ID Metadata Documents) and set client_id_metadata_document_supported: true.',
          },
        ),
  )
  if (md.registration_endpoint) {
    checks.push(
      check(
        'registration.dcr',
        'pass',
        'Dynamic Client Registration',
        SPECS.mcpDcr,
        `registration_endpoint ${md.registration_endpoint}`,
      ),
    )
  } else {
    const other = cimd || i.preRegisteredClientId
    checks.push(
      check(
        'registration.dcr',
        other ? 'warn' : 'fail',
        'Dynamic Client Registration',
        SPECS.mcpDcr,
        other
          ? 'registration_endpoint missing: clients without Client ID Metadata Document support cannot register'
          : 'registration_endpoint missing and no Client ID Metadata Documents: a new client has no way to get a client ID',
        {
          diagnosis: 'registration_endpoint_missing',
          fix: 'Enable Dynamic Client Registration (RFC 7591) and list registration_endpoint in the metadata, or support Client ID Metadata Documents.',
        },
      ),
    )
  }
  return checks
}

/**
 * The live DCR check: a native client with a loopback redirect URI registered (then deleted, RFC 7592), or why not.
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-3
 */
export function checkDcrOutcome(outcome: DcrOutcome): Check {
  const title = 'DCR accepts a native loopback client'
  switch (outcome.kind) {
    case 'not-run':
      return check('registration.dcr_live', 'info', title, SPECS.rfc7591, outcome.reason)
    case 'refused': {
      const forbidden = outcome.status === 401 || outcome.status === 403
      const detail = `registration refused${outcome.status ? ` with ${outcome.status}` : ''}: ${outcome.error}${outcome.description ? ` (${outcome.description.slice(0, 200)})` : ''}`
      return check('registration.dcr_live', 'fail', title, SPECS.rfc7591, detail, {
        ...(forbidden ? { diagnosis: 'dcr_allowlisted' as const } : {}),
        fix: forbidden
          ? 'Registration is allow-listed (by client name or software statement): open it to MCP clients, or remove registration_endpoint and issue client IDs.'
          : outcome.error === 'invalid_redirect_uri'
            ? 'Accept loopback redirect URIs (http://127.0.0.1:<any port>/…) for native clients (RFC 8252 §7.3).'
            : 'Accept RFC 7591 registrations of public native clients (token_endpoint_auth_method "none", loopback redirect URI).',
      })
    }
    default: {
      const title =
        outcome.kind === 'registered'
          ? 'DCR accepts a native loopback client'
          : "DCR accepts the sign-in's client"
      const how =
        outcome.kind === 'registered'
          ? `test client ${outcome.client_id} registered`
          : `the sign-in registered client ${outcome.client_id}`
      if (outcome.deleted === 'yes')
        return check(
          'registration.dcr_live',
          'pass',
          title,
          SPECS.rfc7591,
          `${how}; deleted afterwards (RFC 7592)`,
        )
      const why =
        outcome.deleted === 'not-offered'
          ? 'the AS offers no RFC 7592 management (no registration_client_uri)'
          : `DELETE answered ${outcome.deleted.status}`
      return check(
        'registration.dcr_live',
        outcome.kind === 'registered' ? 'warn' : 'pass',
        title,
        SPECS.rfc7591,
        `${how}; it could not be removed afterwards: ${why}`,
        {
          fix: `Remove client ${outcome.client_id} by hand; offer RFC 7592 DELETE so clients can clean up after themselves.`,
        },
      )
    }
  }
}
