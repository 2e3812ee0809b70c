/**
 * `mcp-oauth keys`: rotate the token signing keys of `mcp-oauth serve` in its store. Every instance on the store
 * picks the change up within seconds, without a restart: add (publish), activate (sign), retire (unpublish).
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
 */
import { parseArgs } from 'node:util'
import {
  activateSigningKeys,
  addSigningKeys,
  listSigningKeys,
  RETIRE_MINIMUM_AGE_SECONDS,
  retireSigningKeys,
  type SigningKeyInfo,
} from '../../authorization-server/index.ts'
import { InvalidArgumentError } from '../../shared/errors.ts'
import type { CliIo } from '../main.ts'
import { openStore } from './serve.ts'

/** Usage of `mcp-oauth keys`. @see https://www.rfc-editor.org/rfc/rfc7517#section-5 */
export const usage = `Usage: mcp-oauth keys list|add|activate|retire [--store SPEC] [--json]
                    [--access-token-ttl SECONDS] [--force]

Rotates the token signing keys of \`mcp-oauth serve\` in its store (same --store and MCP_OAUTH_STORAGE_KEY as
serve). Running instances pick each change up within 2 seconds; no restart.

  list      show every key: kid, algorithm, state (next, active, retiring), creation time
  add       generate new ES256 and RS256 keys as "next": published in the JWKS, not signing yet
  activate  the "next" keys start signing; the active ones become "retiring" (still published, so the
            tokens they signed keep verifying)
  retire    remove the "retiring" keys from the JWKS; tokens they signed stop verifying. Refused until
            the access-token lifetime plus a minute has passed since \`activate\` (the message names
            when); --access-token-ttl gives serve's value if you changed it (default 600), --force
            retires at once and cuts off the tokens those keys signed

Rotation: \`keys add\`; wait until resource servers have refetched the JWKS (their cache age, 10 minutes for
mcp-oauth-toolkit/server); \`keys activate\`; wait at least the access-token lifetime (10 minutes by
default) plus a minute; \`keys retire\`.

--json prints the keys after the change as JSON on stdout.`

function describe(keys: SigningKeyInfo[]): string {
  return keys
    .map((k) => {
      const created = k.created ? new Date(k.created * 1000).toISOString() : 'before rotation'
      return `  ${k.state.padEnd(8)}  ${k.alg}  ${k.kid}  created ${created}`
    })
    .join('\n')
}

/** Runs `mcp-oauth keys`. @see https://www.rfc-editor.org/rfc/rfc7517#section-5 */
export async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      store: { type: 'string' },
      json: { type: 'boolean', default: false },
      'access-token-ttl': { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  })
  const [action] = positionals
  const ttl = values['access-token-ttl']
  if (ttl !== undefined && !/^[1-9]\d{0,6}$/.test(ttl))
    throw new InvalidArgumentError(
      'invalid_argument',
      `--access-token-ttl must be a number of seconds, got "${ttl}"`,
      {
        hint: 'run `mcp-oauth keys retire --access-token-ttl 600`',
      },
    )
  const minimumAgeSeconds = ttl === undefined ? RETIRE_MINIMUM_AGE_SECONDS : Number(ttl) + 60
  const actions = {
    list: listSigningKeys,
    add: addSigningKeys,
    activate: activateSigningKeys,
    retire: (storage: Parameters<typeof retireSigningKeys>[0]) =>
      retireSigningKeys(storage, { minimumAgeSeconds, force: values.force }),
  }
  if (positionals.length !== 1 || !action || !(action in actions)) {
    throw new InvalidArgumentError(
      'invalid_argument',
      'expected `keys list`, `add`, `activate` or `retire`',
      {
        hint: 'run `mcp-oauth keys --help`',
      },
    )
  }
  const { storage } = await openStore(values.store)
  try {
    const keys = await actions[action as keyof typeof actions](storage)
    const done = {
      list: 'signing keys',
      add: 'added new keys (next: published, not signing yet; run `mcp-oauth keys activate` once resource servers have refetched the JWKS)',
      activate:
        'new keys now sign; the previous ones are retiring (run `mcp-oauth keys retire` once their tokens have expired)',
      retire: 'retired keys removed from the JWKS',
    }[action as keyof typeof actions]
    io.stderr.write(`mcp-oauth keys: ${done}\n${describe(keys)}\n`)
    if (values.json) io.stdout.write(`${JSON.stringify({ keys })}\n`)
    return 0
  } finally {
    await storage.close()
  }
}
