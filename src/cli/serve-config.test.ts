import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ENV, FILE, refusal, SAMPLE, sources } from './serve-config.test-helper.ts'
import { parseServeConfig } from './serve-config.ts'

describe('serve config: flags', () => {
  test('defaults without flags: the demo (no resources), port 8976, jwt', () => {
    const c = parseServeConfig([], { env: {} })
    assert.equal(c.port, 8976)
    assert.equal(c.host, '127.0.0.1')
    assert.equal(c.tokenFormat, 'jwt')
    assert.deepEqual(c.resources, [])
    assert.deepEqual(c.rateLimits, {})
    assert.equal(c.json, false)
  })

  test('--resource/--scopes pairs, canonical URIs, default scope "mcp"', () => {
    const c = parseServeConfig([
      '--resource',
      'HTTP://127.0.0.1:7000/mcp',
      '--scopes',
      'mcp tools:read',
      '--resource',
      'https://other.example/',
    ])
    assert.deepEqual(
      c.resources.map((r) => [r.uri, r.scopes]),
      [
        ['http://127.0.0.1:7000/mcp', ['mcp', 'tools:read']],
        ['https://other.example', ['mcp']],
      ],
    )
  })

  test('every old flag still parses into the same values', () => {
    const c = parseServeConfig([
      ...['--port', '0', '--host', '::1', '--issuer', 'http://127.0.0.1:1', '--store', 'memory'],
      ...['--user', 'alice:pass:with:colons', '--token-format', 'opaque', '--access-token-ttl', '5'],
      ...['--allow-private-cimd', '--cimd-ca', 'ca.pem', '--upstream', 'https://idp.example'],
      ...['--upstream-client-id', 'cid', '--upstream-name', 'IdP', '--rate-limit', 'login-account=3/60'],
      ...['--redis', 'redis://127.0.0.1:6379', '--redis-prefix', 'p:', '--quiet', '--json'],
    ])
    assert.equal(c.port, 0)
    assert.equal(c.host, '::1')
    assert.deepEqual(c.users, [{ username: 'alice', password: 'pass:with:colons' }])
    assert.equal(c.tokenFormat, 'opaque')
    assert.equal(c.accessTokenTtl, 5)
    assert.equal(c.allowPrivateCimd, true)
    assert.equal(c.cimdCa, 'ca.pem')
    assert.deepEqual(c.upstream, {
      preset: 'oidc',
      issuer: 'https://idp.example',
      clientId: 'cid',
      name: 'IdP',
      allowInsecureRequests: false,
    })
    assert.deepEqual(c.rateLimits, { loginAccount: { max: 3, windowSeconds: 60 } })
    assert.equal(c.redis, 'redis://127.0.0.1:6379')
    assert.equal(c.redisPrefix, 'p:')
    assert.equal(c.quiet && c.json, true)
    assert.equal(parseServeConfig(['--no-rate-limits']).rateLimits, false)
  })

  test('bad flags are refused naming the flag, with its hint', () => {
    const port = refusal(() => parseServeConfig(['--port', '99999']))
    assert.equal(port.code, 'invalid_argument')
    assert.match(port.message, /--port/)
    assert.match(port.hint, /0\.\.65535/)
    assert.match(
      refusal(() => parseServeConfig(['--port', 'eighty'])).message,
      /bad --port eighty: must be an integer/,
    )
    assert.match(refusal(() => parseServeConfig(['--token-format', 'paseto'])).message, /--token-format/)
    assert.match(refusal(() => parseServeConfig(['--access-token-ttl', '0'])).message, /--access-token-ttl/)
    assert.match(
      refusal(() => parseServeConfig(['--resource', 'https://a.example', '--scopes', 'a', '--scopes', 'b']))
        .message,
      /must follow a --resource/,
    )
    assert.match(refusal(() => parseServeConfig(['--scopes', 'a'])).message, /scopes of a gateway/)
    assert.match(refusal(() => parseServeConfig(['--user', 'nopassword'])).message, /NAME:PASSWORD/)
    assert.match(refusal(() => parseServeConfig(['--rate-limit', 'logins=1/1'])).message, /--rate-limit/)
    assert.match(
      refusal(() => parseServeConfig(['--upstream', 'https://idp.example'])).message,
      /--upstream needs --upstream-client-id/,
    )
    assert.match(
      refusal(() => parseServeConfig(['--issuer', 'auth.example.com'])).message,
      /not an http\(s\) URL/,
    )
    const http = refusal(() => parseServeConfig(['--resource', 'http://mcp.example.com/mcp']))
    assert.match(http.message, /http on a non-loopback host/)
    const twice = refusal(() =>
      parseServeConfig(['--resource', 'https://a.example', '--resource', 'https://a.example/']),
    )
    assert.match(twice.message, /listed twice/)
  })
})

describe('serve config: file', () => {
  test('a full sample: env secrets resolved, sections typed, client defaults filled', () => {
    const c = parseServeConfig(['--config', FILE], sources(SAMPLE, ENV))
    assert.equal(c.port, 9000)
    assert.equal(c.issuer, 'https://auth.example.com')
    assert.deepEqual(
      c.resources[0]!.scopes,
      ['mcp', 'tools:read', 'admin'],
      'toolScopes scopes are advertised',
    )
    assert.deepEqual(c.resources[0]!.defaultScopes, ['mcp'])
    assert.equal(c.resources[1]!.accessTokenTtl, 60)
    assert.equal(c.users[0]!.password, 'correct horse battery')
    assert.equal(
      c.users[1]!.passwordHash,
      'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    )
    assert.equal(c.clients[0]!.client_secret, 's3cret-from-env')
    assert.equal(c.clients[0]!.token_endpoint_auth_method, 'client_secret_post')
    assert.deepEqual(c.clients[1], {
      client_id: 'inspector',
      redirect_uris: ['http://localhost:6274/oauth/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
    })
    assert.equal(c.upstream?.clientSecret, 'upstream-secret')
    assert.deepEqual(c.toolScopes, { create_note: ['notes:write'] })
    assert.deepEqual(c.warnings, [])
  })

  test('flags override the file; repeatable flags replace its list; sections merge key by key', () => {
    const c = parseServeConfig(
      [
        ...[
          '--config',
          FILE,
          '--port',
          '0',
          '--resource',
          'http://127.0.0.1:1/mcp',
          '--scopes',
          'mcp tools:read',
        ],
        ...['--upstream-name', 'SSO'],
      ],
      sources(SAMPLE, ENV),
    )
    assert.equal(c.port, 0)
    assert.deepEqual(
      c.resources.map((r) => r.uri),
      ['http://127.0.0.1:1/mcp'],
    )
    assert.deepEqual(c.upstream, {
      preset: 'oidc',
      issuer: 'https://accounts.example.com',
      clientId: 'abc',
      clientSecret: 'upstream-secret',
      name: 'SSO',
      allowInsecureRequests: false,
    })
    // The file's upstream may leave its client id to the command line.
    const partial = parseServeConfig(
      ['--config', FILE, '--upstream-client-id', 'from-flag'],
      sources({ upstream: { issuer: 'https://idp.example' } }),
    )
    assert.equal(partial.upstream?.clientId, 'from-flag')
  })

  test('upstream presets: every --upstream-* flag has its key in the upstream section', () => {
    const fromFlags = parseServeConfig(
      [
        ...[
          '--upstream',
          'github',
          '--upstream-client-id',
          'gh',
          '--upstream-base-url',
          'http://127.0.0.1:9',
        ],
        ...['--upstream-scopes', 'read:user', '--upstream-pass-tokens', '--upstream-only'],
      ],
      { env: { MCP_OAUTH_UPSTREAM_CLIENT_SECRET: 'gh-secret' } },
    )
    const section = {
      preset: 'github',
      clientId: 'gh',
      clientSecret: { env: 'GH' },
      baseUrl: 'http://127.0.0.1:9',
      scope: 'read:user',
      passTokens: true,
      only: true,
    }
    const fromFile = parseServeConfig(['--config', FILE], sources({ upstream: section }, { GH: 'gh-secret' }))
    assert.deepEqual(fromFile.upstream, fromFlags.upstream)
    assert.equal(fromFile.upstream?.allowInsecureRequests, true, 'http on loopback: tests and development')
    const tenant = parseServeConfig(
      ['--config', FILE, '--upstream-tenant', 'contoso.onmicrosoft.com'],
      sources({ upstream: { preset: 'microsoft', clientId: 'ms' } }),
    )
    assert.equal(tenant.upstream?.tenant, 'contoso.onmicrosoft.com')
    assert.match(
      refusal(() =>
        parseServeConfig(['--config', FILE], sources({ upstream: { preset: 'microsoft', clientId: 'ms' } })),
      ).message,
      /tenant/,
    )
    assert.match(
      refusal(() =>
        parseServeConfig(['--config', FILE], sources({ upstream: { preset: 'gitlab', clientId: 'x' } })),
      ).message,
      /unknown --upstream gitlab/,
    )
    assert.match(
      refusal(() => parseServeConfig(['--upstream-tenant', 'contoso'])).message,
      /--upstream-tenant needs --upstream$/,
    )
  })

  test('an unknown key is refused with its JSON path and the closest known key', () => {
    const top = refusal(() => parseServeConfig(['--config', FILE], sources({ acessTokenTtl: 5 })))
    assert.equal(top.code, 'invalid_config')
    assert.match(top.message, /\$\.acessTokenTtl is not a known key \(did you mean "accessTokenTtl"\?\)/)
    assert.deepEqual(top.details, {
      path: '$.acessTokenTtl',
      key: 'acessTokenTtl',
      suggestion: 'accessTokenTtl',
    })
    const nested = refusal(() =>
      parseServeConfig(
        ['--config', FILE],
        sources({ clients: [{ client_id: 'x', redirect_uri: ['https://a/cb'] }] }),
      ),
    )
    assert.equal(nested.details['path'], '$.clients[0].redirect_uri')
    assert.equal(nested.details['suggestion'], 'redirect_uris')
    const far = refusal(() => parseServeConfig(['--config', FILE], sources({ colour: 'blue' })))
    assert.equal(far.details['suggestion'], undefined)
  })

  test('wrong types are refused with the JSON path', () => {
    const cases: [unknown, RegExp][] = [
      [{ port: '80' }, /\$\.port must be an integer, not a string/],
      [
        { resources: [{ uri: 'https://a.example', scopes: 'mcp' }] },
        /\$\.resources\[0\]\.scopes must be an array/,
      ],
      [{ resources: [{ scopes: ['mcp'] }] }, /\$\.resources\[0\] needs the key "uri"/],
      [
        { users: [{ username: 'a', password: 42 }] },
        /\$\.users\[0\]\.password does not have an allowed form \(string or object\)/,
      ],
      [{ rateLimits: { login: { max: 1 } } }, /\$\.rateLimits\.login needs the key "windowSeconds"/],
      [{ rateLimits: true }, /\$\.rateLimits does not have an allowed form/],
      [
        { clients: [{ client_id: 'c', token_endpoint_auth_method: 'private_key_jwt' }] },
        /token_endpoint_auth_method must be one of/,
      ],
      [{ toolScopes: { t: [''] } }, /\$\.toolScopes\.t\[0\] does not match/],
    ]
    for (const [config, pattern] of cases)
      assert.match(refusal(() => parseServeConfig(['--config', FILE], sources(config))).message, pattern)
    assert.match(
      refusal(() => parseServeConfig(['--config', FILE], sources('{"port": 1,'))).message,
      /is not JSON/,
    )
    assert.match(refusal(() => parseServeConfig(['--config', FILE], sources('[]'))).message, /JSON object/)
  })

  test('client rules: secret and method agree, redirect URIs pass the DCR policy, scopes exist, ids unique', () => {
    const client = (c: Record<string, unknown>) =>
      refusal(() =>
        parseServeConfig(
          ['--config', FILE],
          sources({ resources: [{ uri: 'https://a.example', scopes: ['mcp'] }], clients: [c] }, { S: 'x' }),
        ),
      ).message
    const cb = ['https://host.example/cb']
    assert.match(
      client({ client_id: 'c', redirect_uris: cb, client_secret: 's', token_endpoint_auth_method: 'none' }),
      /"none"/,
    )
    assert.match(
      client({ client_id: 'c', redirect_uris: cb, token_endpoint_auth_method: 'client_secret_basic' }),
      /without a client_secret/,
    )
    assert.match(client({ client_id: 'c' }), /needs redirect_uris/)
    assert.match(client({ client_id: 'c', redirect_uris: ['http://evil.example/cb'] }), /non-loopback/)
    assert.match(
      client({ client_id: 'c', redirect_uris: cb, scope: 'mcp admin' }),
      /"admin", which no resource has/,
    )
    assert.match(client({ client_id: 'mcp-oauth-demo-resource-server', redirect_uris: cb }), /reserved/)
    assert.match(
      refusal(() =>
        parseServeConfig(
          ['--config', FILE],
          sources({
            clients: [
              { client_id: 'c', redirect_uris: cb },
              { client_id: 'c', redirect_uris: cb },
            ],
          }),
        ),
      ).message,
      /listed twice/,
    )
  })

  test('{"env": NAME} must be set; literal secrets in a file others can read are warned about', () => {
    const missing = refusal(() =>
      parseServeConfig(
        ['--config', FILE],
        sources({ users: [{ username: 'a', password: { env: 'NOPE' } }] }),
      ),
    )
    assert.match(
      missing.message,
      /\$\.users\[0\]\.password names the environment variable NOPE, which is not set/,
    )
    const literal = {
      clients: [{ client_id: 'c', client_secret: 'literal-secret', redirect_uris: ['https://h.example/cb'] }],
    }
    const open = parseServeConfig(['--config', FILE], sources(literal, {}, 0o644))
    assert.equal(open.clients[0]!.client_secret, 'literal-secret')
    if (process.platform !== 'win32') {
      assert.equal(open.warnings.length, 1)
      assert.match(open.warnings[0]!, /\$\.clients\[0\]\.client_secret.*chmod 600/)
    }
    assert.deepEqual(parseServeConfig(['--config', FILE], sources(literal, {}, 0o600)).warnings, [])
    assert.deepEqual(
      parseServeConfig(['--config', FILE], sources(SAMPLE, ENV, 0o644)).warnings,
      [],
      '{env} only: no warning',
    )
  })

  test('--print-config shows the effective file-shaped config without any secret', () => {
    const c = parseServeConfig(
      ['--config', FILE, '--print-config', '--user', 'carol:a long password'],
      sources(
        {
          ...SAMPLE,
          clients: [
            { client_id: 'n', client_secret: 'literal-secret', redirect_uris: ['https://h.example/cb'] },
          ],
        },
        ENV,
      ),
    )
    assert.equal(c.printConfig, true)
    const text = JSON.stringify(c.redacted)
    for (const secret of ['literal-secret', 'a long password', ENV.UP, ENV.NANOBOT_SECRET])
      assert.ok(!text.includes(secret), secret)
    assert.match(text, /"password":"\[redacted\]"/)
    assert.match(text, /"clientSecret":\{"env":"UP"\}/)
  })
})
