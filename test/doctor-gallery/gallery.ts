/**
 * The gallery: one deliberately broken server per named diagnosis, plus a healthy one. Each entry is one switch
 * of the gallery server (server.ts), the doctor flags it needs, and the diagnosis doctor must name.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import type { Diagnosis } from '../../src/cli/doctor/report.ts'
import type { Defects } from './defects.ts'

/** One exhibit. */
export interface Exhibit {
  name: string
  /** The one defect. */
  defects: Defects
  /** Extra doctor flags (--register for the live DCR test, --login for after-sign-in checks). */
  args: string[]
  /** What doctor must report. */
  expect: { diagnosis: Diagnosis; status: 'fail' | 'warn'; id: string }
}

/** Every named diagnosis of `mcp-oauth doctor`, each on its own server. */
export const EXHIBITS: Exhibit[] = [
  {
    name: 'metadata only at openid-configuration',
    defects: { oidcOnly: true },
    args: [],
    expect: { diagnosis: 'metadata_only_at_openid_configuration', status: 'warn', id: 'as.found' },
  },
  {
    name: 'registration_endpoint missing',
    defects: { noRegistrationEndpoint: true },
    args: [],
    expect: { diagnosis: 'registration_endpoint_missing', status: 'fail', id: 'registration.dcr' },
  },
  {
    name: 'DCR allow-listed by client name (403 on register)',
    defects: { dcrAllowlist: true },
    args: ['--register'],
    expect: { diagnosis: 'dcr_allowlisted', status: 'fail', id: 'registration.dcr_live' },
  },
  {
    name: 'resource_metadata pointing at a 404',
    defects: { resourceMetadata404: true },
    args: [],
    expect: { diagnosis: 'resource_metadata_404', status: 'fail', id: 'prm.url.challenge' },
  },
  {
    name: 'trailing-slash audience mismatch',
    defects: { trailingSlash: true },
    args: [],
    expect: { diagnosis: 'trailing_slash_audience', status: 'fail', id: 'prm.resource' },
  },
  {
    name: 'issuer with a path looked up at the root',
    defects: { pathIssuerAtRoot: true },
    args: [],
    expect: { diagnosis: 'path_issuer_at_root', status: 'fail', id: 'as.found' },
  },
  {
    name: 'issuer with a path listed as its bare origin in the PRM',
    defects: { prmListsOrigin: true },
    args: [],
    expect: { diagnosis: 'path_issuer_at_root', status: 'fail', id: 'as.url.oauth-root' },
  },
  {
    name: 'missing CORS',
    defects: { noCors: true },
    args: [],
    expect: { diagnosis: 'cors_missing', status: 'warn', id: 'cors.prm' },
  },
  {
    name: 'http issuer for a public authorization server',
    defects: { httpIssuer: true },
    args: [],
    expect: { diagnosis: 'http_issuer', status: 'fail', id: 'as.https' },
  },
  {
    name: 'refresh tokens only with offline_access',
    defects: { offlineAccessOnly: true },
    args: ['--login'],
    expect: { diagnosis: 'refresh_only_with_offline_access', status: 'warn', id: 'refresh.issued' },
  },
]
