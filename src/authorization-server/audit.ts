/**
 * The audit log: one structured event per registration, sign-in, consent, grant, refresh and revocation.
 * Events carry identifiers of clients and accounts, never tokens or secrets.
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14
 */
import type Provider from 'oidc-provider'

/** One audit event. @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14 */
export interface AuditEvent {
  type: string
  client_id?: string | undefined
  sub?: string | undefined
  grant_id?: string | undefined
  [field: string]: unknown
}

/** Where audit events go. */
export type AuditSink = (event: AuditEvent) => void

/** A sink writing JSON lines (with a timestamp) to a writable stream, e.g. stderr. @see https://jsonlines.org/ */
export function jsonLinesAudit(stream: { write(line: string): unknown }): AuditSink {
  return (event) => {
    stream.write(`${JSON.stringify({ at: new Date().toISOString(), audit: true, ...event })}\n`)
  }
}

/** Subscribes to oidc-provider's events and forwards the security-relevant ones. @see https://github.com/panva/node-oidc-provider/blob/main/docs/events.md */
export function auditProviderEvents(provider: Provider, sink: AuditSink): void {
  const safe = (event: AuditEvent) => {
    try {
      sink(event)
    } catch {}
  }
  provider.on('registration_create.success', (_ctx, client) => {
    safe({ type: 'client.registered', client_id: client.clientId, application_type: client.applicationType })
  })
  provider.on('grant.success', (ctx) => {
    const grantType = ctx.oidc?.params?.grant_type
    safe({
      type: grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued',
      grant_type: grantType,
      client_id: ctx.oidc?.client?.clientId,
      sub: ctx.oidc?.entities?.Account?.accountId,
      grant_id: ctx.oidc?.entities?.Grant?.jti,
    })
  })
  provider.on('grant.error', (ctx, error) => {
    safe({
      type: 'token.refused',
      client_id: ctx.oidc?.client?.clientId,
      error: error?.error,
      description: error?.error_description,
    })
  })
  provider.on('grant.revoked', (ctx, grantId) => {
    safe({
      type: 'grant.revoked',
      client_id: ctx.oidc?.client?.clientId,
      grant_id: grantId,
      route: ctx.oidc?.route,
    })
  })
  for (const kind of ['access_token', 'refresh_token']) {
    provider.on(`${kind}.destroyed`, (token) => {
      safe({ type: `${kind}.revoked`, client_id: token.clientId, grant_id: token.grantId })
    })
  }
  provider.on('authorization.error', (ctx, error) => {
    safe({
      type: 'authorization.refused',
      client_id: ctx.oidc?.client?.clientId,
      error: error?.error,
      description: error?.error_description,
    })
  })
}
