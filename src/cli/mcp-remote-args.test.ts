// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the literal ${ENV} syntax mcp-remote argument lists carry
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, describe, it } from 'node:test'
import { pathToFileURL } from 'node:url'
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

  it('without a port, any mcp-remote argument list gets the port mcp-remote derives from the URL', () => {
    const a = parsed([URL_, '--static-oauth-client-info', '{"client_id":"c"}']).values['callback-port']
    const b = parsed([`${URL_}2`, '--static-oauth-client-info', '{"client_id":"c"}']).values['callback-port']
    for (const p of [a, b]) assert.ok(Number(p) >= 3335 && Number(p) < 3335 + 45816, String(p))
    assert.notEqual(a, b)
    // The port mcp-remote 0.15.1 itself derives for the seed's URL (calculateDefaultPort in its dist/).
    assert.equal(a, '8472')
    // mcp-remote derives it with dynamic registration too: the redirect URI it registers carries it.
    assert.equal(parsed([URL_, '--debug']).values['callback-port'], '8472')
    assert.equal(
      parsed([URL_]).values['callback-port'],
      undefined,
      'our own argument list: an ephemeral port',
    )
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

/** What mcp-remote 0.15.1 itself makes of an argument list: its own parseCommandLineArgs, from its dist/. */
async function mcpRemoteReads(
  args: string[],
): Promise<{ callbackPort: number; callbackPath: string; host: string }> {
  const pkg = createRequire(import.meta.url).resolve('mcp-remote/package.json')
  const dist = join(dirname(pkg), 'dist')
  const chunk = readdirSync(dist).find(
    (f) =>
      f.endsWith('.js') &&
      readFileSync(join(dist, f), 'utf8').includes('async function parseCommandLineArgs('),
  )
  assert.ok(chunk, 'mcp-remote exports parseCommandLineArgs from a chunk of its dist/')
  const { parseCommandLineArgs } = (await import(pathToFileURL(join(dist, chunk)).href)) as {
    parseCommandLineArgs: (
      a: string[],
      usage: string,
    ) => Promise<{ callbackPort: number; callbackPath: string; host: string }>
  }
  // Without a static client it checks its registration store: keep that in a temporary folder, not in HOME.
  process.env['MCP_REMOTE_CONFIG_DIR'] = join(dir, 'mcp-remote-config')
  const log = console.error
  console.error = () => {}
  try {
    return await parseCommandLineArgs([...args], 'usage')
  } finally {
    console.error = log
  }
}

describe("the same argument list as mcp-remote's own parser reads it", () => {
  it('positional port: args[1] once --header pairs are removed, else the derived port', async () => {
    const lists = [
      [URL_, '63113'],
      [URL_, '--header', 'A: 1', '63113'],
      [URL_, '--allow-http', '63113'],
      [URL_, '--header-file', join(dir, 'h'), '63113', '--allow-http'],
      [URL_, '63113abc'],
    ]
    writeFileSync(join(dir, 'h'), 'B: 2\n')
    for (const list of lists) {
      const theirs = await mcpRemoteReads(list)
      const { values, t } = parsed(list)
      assert.equal(values['callback-port'], String(theirs.callbackPort), list.join(' '))
      assert.equal(values['callback-host'], theirs.host)
      assert.equal(t.callbackPath, theirs.callbackPath)
    }
    // A number mcp-remote never reads is named, not used.
    assert.match(
      parsed([URL_, '--allow-http', '63113']).t.warning!,
      /63113 \(mcp-remote takes a callback port only right after the URL\)/,
    )
  })

  it('the derived port hashes header values as mcp-remote keeps them (trailing blanks included)', async () => {
    const list = [URL_, '--header', 'X-Team:  blue  ', '--static-oauth-client-info', '{"client_id":"c"}']
    const theirs = await mcpRemoteReads(list)
    assert.equal(parsed(list).values['callback-port'], String(theirs.callbackPort))
    const trimmed = [URL_, '--header', 'X-Team: blue', '--static-oauth-client-info', '{"client_id":"c"}']
    assert.notEqual(parsed(trimmed).values['callback-port'], String(theirs.callbackPort), 'the blanks count')
  })

  it("--client-metadata-url alone is connect's own flag; in an mcp-remote list the port is derived as mcp-remote does", async () => {
    const alone = parsed([URL_, '--client-metadata-url', 'https://app.example/client.json'])
    assert.equal(alone.t.used, false)
    assert.equal(alone.values['callback-port'], undefined)
    for (const cimd of [
      'https://app.example/client.json',
      ' https://app.example/client.json ',
      'https://app.example/',
    ]) {
      const list = [URL_, '--client-metadata-url', cimd, '--debug']
      const theirs = await mcpRemoteReads(list)
      const { values, t } = parsed(list)
      assert.equal(t.used, true)
      assert.equal(values['callback-port'], String(theirs.callbackPort), cimd)
      assert.equal(values['callback-host'], theirs.host)
      assert.equal(t.callbackPath, '/oauth/callback')
    }
  })

  it('--resource and --token-endpoint enter the derived port as mcp-remote reads them', async () => {
    const lists = [
      [URL_, '--resource', ' https://r.example/mcp ', '--resource', 'https://other.example', '--debug'],
      [URL_, '--resource', 'https://r.example/mcp', '--disable-resource-parameter'],
      [
        URL_,
        '--client-credentials',
        '--token-endpoint',
        'https://as.example/token',
        '--static-oauth-client-info',
        '{"client_id":"c"}',
      ],
      [URL_, '--authorize-param', 'audience=x ', '--debug'],
    ]
    for (const list of lists) {
      const theirs = await mcpRemoteReads(list)
      assert.equal(parsed(list).values['callback-port'], String(theirs.callbackPort), list.join(' '))
    }
  })

  it('proxy variables: ignored without --enable-proxy, as mcp-remote does; our own lists honour them', () => {
    assert.equal(parsed([URL_, '63113']).t.envProxy, false)
    assert.equal(parsed([URL_, '63113', '--enable-proxy']).t.envProxy, true)
    assert.equal(parsed([URL_, '--callback-port', '8080']).t.envProxy, true)
  })

  it('--protocol legacy (mcp-remote default) and auto are no difference worth a warning; a bad value is named', () => {
    assert.equal(parsed([URL_, '63113', '--protocol', 'legacy']).t.warning, undefined)
    assert.equal(parsed([URL_, '63113', '--protocol', 'auto']).t.warning, undefined)
    assert.match(parsed([URL_, '63113', '--protocol', 'v9']).t.warning!, /--protocol v9/)
  })

  it('an unset ${VAR} in --static-oauth-client-info names that argument in the hint', () => {
    assert.throws(
      () => translateMcpRemoteArgs([URL_, '--static-oauth-client-info', '{"client_id":"${NOPE}"}'], {}),
      (e: unknown) => {
        assert.ok(e instanceof McpOAuthError)
        assert.match(e.message, /NOPE is not set/)
        assert.equal(e.hint, 'Set NOPE or change the --static-oauth-client-info value.')
        return true
      },
    )
  })
})
