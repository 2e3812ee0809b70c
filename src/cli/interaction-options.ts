/**
 * How the CLI asks a person, from the shared flags: `--no-interaction` (or MCP_OAUTH_NO_INTERACTION) never,
 * `--device-code`, `--handoff`, `--no-browser`, or the machine's best way.
 * @see https://www.rfc-editor.org/rfc/rfc8252
 */
import type { InteractionMode } from '../client/interaction/choose.ts'
import { InvalidArgumentError } from '../shared/errors.ts'

/** The flags that choose how a person is asked. */
type InteractionFlags = {
  'no-interaction'?: boolean
  'device-code'?: boolean
  'no-browser'?: boolean
  handoff?: boolean
}

function usageError(message: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_usage', message, { hint })
}

/**
 * Whether this run must never ask a person: `--no-interaction`, or `MCP_OAUTH_NO_INTERACTION` set to anything but
 * empty, `0` or `false` (for CI and scheduled jobs, where nobody answers a browser or a prompt). Contradicting
 * `--device-code` or `--no-browser` is a usage error rather than a silent choice.
 * @see https://www.rfc-editor.org/rfc/rfc8252
 */
export function interactionOff(
  flags: InteractionFlags,
  env: Record<string, string | undefined> = process.env,
): boolean {
  const variable = env['MCP_OAUTH_NO_INTERACTION']?.trim().toLowerCase()
  const off = flags['no-interaction'] === true || (!!variable && variable !== '0' && variable !== 'false')
  const asking = flags['device-code']
    ? '--device-code'
    : flags['no-browser']
      ? '--no-browser'
      : flags.handoff
        ? '--handoff'
        : undefined
  if (off && asking)
    throw usageError(
      `${asking} asks a person, but ${flags['no-interaction'] ? '--no-interaction' : 'MCP_OAUTH_NO_INTERACTION'} says nobody is there`,
      'Drop one of them: --no-interaction (or MCP_OAUTH_NO_INTERACTION=1) for CI, --device-code, --handoff or --no-browser to sign in by hand.',
    )
  return off
}

/**
 * The interaction mode the flags ask for (`browser` when $BROWSER names one, else decided by the machine).
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
export function interactionMode(
  flags: InteractionFlags,
  browserCommand: boolean,
  env: Record<string, string | undefined> = process.env,
): InteractionMode | 'auto' {
  if (interactionOff(flags, env)) return 'none'
  if (flags['device-code']) return 'device'
  if (flags.handoff) return 'handoff'
  if (flags['no-browser']) return 'paste'
  return browserCommand ? 'browser' : 'auto'
}
