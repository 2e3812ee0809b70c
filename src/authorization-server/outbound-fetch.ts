/**
 * The fetch the authorization server uses for every outgoing request (Client ID Metadata Documents,
 * jwks_uri): https only, refuses private, loopback and link-local addresses before connecting (checked on
 * the resolved address, so DNS tricks don't help), never follows redirects, bounded in time and size.
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/
 */
import { lookup as dnsLookup } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import { BlockList, isIP, type LookupFunction } from 'node:net'
import { rootCertificates } from 'node:tls'

/** Options of {@link createOutboundFetch}. */
export interface OutboundFetchOptions {
  /**
   * Development only: allow loopback and private addresses (and plain http on loopback), for documents
   * served from this machine. Never enable in production.
   */
  allowPrivateNetwork?: boolean
  /** Extra trusted CA certificates (PEM), e.g. a test server's self-signed certificate. */
  ca?: string | string[]
  /** Upper bound on the whole exchange, in milliseconds. Default 5000. */
  timeoutMs?: number
  /** Upper bound on the response body, in bytes. Default 64 KiB. */
  maxBytes?: number
}

const blocked = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4')
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::', 96], // IPv4-compatible (deprecated) addresses embed an IPv4 address
  ['::ffff:0:0:0', 96], // SIIT
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48], // local-use NAT64
  ['2001::', 32], // Teredo
  ['2002::', 16], // 6to4: both embed an IPv4 address that may be private
  ['fec0::', 10], // deprecated site-local
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6')
}

// Kept apart from `blocked`: BlockList matches plain IPv4 addresses against an IPv4-mapped IPv6 rule.
const mapped = new BlockList()
mapped.addSubnet('::ffff:0:0', 96, 'ipv6')

/** Whether an IP address is loopback, private, link-local, reserved or otherwise not public. @see https://www.iana.org/assignments/iana-ipv4-special-registry/ */
export function isSpecialUseAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 0) return true
  if (family === 4) return blocked.check(address, 'ipv4')
  // Any IPv4-mapped IPv6 literal (dotted or hex form) is refused: public hosts are not reached that way.
  if (mapped.check(address, 'ipv6')) return true
  return blocked.check(address, 'ipv6')
}

class OutboundRefused extends Error {
  readonly code = 'outbound_request_refused'
}

/**
 * Builds a fetch-compatible function with the guards above; hand it to oidc-provider's `fetch` option.
 * @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#fetch
 */
export function createOutboundFetch(options: OutboundFetchOptions = {}): typeof fetch {
  const allowPrivate = options.allowPrivateNetwork === true
  const timeoutMs = options.timeoutMs ?? 5000
  const maxBytes = options.maxBytes ?? 64 * 1024
  const ca = options.ca === undefined ? undefined : [...rootCertificates, ...[options.ca].flat()]

  const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0)
      const list = addresses as unknown as { address: string; family: number }[]
      const bad = list.find((a) => isSpecialUseAddress(a.address))
      if (bad && !allowPrivate) {
        return callback(new OutboundRefused(`${hostname} resolves to a non-public address`), '', 0)
      }
      if (lookupOptions.all) return callback(null, list as never)
      const first = list[0]!
      callback(null, first.address, first.family)
    })
  }

  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const literal = isIP(host) !== 0
    if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
      throw new OutboundRefused(`refusing ${url.protocol} URL; only https is fetched`)
    }
    if (literal && isSpecialUseAddress(host) && !allowPrivate) {
      throw new OutboundRefused(`refusing non-public address ${host}`)
    }
    if (url.username || url.password) throw new OutboundRefused('refusing URL with credentials')

    const signals = [AbortSignal.timeout(timeoutMs), init.signal].filter((s): s is AbortSignal => !!s)
    const signal = AbortSignal.any(signals)
    const headers: Record<string, string> = {}
    new Headers(init.headers).forEach((value, key) => {
      headers[key] = value
    })
    const transport = url.protocol === 'https:' ? https : http
    return await new Promise<Response>((resolve, reject) => {
      const request = transport.request(
        url,
        {
          method: init.method ?? 'GET',
          headers,
          lookup: literal ? undefined : guardedLookup,
          ca,
          signal,
          agent: false,
        },
        (response) => {
          const declared = Number(response.headers['content-length'] ?? 0)
          if (declared > maxBytes) {
            response.destroy()
            return reject(
              new OutboundRefused(`response of ${declared} bytes exceeds the ${maxBytes} byte limit`),
            )
          }
          const responseHeaders = new Headers()
          for (const [key, value] of Object.entries(response.headers)) {
            if (value !== undefined) responseHeaders.set(key, Array.isArray(value) ? value.join(', ') : value)
          }
          const status = response.statusCode ?? 502
          const nullBody = status === 204 || status === 304 || (status >= 300 && status < 400)
          if (nullBody) response.resume()
          // The bound is enforced before a chunk reaches the reader, so no caller ever holds more than maxBytes.
          let received = 0
          const body = nullBody
            ? null
            : new ReadableStream<Uint8Array>({
                start(controller) {
                  let settled = false
                  const fail = (error: Error) => {
                    if (settled) return
                    settled = true
                    controller.error(error)
                    response.destroy()
                  }
                  response.on('data', (chunk: Buffer) => {
                    if (settled) return
                    received += chunk.length
                    if (received > maxBytes)
                      fail(new OutboundRefused(`response exceeds the ${maxBytes} byte limit`))
                    else controller.enqueue(new Uint8Array(chunk))
                  })
                  response.on('end', () => {
                    if (settled) return
                    settled = true
                    controller.close()
                  })
                  response.on('error', fail)
                  response.on('aborted', () => fail(new Error('connection closed early')))
                },
                cancel() {
                  response.destroy()
                },
              })
          resolve(
            new Response(body, {
              status,
              headers: responseHeaders,
            }),
          )
        },
      )
      request.on('error', reject)
      if (init.body != null) request.end(init.body as string)
      else request.end()
    })
  }) as typeof fetch
}
