/**
 * `mcp-oauth serve --proxy` in front of an SDK v1 server speaking only the 2024-11-05 HTTP+SSE transport (found
 * by serve's probe): clients speak Streamable HTTP to the gateway, each session maps to one upstream event
 * stream. The SDK v2 client, the SDK v1 client, mcp-remote 0.15.1, `mcp-oauth connect` and a browser page each
 * sign in through serve's pages in chromium, list, call, get a notification and a 1 MiB result intact, and step
 * up; the upstream never sees an Authorization header.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  assertUpstreamSawNoCredentials,
  browserPageCell,
  connectCell,
  mcpRemoteCell,
  sdkV1Cell,
  sdkV2Cell,
  useProxyGateway,
} from '../support/gateway-cells.ts'
import { startSseUpstream } from '../support/gateway-upstreams.ts'

const rig = useProxyGateway(startSseUpstream)

// One client after the other: at once they starve a loaded 2-core machine into timeouts.
describe('serve --proxy, HTTP+SSE-only upstream', () => {
  it('detects the transport and says so', () => {
    assert.match(
      rig().gateway.stderr(),
      /mcp-oauth serve: gateway http:\/\/127\.0\.0\.1:\d+\/mcp → http:\/\/127\.0\.0\.1:\d+\/sse \(sse\)\n/,
    )
  })

  it('SDK v2 client: signs in, lists, calls, a notification and 1 MiB intact, steps up; forged identity dropped', (t) =>
    sdkV2Cell(t, rig()))

  it('SDK v1 client: signs in, lists, calls, a notification and 1 MiB intact, steps up', (t) =>
    sdkV1Cell(t, rig()))

  it('mcp-oauth connect: signs in, lists, calls, a notification and 1 MiB intact, steps up', (t) =>
    connectCell(t, rig()))

  it('mcp-remote 0.15.1: signs in, lists, calls, a notification and 1 MiB intact, steps up', (t) =>
    mcpRemoteCell(t, rig()))

  it('a browser page (fetch only, another origin): resource_metadata, DCR, calls, a notification and 1 MiB, step-up', (t) =>
    browserPageCell(t, rig()))

  it('the upstream never saw an Authorization header, and every message carried the identity', () => {
    assertUpstreamSawNoCredentials(rig())
    assert.ok(rig().upstream.seen.some((s) => s.path === '/messages'))
  })
})
