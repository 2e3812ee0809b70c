/**
 * The switches of a gallery server (server.ts): healthy by default, each switch breaks exactly one thing doctor
 * must name. The gallery (gallery.ts) turns on one per broken server.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */

/** The switches: each one a single defect. */
export interface Defects {
  /** Metadata only at /.well-known/openid-configuration. */
  oidcOnly?: boolean
  /** No registration_endpoint (and no CIMD). */
  noRegistrationEndpoint?: boolean
  /** DCR answers 403 unless client_name is on an allow-list. */
  dcrAllowlist?: boolean
  /** The challenge's resource_metadata points at a URL that answers 404. */
  resourceMetadata404?: boolean
  /** PRM `resource` (and the token audience) carry a trailing slash the server URL lacks. */
  trailingSlash?: boolean
  /** The issuer has a path (/tenant1) but its metadata is served only at the root well-known URL. */
  pathIssuerAtRoot?: boolean
  /** The issuer has a path (/tenant1), but the PRM lists the bare origin, so clients look it up at the root. */
  prmListsOrigin?: boolean
  /** Not a defect by itself: the PRM lists this issuer (another server) instead of its own. */
  listIssuer?: string
  /** No CORS headers on the metadata documents. */
  noCors?: boolean
  /** The PRM names an http:// authorization server on a non-loopback host. */
  httpIssuer?: boolean
  /** Refresh tokens only when offline_access was requested. */
  offlineAccessOnly?: boolean
  /** `error="invalid_token"` in the challenge to a request that sent no token. */
  invalidTokenWithoutToken?: boolean
}
