/**
 * `mcp-oauth serve`'s configuration: the command line and an optional JSON file (`--config`), checked against
 * the published schema (`schema/mcp-oauth.schema.json`) and turned into one typed {@link ServeConfig}. Flags
 * override the file; repeatable flags (`--resource`, `--user`) replace the file's list.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { readFileSync, statSync } from 'node:fs'
import { dirname, resolve as resolvePath } from 'node:path'
import { parseArgs } from 'node:util'
import { InvalidArgumentError } from '../shared/errors.ts'
import { type SchemaNode, type SchemaProblem, validateSchema } from './json-schema.ts'
import {
  COMMAND_LINE_ONLY,
  type ConfigObject,
  PROXY_EXAMPLE,
  SERVE_FLAG_HINT,
  SERVE_FLAGS,
  type ServeFlag,
  STDIO_EXAMPLE,
} from './serve-flags.ts'
import { type ServeSettings, settingsFrom } from './serve-sections.ts'

/** Re-exported: the typed sections. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export type { ServeClient, ServeResource, ServeSettings } from './serve-sections.ts'
/** Re-exported: the reserved client id. @see https://www.rfc-editor.org/rfc/rfc7591#section-2 */
export { DEMO_RESOURCE_SERVER_CLIENT_ID } from './serve-sections.ts'

/** The effective configuration of `serve`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export interface ServeConfig extends ServeSettings {
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
  const covers = (file: string | undefined) => !!file && (dotted === file || dotted.startsWith(`${file}.`))
  return [...SERVE_FLAGS]
    .filter((f) => covers(f.file) || covers(f.also))
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

/** The value at a JSON path of {@link childPath}'s form (`$.a[0].b`). */
function valueAt(root: unknown, path: string): unknown {
  let value = root
  for (const [, key, index] of path.matchAll(/\.([\w$]+)|\[(\d+)\]/g))
    value = (value as Record<string, unknown> | undefined)?.[key ?? Number(index)]
  return value
}

function firstProblem(
  problems: SchemaProblem[],
  origin: (p: SchemaProblem) => 'file' | 'flag',
  file: string,
  checked: unknown,
): void {
  const problem = problems[0]
  if (!problem) return
  if (origin(problem) === 'flag') {
    const section = problem.path.replace(/^\$\./, '')
    // A section completed by several flags (upstream): the one given names the problem.
    const flag =
      flagFor(problem.path) ??
      SERVE_FLAGS.find(
        (f) => f.file.startsWith(`${section}.`) && valueAt(checked, `$.${f.file}`) !== undefined,
      )
    const missing = /^needs the key "(.+)"$/.exec(problem.message)?.[1]
    const needed = missing ? flagFor(`${problem.path}.${missing}`) : undefined
    if (flag && needed) throw flagError(`--${flag.flag} needs --${needed.flag}`, needed.hint)
    const value = valueAt(checked, problem.path)
    // Only a flag's own scalar is echoed (never --user: its value holds a password).
    const shown =
      flag && flag.flag !== 'user' && typeof value !== 'object' ? ` ${String(value).slice(0, 80)}` : ''
    const where = flag && problem.path === `$.${flag.file}` ? '' : `${problem.path.replace(/^\$\.?/, '')} `
    throw flagError(
      `bad ${flag ? `--${flag.flag}` : problem.path}${shown}: ${where}${problem.message}`,
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
  const childEnv = (config['stdio'] as ConfigObject | undefined)?.['env']
  for (const name of isObject(childEnv) ? Object.keys(childEnv) : [])
    visit(childEnv, name, `$.stdio.env.${name}`)
  return out
}

/**
 * Parses `serve`'s argv (and the `--config` file it names) into a {@link ServeConfig}; bad input becomes an
 * {@link InvalidArgumentError} naming the flag or the JSON path, with the closest known key for a typo.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export function parseServeConfig(argv: string[], sources: ServeConfigSources = {}): ServeConfig {
  const env = sources.env ?? process.env
  // Everything after the first `--` is the stdio server's command line, untouched.
  const dash = argv.indexOf('--')
  const args = dash === -1 ? argv : argv.slice(0, dash)
  const command = dash === -1 ? undefined : argv.slice(dash + 1)
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
  const given = values as Record<string, unknown>
  if (fromFlags['stdio'] && !given['stdio'] && !fromFile['stdio'])
    throw flagError('--restart needs --stdio', STDIO_EXAMPLE)
  if (fromFlags['proxy'] && given['proxy'] === undefined && !fromFile['proxy'])
    throw flagError('--upstream-transport needs --proxy', PROXY_EXAMPLE)
  const upstream = { ...(fromFile['upstream'] as ConfigObject), ...(fromFlags['upstream'] as ConfigObject) }
  if (fromFlags['upstream'] && upstream['preset'] === undefined && upstream['issuer'] === undefined) {
    const stray = SERVE_FLAGS.find(
      (f) => f.file.startsWith('upstream.') && valueAt(fromFlags, `$.${f.file}`) !== undefined,
    )
    throw flagError(`--${stray?.flag} needs --upstream`, SERVE_FLAG_HINT('upstream'))
  }
  if (command !== undefined) {
    if (!given['stdio']) throw flagError('a command after -- needs --stdio', STDIO_EXAMPLE)
    if (!command[0]) throw flagError('--stdio needs the server command after --', STDIO_EXAMPLE)
    fromFlags['stdio'] = {
      ...(fromFlags['stdio'] as ConfigObject),
      command: command[0],
      args: command.slice(1),
    }
  } else if (given['stdio'] && !isObject(fromFile['stdio']))
    throw flagError('--stdio needs the server command after --', STDIO_EXAMPLE)
  const schema = serveConfigSchema()
  const fileName = file ?? 'config'
  // The file alone first (a section may still be completed by flags: upstream's client id).
  firstProblem(
    validateSchema(fromFile, schema).filter(
      (p) => !(['$.upstream', '$.stdio', '$.proxy'].includes(p.path) && p.message.startsWith('needs')),
    ),
    () => 'file',
    fileName,
    fromFile,
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
    merged,
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
    ...settingsFrom(merged, fileName, env),
    printConfig: values['print-config'] === true,
    redacted,
    warnings,
  }
}
