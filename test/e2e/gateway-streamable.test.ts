/**
 * `mcp-oauth serve --proxy` in front of an SDK v2 Streamable HTTP server with no authorization of its own:
 * the SDK v2 client (2026-07-28), the SDK v1 client (2025), mcp-remote 0.15.1, `mcp-oauth connect` and a
 * browser page each sign in through serve's pages in chromium, list and call tools, get a notification and a
 * 1 MiB result intact, and step up; `mcp-oauth doctor` is green; the upstream sees identity headers and never
 * an Authorization header.
 */
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { runDoctorCommand } from '../../src/cli/commands/doctor.ts'
import { type Report, renderReport } from '../../src/cli/doctor/report.ts'
import { chooseAuthorizer } from '../../src/client/interaction/choose.ts'
import { chromiumAvailable, need } from '../support/environment.ts'
import { signInThroughPages } from '../support/gateway.ts'
import {
  assertUpstreamSawNoCredentials,
  browserPageCell,
  connectCell,
  mcpRemoteCell,
  sdkV1Cell,
  sdkV2Cell,
  useProxyGateway,
} from '../support/gateway-cells.ts'
import { startStreamableUpstream } from '../support/gateway-upstreams.ts'

const rig = useProxyGateway(startStreamableUpstream)

// One client after the other: at once they starve a loaded 2-core machine into timeouts.
describe('serve --proxy, Streamable HTTP upstream', () => {
  it('prints what it protects and how', () => {
    const err = rig().gateway.stderr()
    assert.match(
      err,
      /mcp-oauth serve: gateway http:\/\/127\.0\.0\.1:\d+\/mcp → http:\/\/127\.0\.0\.1:\d+\/mcp \(streamable-http\)\n/,
    )
    assert.match(err, /mcp-oauth serve: scopes mcp on every request/)
    assert.match(err, /mcp-oauth serve: tool admin_op also needs admin \(step-up\)/)
    assert.match(err, /mcp-oauth serve: provider: authorization server http:\/\/127\.0\.0\.1:\d+\n/)
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

  it('mcp-oauth doctor --login against the gateway is green with every check', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const flows: Promise<unknown>[] = []
    const authorizer = chooseAuthorizer({
      mode: 'browser',
      promptWindowMs: 0,
      output: new PassThrough(),
      openUrl: (url) => {
        flows.push(signInThroughPages(rig().browser, url.href, (u) => new URL(u).pathname === '/callback'))
      },
    })
    let out = ''
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => {} } }
    let code: number
    try {
      code = await runDoctorCommand([rig().gateway.mcp, '--login', '--call-tool', 'admin_op', '--json'], io, {
        authorizer,
      })
    } finally {
      await Promise.allSettled(flows)
      await authorizer.close()
    }
    const report = JSON.parse(out) as Report
    assert.deepEqual(
      report.checks.filter((c) => c.status === 'fail' || c.status === 'warn'),
      [],
      renderReport(report),
    )
    assert.equal(code, 0)
    for (const id of [
      'challenge.status',
      'prm.resource',
      'token.accepted',
      'stepup.challenge',
      'stepup.retry',
    ])
      assert.equal(report.checks.find((c) => c.id === id)?.status, 'pass', id)
  })

  it('the upstream never saw an Authorization header or a forged identity', () =>
    assertUpstreamSawNoCredentials(rig()))
})
