// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the literal ${ENV} syntax mcp-remote argument lists carry
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { McpOAuthError } from '../shared/errors.ts'
import type { JsonRpc } from './bridge/protocol.ts'
import { toolFilter, toolIgnored, translateMcpRemoteArgs } from './mcp-remote-args.ts'
import { parseCommandArgs } from './options.ts'

const URL_ = 'http://localhost:5253/bot'
const dir = mkdtempSync(join(tmpdir(), 'mcp-remote-args-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** The flags connect ends up with, as its parser reads them. */
function parsed(args: string[], env: Record<string, string> = {}) {
  const t = translateMcpRemoteArgs(args, env, 'linux')
  return { t, ...parseCommandArgs(t.args, { transport: { type: 'string' } }) }
}

function usage(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof McpOAuthError)
    assert.equal(e.code, 'invalid_usage')
    assert.match(e.message, message)
    assert.ok(e.hint && e.hint.length > 10, 'a hint')
    return true
  })
}

describe('mcp-remote arguments', () => {
  it("the seed's list: positional port and inline static client become mcp-remote's redirect URI and client", () => {
    const { t, values, positionals } = parsed([
      URL_,
      '63113',
      '--static-oauth-client-info',
      '{"client_id":"mcp-remote"}',
    ])
    assert.deepEqual(positionals, [URL_])
    assert.equal(values['callback-port'], '63113')
    assert.equal(values['callback-host'], 'localhost')
    assert.equal(t.callbackPath, '/oauth/callback')
    assert.deepEqual(JSON.parse(values['client-info']!), { client_id: 'mcp-remote' })
    assert.equal(t.used, true)
    assert.equal(t.warning, undefined, 'everything maps')
  })

  it('reads @file, expands ${ENV} in the client info and keeps only the credentials', () => {
    const file = join(dir, 'client.json')
    writeFileSync(
      file,
      JSON.stringify({ client_id: 'app', client_secret: '${SECRET}', redirect_uris: ['http://x/cb'] }),
    )
    const { values } = parsed([URL_, '9999', '--static-oauth-client-info', `@${file}`], { SECRET: 's3' })
    assert.deepEqual(JSON.parse(values['client-info']!), { client_id: 'app', client_secret: 's3' })
  })

  it('bad JSON, a missing file and a missing client_id are usage errors with a hint', () => {
    usage(
      () => translateMcpRemoteArgs([URL_, '--static-oauth-client-info', '{client_id:x}']),
      /not a JSON object/,
    )
    usage(
      () => translateMcpRemoteArgs([URL_, '--static-oauth-client-info', `@${join(dir, 'absent.json')}`]),
      /cannot read --static-oauth-client-info file/,
    )
    usage(() => translateMcpRemoteArgs([URL_, '--static-oauth-client-info', '{"name":"x"}']), /no client_id/)
    usage(() => translateMcpRemoteArgs([URL_, '--static-oauth-client-metadata', '[1]']), /not a JSON object/)
    usage(() => translateMcpRemoteArgs([URL_, '70000']), /bad callback port/)
    usage(() => translateMcpRemoteArgs([URL_, '--host', 'example.com']), /not this machine/)
  })

  it('client metadata: identity and scope are used, the rest is named in the warning', () => {
    const meta = join(dir, 'meta.json')
    writeFileSync(meta, JSON.stringify({ client_name: 'Seed', scope: 'read write', contacts: ['a@b'] }))
    const { t, values } = parsed([URL_, '--static-oauth-client-metadata', `@${meta}`])
    assert.deepEqual(t.identity, { client_name: 'Seed' })
    assert.equal(values.scope, 'read write')
    assert.match(t.warning!, /--static-oauth-client-metadata keys contacts/)
  })

  it('without a port, a static client gets the port mcp-remote derives from the URL; a dynamic client an ephemeral one', () => {
    const a = parsed([URL_, '--static-oauth-client-info', '{"client_id":"c"}']).values['callback-port']
    const b = parsed([`${URL_}2`, '--static-oauth-client-info', '{"client_id":"c"}']).values['callback-port']
    for (const p of [a, b]) assert.ok(Number(p) >= 3335 && Number(p) < 3335 + 45816, String(p))
    assert.notEqual(a, b)
    // The port mcp-remote 0.15.1 itself derives for the seed's URL (calculateDefaultPort in its dist/).
    assert.equal(a, '8472')
    assert.equal(parsed([URL_, '--debug']).values['callback-port'], undefined)
  })

  it('maps flags with the same meaning and names every unmatched one in a single warning line', () => {
    const headers = join(dir, 'headers')
    writeFileSync(headers, '# comment\nX-Team: ${TEAM}\n')
    const { t, values } = parsed(
      [
        URL_,
        '--header',
        'A: 1',
        '--header-file',
        headers,
        '--transport',
        'sse-only',
        '--host',
        '127.0.0.1',
        '--debug',
        '--silent',
        '--enable-proxy',
        '--ignore-tool',
        'delete*',
        '--auth-timeout',
        '45',
        '--ipv4',
        '--authorize-param',
        'audience=secret-value',
        '--connect-timeout',
        '5',
        '--store',
        'memory',
      ],
      { TEAM: 't' },
    )
    assert.deepEqual(values.header, ['A: 1', 'X-Team: ${TEAM}'])
    assert.equal(values.transport, 'sse')
    assert.equal(values['callback-host'], '127.0.0.1')
    assert.equal(values.verbose, true)
    assert.equal(values.store, 'memory')
    assert.equal(t.silent, true)
    assert.deepEqual(t.ignoreTools, ['delete*'])
    assert.equal(t.authTimeoutMs, 45_000)
    assert.equal(t.warning?.split('\n').length, 1)
    assert.match(t.warning!, /--ipv4; --connect-timeout/)
    assert.doesNotMatch(t.warning!, /secret-value/)
    assert.deepEqual(
      values['authorize-param'],
      ['audience=secret-value'],
      '--authorize-param has its meaning here',
    )
  })

  it('transport strategies keep their meaning; sse-first is named as a difference', () => {
    assert.equal(parsed([URL_, '--transport', 'http-first']).values.transport, 'auto')
    assert.equal(parsed([URL_, '--transport', 'http-only']).values.transport, 'http')
    const sseFirst = parsed([URL_, '--transport', 'sse-first'])
    assert.equal(sseFirst.values.transport, 'auto')
    assert.match(sseFirst.t.warning!, /sse-first/)
  })

  it("connect's own argument lists pass through untouched", () => {
    const args = [URL_, '--callback-port', '8080', '--transport', 'http', '--header', 'A: b', '-v']
    const t = translateMcpRemoteArgs(args, {}, 'linux')
    assert.deepEqual(t.args, args)
    assert.equal(t.used, false)
    assert.equal(t.callbackPath, undefined)
    assert.equal(t.warning, undefined)
  })

  it('ignored tools: wildcard, case-insensitive, hidden from tools/list and refused by tools/call', () => {
    assert.equal(toolIgnored(['delete*'], 'DeleteFile'), true)
    assert.equal(toolIgnored(['delete*'], 'undelete'), false)
    assert.equal(toolIgnored(['a.b'], 'axb'), false)
    const f = toolFilter(['delete*'])
    const refused = f.refuse({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'delete_all' },
    } as JsonRpc) as unknown as { id: number; error: { message: string } }
    assert.equal(refused.id, 7)
    assert.match(refused.error.message, /delete_all" is not available/)
    assert.equal(f.refuse({ jsonrpc: '2.0', id: 8, method: 'tools/list' } as JsonRpc), undefined)
    const listed = f.filter({
      jsonrpc: '2.0',
      id: 8,
      result: { tools: [{ name: 'delete_all' }, { name: 'echo' }] },
    } as unknown as JsonRpc) as unknown as { result: { tools: { name: string }[] } }
    assert.deepEqual(
      listed.result.tools.map((x) => x.name),
      ['echo'],
    )
    const other = { jsonrpc: '2.0', id: 9, result: { tools: [{ name: 'delete_all' }] } } as unknown as JsonRpc
    assert.equal(f.filter(other), other, 'only answers to tools/list are filtered')
  })
})
