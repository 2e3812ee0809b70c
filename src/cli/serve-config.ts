/**
 * `mcp-oauth serve`'s configuration: the command line and an optional JSON file (`--config`), checked against
 * the published schema (`schema/mcp-oauth.schema.json`) and turned into one typed {@link ServeConfig}. Flags
 * override the file; repeatable flags (`--resource`, `--user`) replace the file's list.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { readFileSync, statSync } from 'node:fs'
import { dirname, resolve as resolvePath } from 'node:path'
import { parseArgs } from 'node:util'
import type { RateLimits } from '../authorization-server/rate-limit.ts'
import { redirectUriProblem } from '../authorization-server/registration.ts'
import { InvalidArgumentError } from '../shared/errors.ts'
import { canonicalResource, isLoopbackUrl } from '../shared/resource.ts'
import { type SchemaNode, type SchemaProblem, validateSchema } from './json-schema.ts'
import { COMMAND_LINE_ONLY, type ConfigObject, SERVE_FLAGS, type ServeFlag } from './serve-flags.ts'

/** A resource server `serve` issues tokens for. @see https://www.rfc-editor.org/rfc/rfc8707 */
export interface ServeResource {
  uri: string
  scopes: string[]
  defaultScopes?: string[]
  accessTokenTtl?: number
  tokenFormat?: 'jwt' | 'opaque'
  toolScopes: Record<string, string[]>
}

/** A pre-registered client (RFC 7591 field names). @see https://www.rfc-editor.org/rfc/rfc7591#section-2 */
export interface ServeClient {
  client_id: string
  client_secret?: string
  client_name?: string
  redirect_uris: string[]
  grant_types: string[]
  token_endpoint_auth_method: 'none' | 'client_secret_basic' | 'client_secret_post'
  scope?: string
}

/** The effective configuration of `serve`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export interface ServeConfig {
  port: number
  host: string
  issuer?: string
  store?: string
  tokenFormat: 'jwt' | 'opaque'
  accessTokenTtl?: number
  allowPrivateCimd: boolean
  /** Path of the PEM file (relative paths from the file are resolved against its folder). */
  cimdCa?: string
  redis?: string
  redisPrefix?: string
  quiet: boolean
  json: boolean
  /** Non-empty: standalone authorization server for these resources, no demo /mcp. */
  resources: ServeResource[]
  /** Scopes per tool on serve's own /mcp. */
  toolScopes: Record<string, string[]>
  users: { username: string; password?: string; passwordHash?: string }[]
  clients: ServeClient[]
  upstream?: { issuer: string; clientId: string; clientSecret?: string; name?: string }
  rateLimits: Partial<RateLimits> | false
  printConfig: boolean
  /** The file-shaped configuration with every secret redacted, for `--print-config`. */
  redacted: ConfigObject
  /** Things to tell the person on stderr (a readable file holding literal secrets). */
  warnings: string[]
}

/** Where the config file and environment come from (tests pass their own). */
export interface ServeConfigSources {
  env?: NodeJS.ProcessEnv
  readFile?: (path: string) => string
  /** Mode bits of the file, to warn about literal secrets readable by others. */
  fileMode?: (path: string) => number | undefined
}

/** The published JSON Schema of the config file. @see https://json-schema.org/draft/2020-12/json-schema-core */
export function serveConfigSchema(): SchemaNode & { properties: Record<string, SchemaNode> } {
  const url = new URL('../../schema/mcp-oauth.schema.json', import.meta.url)
  return JSON.parse(readFileSync(url, 'utf8'))
}

/** Client id of the demo resource server's own introspection client (reserved). */
export const DEMO_RESOURCE_SERVER_CLIENT_ID = 'mcp-oauth-demo-resource-server'

function configError(
  message: string,
  hint: string,
  details: Record<string, unknown> = {},
): InvalidArgumentError {
  return new InvalidArgumentError('invalid_config', message, { hint, details })
}

function flagError(message: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_argument', message, { hint })
}

/** The flag whose `file` path covers a JSON path (`$.resources[0].scopes[1]` → `--scopes`). */
function flagFor(path: string): ServeFlag | undefined {
  const dotted = path.replace(/^\$\.?/, '').replace(/\[\d+\]/g, '')
  return [...SERVE_FLAGS]
    .filter((f) => dotted === f.file || dotted.startsWith(`${f.file}.`))
    .sort((a, b) => b.file.length - a.file.length)[0]
}

function isObject(value: unknown): value is ConfigObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function readConfigFile(file: string, sources: ServeConfigSources): ConfigObject {
  let text: string
  try {
    text = (sources.readFile ?? ((p) => readFileSync(p, 'utf8')))(file)
  } catch (error) {
    throw configError(
      `cannot read --config ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      'pass a readable JSON file, e.g. --config mcp-oauth.json',
    )
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw configError(
      `${file} is not JSON: ${(error as Error).message.slice(0, 200)}`,
      'fix the JSON syntax (an editor with the $schema URL shows the error)',
    )
  }
  if (!isObject(value))
    throw configError(
      `${file} must hold a JSON object`,
      'write {"resources": [{"uri": "…", "scopes": ["mcp"]}]}',
    )
  return value
}

function firstProblem(
  problems: SchemaProblem[],
  origin: (p: SchemaProblem) => 'file' | 'flag',
  file: string,
): void {
  const problem = problems[0]
  if (!problem) return
  if (origin(problem) === 'flag') {
    const flag = flagFor(problem.path)
    const name = flag ? `--${flag.flag}` : problem.path
    throw flagError(
      `bad ${name}: ${problem.path.replace(/^\$\.?/, '') || 'value'} ${problem.message}`,
      flag?.hint ?? 'run `mcp-oauth serve --help`',
    )
  }
  const flag = flagFor(problem.path)
  throw configError(
    `${file}: ${problem.path} ${problem.message}`,
    problem.suggestion
      ? `rename "${problem.unknownKey}" to "${problem.suggestion}" (schema/mcp-oauth.schema.json lists every key)`
      : problem.unknownKey
        ? 'remove it; schema/mcp-oauth.schema.json lists every key'
        : (flag?.hint ?? 'see schema/mcp-oauth.schema.json'),
    {
      path: problem.path,
      ...(problem.unknownKey ? { key: problem.unknownKey } : {}),
      ...(problem.suggestion ? { suggestion: problem.suggestion } : {}),
    },
  )
}

/** Flags over file: objects (upstream, rateLimits) merge key by key, everything else is replaced. */
function merge(file: ConfigObject, flags: ConfigObject): ConfigObject {
  const out: ConfigObject = { ...file }
  for (const [key, value] of Object.entries(flags))
    out[key] = isObject(value) && isObject(file[key]) ? { ...(file[key] as ConfigObject), ...value } : value
  return out
}

/** Every secret field: its path and value. */
function secretFields(config: ConfigObject): { path: string; value: unknown; set: (v: unknown) => void }[] {
  const out: { path: string; value: unknown; set: (v: unknown) => void }[] = []
  const visit = (holder: unknown, key: string, path: string) => {
    if (!isObject(holder) || !(key in holder)) return
    out.push({
      path,
      value: holder[key],
      set: (v) => {
        holder[key] = v
      },
    })
  }
  for (const [i, u] of ((config['users'] as unknown[] | undefined) ?? []).entries())
    visit(u, 'password', `$.users[${i}].password`)
  for (const [i, c] of ((config['clients'] as unknown[] | undefined) ?? []).entries())
    visit(c, 'client_secret', `$.clients[${i}].client_secret`)
  visit(config['upstream'], 'clientSecret', '$.upstream.clientSecret')
  return out
}

/**
 * Parses `serve`'s argv (and the `--config` file it names) into a {@link ServeConfig}; bad input becomes an
 * {@link InvalidArgumentError} naming the flag or the JSON path, with the closest known key for a typo.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export function parseServeConfig(args: string[], sources: ServeConfigSources = {}): ServeConfig {
  const env = sources.env ?? process.env
  const options = Object.fromEntries(
    SERVE_FLAGS.map((f) => [f.flag, { type: f.type, ...(f.multiple ? { multiple: true } : {}) }]),
  )
  const { tokens, values } = parseArgs({
    args,
    strict: true,
    tokens: true,
    options: { ...options, ...COMMAND_LINE_ONLY },
  })
  const fromFlags: ConfigObject = {}
  for (const token of tokens) {
    if (token.kind !== 'option') continue
    const flag = SERVE_FLAGS.find((f) => f.flag === token.name)
    if (!flag) continue
    const value = token.value ?? true
    if (flag.apply) flag.apply(fromFlags, value)
    else {
      const [head, tail] = flag.file.split('.') as [string, string | undefined]
      if (tail) fromFlags[head] = { ...((fromFlags[head] as ConfigObject | undefined) ?? {}), [tail]: value }
      else fromFlags[head] = value
    }
  }
  const file = values.config as string | undefined
  const fromFile = file ? readConfigFile(file, sources) : {}
  const schema = serveConfigSchema()
  const fileName = file ?? 'config'
  // The file alone first (a section may still be completed by flags: upstream's client id).
  firstProblem(
    validateSchema(fromFile, schema).filter(
      (p) => !(p.path === '$.upstream' && p.message.startsWith('needs')),
    ),
    () => 'file',
    fileName,
  )
  if (file && typeof fromFile['cimdCa'] === 'string' && !('cimdCa' in fromFlags))
    fromFile['cimdCa'] = resolvePath(dirname(file), fromFile['cimdCa'])
  const literalInFile = secretFields(fromFile)
    .filter((s) => typeof s.value === 'string')
    .map((s) => s.path)
  const merged = merge(fromFile, fromFlags)
  firstProblem(
    validateSchema(merged, schema),
    (p) => ((/^\$\.([A-Za-z]+)/.exec(p.path)?.[1] ?? '') in fromFlags ? 'flag' : 'file'),
    fileName,
  )
  const redacted: ConfigObject = {
    port: 8976,
    host: '127.0.0.1',
    tokenFormat: 'jwt',
    ...structuredClone(merged),
  }
  for (const s of secretFields(redacted)) if (typeof s.value === 'string') s.set('[redacted]')
  for (const s of secretFields(merged)) {
    if (!isObject(s.value)) continue
    const name = String(s.value['env'])
    const value = env[name]
    if (!value)
      throw configError(
        `${fileName}: ${s.path} names the environment variable ${name}, which is not set`,
        `set ${name} in serve's environment (or write the value in the file, readable only by you)`,
      )
    s.set(value)
  }
  const warnings: string[] = []
  if (file && literalInFile.length && process.platform !== 'win32') {
    const mode = (sources.fileMode ?? ((p) => statSync(p).mode))(file)
    if (mode !== undefined && (mode & 0o077) !== 0)
      warnings.push(
        `${file} holds literal secrets (${literalInFile.join(', ')}) and other users can read it: run \`chmod 600 ${file}\` or write {"env": "NAME"} instead`,
      )
  }
  return {
    ...typedConfig(merged, fileName),
    printConfig: values['print-config'] === true,
    redacted,
    warnings,
  }
}

function typedConfig(
  c: ConfigObject,
  fileName: string,
): Omit<ServeConfig, 'printConfig' | 'redacted' | 'warnings'> {
  const toolScopes = (c['toolScopes'] ?? {}) as Record<string, string[]>
  const resources = ((c['resources'] ?? []) as ConfigObject[]).map((r, i) => checkedResource(r, i, fileName))
  const seen = new Set<string>()
  for (const r of resources) {
    if (seen.has(r.uri))
      throw configError(
        `the resource ${r.uri} is listed twice`,
        'list each resource once, with all its scopes',
      )
    seen.add(r.uri)
  }
  const knownScopes = new Set([
    'openid',
    'offline_access',
    ...resources.flatMap((r) => r.scopes),
    ...Object.values(toolScopes).flat(),
  ])
  const clients = ((c['clients'] ?? []) as ConfigObject[]).map((client, i) =>
    checkedClient(client, i, fileName, resources.length ? knownScopes : undefined),
  )
  const ids = new Set<string>()
  for (const client of clients) {
    if (ids.has(client.client_id) || client.client_id === DEMO_RESOURCE_SERVER_CLIENT_ID)
      throw configError(
        `${fileName}: the client_id ${client.client_id} is ${ids.has(client.client_id) ? 'listed twice' : 'reserved'}`,
        'give each pre-registered client its own client_id',
      )
    ids.add(client.client_id)
  }
  const users = ((c['users'] ?? []) as ConfigObject[]).map((u, i) => {
    if ((u['password'] === undefined) === (u['passwordHash'] === undefined))
      throw configError(
        `${fileName}: $.users[${i}] needs exactly one of "password" and "passwordHash"`,
        'write {"username": "alice", "password": {"env": "ALICE_PASSWORD"}}',
      )
    return u as ServeConfig['users'][number]
  })
  const upstream = c['upstream'] as ServeConfig['upstream'] | undefined
  return {
    port: (c['port'] as number | undefined) ?? 8976,
    host: (c['host'] as string | undefined) ?? '127.0.0.1',
    ...pick(c, ['issuer', 'store', 'accessTokenTtl', 'cimdCa', 'redis', 'redisPrefix']),
    tokenFormat: (c['tokenFormat'] as 'jwt' | 'opaque' | undefined) ?? 'jwt',
    allowPrivateCimd: c['allowPrivateCimd'] === true,
    quiet: c['quiet'] === true,
    json: c['json'] === true,
    resources,
    toolScopes,
    users,
    clients,
    ...(upstream ? { upstream } : {}),
    rateLimits: (c['rateLimits'] ?? {}) as ServeConfig['rateLimits'],
  }
}

function pick(c: ConfigObject, keys: string[]): Record<string, never> {
  return Object.fromEntries(keys.filter((k) => c[k] !== undefined).map((k) => [k, c[k]])) as Record<
    string,
    never
  >
}

function checkedResource(r: ConfigObject, i: number, fileName: string): ServeResource {
  const at = `$.resources[${i}]`
  let uri: string
  try {
    uri = canonicalResource(String(r['uri']))
  } catch {
    throw configError(
      `${fileName}: ${at}.uri is not an http(s) URL`,
      'pass the resource server URL, e.g. https://mcp.example.com/mcp',
    )
  }
  if (uri.startsWith('http:') && !isLoopbackUrl(uri))
    throw configError(
      `the resource ${uri} uses http on a non-loopback host`,
      'use its https:// URL (http only on loopback)',
    )
  const toolScopes = (r['toolScopes'] ?? {}) as Record<string, string[]>
  const scopes = [
    ...new Set([...((r['scopes'] as string[] | undefined) ?? ['mcp']), ...Object.values(toolScopes).flat()]),
  ]
  const defaultScopes = r['defaultScopes'] as string[] | undefined
  const unknown = defaultScopes?.find((s) => !scopes.includes(s))
  if (unknown)
    throw configError(
      `${fileName}: ${at}.defaultScopes names "${unknown}", not one of its scopes`,
      'list it in "scopes" too',
    )
  return {
    uri,
    scopes,
    ...(defaultScopes ? { defaultScopes } : {}),
    ...pick(r, ['accessTokenTtl', 'tokenFormat']),
    toolScopes,
  }
}

function checkedClient(
  c: ConfigObject,
  i: number,
  fileName: string,
  knownScopes: Set<string> | undefined,
): ServeClient {
  const at = `${fileName}: $.clients[${i}]`
  const secret = c['client_secret'] as string | undefined
  const method =
    (c['token_endpoint_auth_method'] as ServeClient['token_endpoint_auth_method'] | undefined) ??
    (secret ? 'client_secret_basic' : 'none')
  if (method === 'none' && secret)
    throw configError(
      `${at} has a client_secret but token_endpoint_auth_method "none"`,
      'drop the secret (public client) or use client_secret_basic',
    )
  if (method !== 'none' && !secret)
    throw configError(
      `${at} uses ${method} without a client_secret`,
      'add "client_secret": {"env": "NAME"}, or use "none" for a public client',
    )
  const grantTypes = (c['grant_types'] as string[] | undefined) ?? ['authorization_code', 'refresh_token']
  const redirectUris = (c['redirect_uris'] as string[] | undefined) ?? []
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0)
    throw configError(
      `${at} needs redirect_uris for the authorization code grant`,
      'add "redirect_uris": ["https://host.example/callback"]',
    )
  for (const [j, uri] of redirectUris.entries()) {
    const problem = redirectUriProblem(uri)
    if (problem)
      throw configError(
        `${at}.redirect_uris[${j}] ${problem}`,
        'use https, or http on loopback, without a fragment',
      )
  }
  const scope = c['scope'] as string | undefined
  const unknown = knownScopes && scope?.split(' ').find((s) => s && !knownScopes.has(s))
  if (unknown)
    throw configError(
      `${at}.scope names "${unknown}", which no resource has`,
      'add it to a resource\'s "scopes" or drop it',
    )
  return {
    client_id: String(c['client_id']),
    ...(secret ? { client_secret: secret } : {}),
    ...(typeof c['client_name'] === 'string' ? { client_name: c['client_name'] } : {}),
    redirect_uris: redirectUris,
    grant_types: grantTypes,
    token_endpoint_auth_method: method,
    ...(scope ? { scope } : {}),
  }
}
