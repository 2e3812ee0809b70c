/**
 * Zoo profile: an authorization server that supports Client ID Metadata Documents and has no registration
 * endpoint: the client's `client_id` is the https URL of its metadata document, which the server fetches. The
 * document is served here over https with a certificate generated at run time, trusted by the server as a
 * development allowance (loopback addresses are refused otherwise). Sign-in in `connect` goes through real chromium.
 * Reproduces: https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/ ,
 * https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#client-id-metadata-documents ,
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md (features.clientIdMetadataDocument)
 * What the user sets: the URL of the app's metadata document (`--client-metadata-url`, `identity.clientMetadataUrl`).
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { after } from 'node:test'
import { selfSignedCertificate } from '../e2e/authorization-server-helpers.ts'
import { runProfile } from './harness.ts'
import { ALICE, ownAuthorizationServer } from './own-authorization-server.ts'
import { startZoo } from './zoo-server.ts'

const scopes = ['tools', 'admin'] as const
const ttl = 3
const tls = await selfSignedCertificate()
let documentUrl = ''
const documents: Server = createServer({ key: tls.key, cert: tls.cert }, (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' })
  res.end(
    JSON.stringify({
      client_id: documentUrl,
      client_name: 'mcp-oauth zoo',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
  )
})
await new Promise<void>((r) => documents.listen(0, '127.0.0.1', r))
documentUrl = `https://127.0.0.1:${(documents.address() as AddressInfo).port}/oauth/client.json`
after(() => documents.close())

runProfile({
  name: 'CIMD only',
  credentials: ALICE,
  subject: ALICE.username,
  accessTokenTtl: ttl,
  revocation: true,
  browser: true,
  session: () => ({ identity: { clientMetadataUrl: documentUrl } }),
  cli: () => ['--client-metadata-url', documentUrl],
  checks: {
    'the quirk is real: CIMD advertised, no registration endpoint': async (zoo) => {
      const metadata = (await (
        await fetch(`${zoo.origin}/.well-known/oauth-authorization-server`)
      ).json()) as Record<string, unknown>
      assert.equal(metadata['client_id_metadata_document_supported'], true)
      assert.equal(metadata['registration_endpoint'], undefined)
      assert.equal(zoo.requests.filter((r) => r.path === '/reg' || r.path === '/register').length, 0)
    },
  },
  start: () =>
    startZoo({
      scopes,
      authorizationServer: (origin, resource) =>
        ownAuthorizationServer(origin, resource, scopes, ttl, {
          registration: { mode: 'off' },
          clientIdMetadataDocuments: { allowPrivateNetwork: true, trustedCertificates: tls.cert },
        }),
    }),
})
