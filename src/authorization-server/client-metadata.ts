/**
 * Client ID Metadata Documents under the same rules as registration: redirect URIs checked by the DCR
 * policy, a fetch budget per source address, one fetch per document within a short window (failures
 * included, so a failing lookup is never repeated in a burst), and one uniform refusal that says nothing
 * about name resolution and never echoes the document.
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/
 */
import type { IncomingMessage } from 'node:http'
import { errors } from 'oidc-provider'
import type { AuditSink } from './audit.ts'
import { requestAddress } from './http.ts'
import { createOutboundFetch } from './outbound-fetch.ts'
import type { RateLimiter } from './rate-limit.ts'
import { redirectUriProblem } from './registration.ts'

/** Client ID Metadata Document fetching. @see https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/ */
export interface ClientIdMetadataDocumentOptions {
  /** Default true. */
  enabled?: boolean
  /** DEVELOPMENT ONLY: fetch documents from loopback and private addresses. */
  allowPrivateNetwork?: boolean
  /** Extra CA certificates (PEM) trusted for document fetches, e.g. a local test server's. */
  trustedCertificates?: string | string[]
  /** Largest document accepted, in bytes (default 16 KiB). */
  maxBytes?: number
  /** Fetch timeout in milliseconds (default 2500, oidc-provider's own bound). */
  timeoutMs?: number
  /** Bounds on how long a fetched document is cached, in seconds (default 300..86400; the response's max-age counts within). */
  cacheSeconds?: { min: number; max: number }
  /** How long a failed (or any) fetch outcome is reused before the document is fetched again, in seconds (default 30). */
  failureCacheSeconds?: number
}

/** The one reason shown for any document that could not be fetched or parsed. @see https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/ */
export const DOCUMENT_UNAVAILABLE =
  'the client metadata document could not be used: it must be served with status 200 over https from a public address, as a JSON object within the size limit'

interface Outcome {
  until: number
  response?: { status: number; headers: [string, string][]; body: Uint8Array }
  error?: unknown
}

/** Options of {@link createDocumentFetch}. @see https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/ */
export interface DocumentFetchOptions {
  /** How long any outcome (document or failure) is reused, in ms; oidc-provider then caches good documents per Cache-Control. */
  reuseMs?: number
  /** Most outcomes remembered. */
  maxEntries?: number
}

/** A fetch wrapper that reuses recent outcomes of metadata-document URLs; `expect` marks a URL as one. @see https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/ */
export interface DocumentFetch {
  fetch: typeof fetch
  /** Marks `url` as a metadata document about to be fetched. */
  expect(url: string): void
  /** Whether a recent outcome for `url` will answer without a network request. */
  remembers(url: string): boolean
}

/** The guarded outbound fetch and reuse window for {@link createDocumentFetch}, from the server's CIMD options. @see https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/ */
export function documentFetchOptions(
  cimd: ClientIdMetadataDocumentOptions,
): [typeof fetch, DocumentFetchOptions] {
  const outbound = createOutboundFetch({
    allowPrivateNetwork: cimd.allowPrivateNetwork === true,
    ca: cimd.trustedCertificates,
    timeoutMs: cimd.timeoutMs ?? 2500,
    maxBytes: cimd.maxBytes ?? 16 * 1024,
  })
  return [outbound, { reuseMs: (cimd.failureCacheSeconds ?? 30) * 1000 }]
}

/** Wraps the outbound fetch so metadata documents are fetched at most once per `reuseMs`. @see https://www.rfc-editor.org/rfc/rfc9111#section-4 */
export function createDocumentFetch(
  outbound: typeof fetch,
  options: DocumentFetchOptions = {},
): DocumentFetch {
  const reuseMs = options.reuseMs ?? 30_000
  const maxEntries = options.maxEntries ?? 500
  const outcomes = new Map<string, Promise<Outcome>>()
  const settled = new Map<string, Outcome>()
  const expected = new Set<string>()
  const live = (url: string) => {
    const outcome = settled.get(url)
    if (outcome && outcome.until > Date.now()) return outcome
    if (outcome) {
      settled.delete(url)
      outcomes.delete(url)
    }
    return undefined
  }
  const remember = (url: string, outcome: Outcome) => {
    if (settled.size >= maxEntries) {
      const now = Date.now()
      for (const [key, value] of settled) {
        if (value.until > now) continue
        settled.delete(key)
        outcomes.delete(key)
      }
    }
    if (settled.size >= maxEntries) {
      const oldest = settled.keys().next().value
      if (oldest !== undefined) {
        settled.delete(oldest)
        outcomes.delete(oldest)
      }
    }
    settled.set(url, outcome)
    return outcome
  }
  const load = async (url: string, init?: RequestInit): Promise<Outcome> => {
    try {
      const response = await outbound(url, init)
      const body = new Uint8Array(await response.arrayBuffer())
      return remember(url, {
        until: Date.now() + reuseMs,
        response: { status: response.status, headers: [...response.headers], body },
      })
    } catch (error) {
      return remember(url, { until: Date.now() + reuseMs, error })
    }
  }
  const documentFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input)
    if (!expected.has(url) && !settled.has(url)) return await outbound(input, init)
    expected.delete(url)
    live(url)
    let pending = outcomes.get(url)
    if (!pending) {
      pending = load(url, init)
      outcomes.set(url, pending)
    }
    const outcome = await pending
    if (outcome.error !== undefined) throw outcome.error
    const { status, headers, body } = outcome.response!
    return new Response(status === 204 || status === 304 ? null : body.slice(), { status, headers })
  }) as typeof fetch
  return {
    fetch: documentFetch,
    expect(url) {
      if (expected.size > maxEntries) expected.clear()
      expected.add(url)
    },
    remembers: (url) => live(url) !== undefined,
  }
}

/** A redirect-URI problem of a metadata document's client, by the DCR policy; no URI is echoed. @see https://www.rfc-editor.org/rfc/rfc9700#section-4.1 */
export function documentRedirectProblem(
  redirectUris: readonly string[],
  maxRedirectUris: number,
): string | undefined {
  if (redirectUris.length === 0) return 'the client metadata document lists no redirect_uris'
  if (redirectUris.length > maxRedirectUris)
    return `the client metadata document lists more than ${maxRedirectUris} redirect_uris`
  for (const uri of redirectUris) {
    const problem = redirectUriProblem(uri)
    if (problem) return `a redirect URI of the client metadata document ${problem}`
  }
  return undefined
}

/**
 * oidc-provider's `allowFetch`/`allowClient` hooks: a fetch budget per address (a remembered outcome costs
 * nothing) and the DCR redirect policy for every document's client.
 * @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#featuresclientidmetadatadocument
 */
export function documentHooks(
  documents: DocumentFetch,
  budget: RateLimiter | undefined,
  maxRedirectUris: number,
  audit: AuditSink,
) {
  return {
    allowFetch: async (ctx: { req: IncomingMessage }, clientId: string) => {
      if (!documents.remembers(clientId) && ((await budget?.take(requestAddress(ctx.req))) ?? 0) > 0) {
        audit({ type: 'rate_limited', endpoint: 'cimd-fetch' })
        return false
      }
      documents.expect(clientId)
      return true
    },
    allowClient: async (_ctx: unknown, client: { redirectUris?: string[] }) => {
      const problem = documentRedirectProblem(client.redirectUris ?? [], maxRedirectUris)
      if (problem) throw new errors.InvalidClientMetadata(problem)
      return true
    },
  }
}

/** A secret-free reason for an error page: oidc-provider's detail, or why an outbound fetch was refused. @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#rendererror */
export function explainFailure(error: unknown): string | undefined {
  const e = error as { error_description?: unknown; error_detail?: unknown }
  // One reason for every document failure: neither name resolution (a DNS oracle) nor the document's bytes show.
  if (e?.error_description === 'client_id metadata document fetch failed') return DOCUMENT_UNAVAILABLE
  if (typeof e?.error_detail === 'string') return e.error_detail
  return undefined
}
