import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { TraceStep } from '../../client/trace.ts'
import { checkAuthorizationServer } from './authorization-server.ts'
import { checkProtectedResource, checkResource, type DiscoveryFacts } from './protected-resource.ts'
import type { Check } from './report.ts'

const S = 'https://mcp.example.com/mcp'
const PRM_PATH = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp'
const PRM_ROOT = 'https://mcp.example.com/.well-known/oauth-protected-resource'
const step = (
  kind: TraceStep['kind'],
  url: string,
  status: number,
  outcome: TraceStep['outcome'],
  code?: string,
): TraceStep => ({
  kind,
  url,
  status,
  outcome,
  ...(code ? { code } : {}),
})
const prm = { resource: S, authorization_servers: ['https://auth.example.com/tenant1'] }
const md = (issuer: string) => ({
  issuer,
  authorization_endpoint: `${issuer}/authorize`,
  token_endpoint: `${issuer}/token`,
  code_challenge_methods_supported: ['S256'],
})
const result = (issuer: string, extra: Record<string, unknown> = {}) => ({
  server: S,
  resource: S,
  prm,
  prmUrl: PRM_PATH,
  issuer,
  metadata: { ...md(issuer), ...extra },
  legacy: false,
  expires_at: 0,
})
const facts = (f: Partial<DiscoveryFacts>): DiscoveryFacts => ({
  server: S,
  steps: [],
  warnings: [],
  exchanges: [],
  ...f,
})
const find = (checks: Check[], id: string) => checks.find((c) => c.id === id)

describe('checkResource', () => {
  it('passes the identical URL, names a trailing slash, warns on a parent, fails another server', () => {
    assert.equal(checkResource(S, S).status, 'pass')
    const slash = checkResource(S, `${S}/`)
    assert.equal(slash.status, 'fail')
    assert.equal(slash.diagnosis, 'trailing_slash_audience')
    assert.equal(checkResource(S, 'https://mcp.example.com').status, 'warn')
    assert.equal(checkResource(S, 'https://other.example.com/mcp').status, 'fail')
    assert.equal(checkResource(S, 'not a url').status, 'fail')
  })
})

describe('checkProtectedResource (from trace steps)', () => {
  it('names a resource_metadata URL that answers 404 even when a well-known URL works', () => {
    const rm = 'https://mcp.example.com/prm-missing'
    const checks = checkProtectedResource(
      facts({
        resourceMetadataUrl: rm,
        steps: [
          step('protected-resource-metadata', rm, 404, 'not-found'),
          step('protected-resource-metadata', PRM_PATH, 200, 'ok'),
        ],
        result: result('https://auth.example.com/tenant1'),
      }),
    )
    const c = find(checks, 'prm.url.challenge')!
    assert.equal(c.status, 'fail')
    assert.equal(c.diagnosis, 'resource_metadata_404')
    assert.equal(find(checks, 'prm.url.path')?.status, 'pass')
    assert.equal(find(checks, 'prm.url.root')?.status, 'info')
    assert.equal(find(checks, 'prm.found')?.status, 'pass')
  })

  it('matches a resource_metadata URL with a query to its trace step (traces drop the query)', () => {
    const checks = checkProtectedResource(
      facts({
        resourceMetadataUrl: `${PRM_PATH}?tenant=a`,
        steps: [step('protected-resource-metadata', PRM_PATH, 200, 'ok')],
        result: result('https://auth.example.com/tenant1'),
      }),
    )
    assert.equal(find(checks, 'prm.url.challenge')?.status, 'pass')
    assert.equal(find(checks, 'prm.url.path'), undefined)
  })

  it('warns on metadata behind authentication and fails when there is none (legacy)', () => {
    const checks = checkProtectedResource(
      facts({
        steps: [
          step('protected-resource-metadata', PRM_PATH, 401, 'http-error'),
          step('protected-resource-metadata', PRM_ROOT, 404, 'not-found'),
        ],
        result: {
          ...result('https://mcp.example.com'),
          prm: undefined,
          prmUrl: undefined,
          legacy: true,
        } as never,
      }),
    )
    assert.equal(find(checks, 'prm.url.path')?.status, 'warn')
    assert.equal(find(checks, 'prm.found')?.status, 'fail')
  })
})

describe('checkAuthorizationServer (from trace steps)', () => {
  const issuer = 'https://auth.example.com/tenant1'
  const urls = {
    oauthPath: 'https://auth.example.com/.well-known/oauth-authorization-server/tenant1',
    oidcPath: 'https://auth.example.com/.well-known/openid-configuration/tenant1',
    oidcAppend: 'https://auth.example.com/tenant1/.well-known/openid-configuration',
    oauthRoot: 'https://auth.example.com/.well-known/oauth-authorization-server',
  }
  const kind = 'authorization-server-metadata' as const

  it('passes the RFC 8414 path-inserted URL with the issuer echo, PKCE and iss', () => {
    const checks = checkAuthorizationServer(
      facts({
        steps: [step(kind, urls.oauthPath, 200, 'ok')],
        result: result(issuer, { authorization_response_iss_parameter_supported: true }),
      }),
    )
    for (const id of ['as.url.oauth-path-insert', 'as.found', 'as.issuer', 'as.pkce', 'as.iss_parameter'])
      assert.equal(find(checks, id)?.status, 'pass', id)
    assert.equal(find(checks, 'as.url.oauth-root')?.status, 'info')
  })

  it('warns when only openid-configuration answers', () => {
    const checks = checkAuthorizationServer(
      facts({
        steps: [step(kind, urls.oauthPath, 404, 'not-found'), step(kind, urls.oidcPath, 200, 'ok')],
        result: result(issuer),
      }),
    )
    const c = find(checks, 'as.found')!
    assert.equal(c.status, 'warn')
    assert.equal(c.diagnosis, 'metadata_only_at_openid_configuration')
    assert.equal(find(checks, 'as.iss_parameter')?.status, 'warn')
  })

  it('fails a path issuer found only at the root, and a missing S256', () => {
    const checks = checkAuthorizationServer(
      facts({
        steps: [
          step(kind, urls.oauthPath, 404, 'not-found'),
          step(kind, urls.oidcPath, 404, 'not-found'),
          step(kind, urls.oidcAppend, 404, 'not-found'),
          step(kind, urls.oauthRoot, 200, 'ok'),
        ],
        result: result(issuer, { code_challenge_methods_supported: undefined }),
      }),
    )
    const c = find(checks, 'as.found')!
    assert.equal(c.diagnosis, 'path_issuer_at_root')
    assert.equal(c.status, 'fail')
    assert.equal(find(checks, 'as.pkce')?.status, 'fail')
  })

  it('names an http issuer the engine refused', () => {
    const checks = checkAuthorizationServer(
      facts({
        steps: [step('protected-resource-metadata', PRM_PATH, 200, 'ok')],
        exchanges: [
          {
            url: PRM_PATH,
            method: 'GET',
            status: 200,
            headers: {},
            body: JSON.stringify({ resource: S, authorization_servers: ['http://auth.example.com'] }),
          },
        ],
        error: Object.assign(new Error('insecure'), {
          code: 'insecure_url',
          details: { url: 'http://auth.example.com/.well-known/oauth-authorization-server' },
        }),
      }),
    )
    const c = find(checks, 'as.https')!
    assert.equal(c.status, 'fail')
    assert.equal(c.diagnosis, 'http_issuer')
  })
})
