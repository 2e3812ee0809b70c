/**
 * Picking how to ask the person: a browser with a loopback callback where there is a display (rate-limited to one
 * tab per session per minute across processes), else the device grant when the AS offers it, else a paste prompt
 * on a terminal, else a clear InteractionRequiredError. The URL is always printed to stderr.
 * @see https://www.rfc-editor.org/rfc/rfc8252
 */
import { InteractionRequiredError, McpOAuthError, SPEC } from '../../shared/errors.ts'
import { redactUrl } from '../../shared/redact.ts'
import { PENDING_TTL_MS } from '../authorization-code-flow.ts'
import type { AuthorizeContext, Authorizer, DeviceCodePrompt } from '../authorizer.ts'
import type { TokenStore } from '../stores/store.ts'
import { hasDisplay } from './browser.ts'
import { detectSsh, handoffInstructions, type SshConnection } from './handoff.ts'
import type { LoopbackAuthorizer, LoopbackOptions } from './loopback.ts'
import { claimPrompt, type PromptPermit, releasePrompt } from './rate-limit.ts'

// What asks the person loads when a sign-in starts: `connect` builds an authorizer on every start and, with stored
// tokens, never uses it (the listener, its pages and the paste prompt were half of its module loading).
const browserModule = () => import('./browser.ts')
const deviceCodeModule = () => import('./device-code.ts')
const loopbackModule = () => import('./loopback.ts')
const pasteModule = () => import('./paste.ts')

/** How the person is asked. @see https://www.rfc-editor.org/rfc/rfc8252 */
export type InteractionMode = 'browser' | 'device' | 'paste' | 'handoff' | 'none'

/** Options of {@link chooseAuthorizer}. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export interface ChooseAuthorizerOptions extends Omit<LoopbackOptions, 'open' | 'log'> {
  /**
   * Force a mode; default: decided from the display and the terminal. `handoff`: the browser is on another
   * computer (SSH): print the URL with the `ssh -L` forward for the callback port, wait for the callback and take
   * a pasted address as the fallback; without a display over SSH, `auto` adds the same forward line.
   */
  mode?: InteractionMode | 'auto'
  /** The SSH connection to build the forward from (default: read from SSH_CONNECTION). */
  ssh?: SshConnection
  /** Shared store: the time of the last browser tab is kept there so several processes respect the limit. */
  store?: TokenStore
  /** At most one browser tab per session per this many ms. Default 60 s. */
  promptWindowMs?: number
  /** Opens a URL in a browser (default: the system browser via `open`; tests drive a real headless browser). */
  openUrl?: (url: URL) => Promise<void> | void
  /** Environment and platform, for deciding whether there is a display. */
  env?: Record<string, string | undefined>
  platform?: NodeJS.Platform
  /** Terminal streams (default stdin/stderr). Human output only ever goes to `output`. */
  input?: NodeJS.ReadableStream & { isTTY?: boolean }
  output?: NodeJS.WritableStream & { isTTY?: boolean }
  /**
   * How a hint tells the person to sign in again the way this session was opened (its URL and flags), with
   * `scope` on step-up: the app knows its own command line, the library does not. Returns the instruction with the
   * command in backticks.
   */
  signInCommand?: SignInCommand
}

/**
 * Builds the sign-in instruction a hint names (command in backticks), asking for `scope` when a step-up needs it.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#step-up-authorization-flow
 */
export type SignInCommand = (scope: string | undefined) => string

/** The authorizer {@link chooseAuthorizer} returns: which mode it picked. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export interface ChosenAuthorizer extends Authorizer {
  redirectUri: () => Promise<string>
  readonly mode: InteractionMode
  refusal(scope: string | undefined, context: Omit<AuthorizeContext, 'state' | 'signal'>): Error | undefined
  /** From now on every sign-in is refused: the command is ending (a bridge's closing DELETE must not open a browser). */
  stopInteracting(): void
  close(): Promise<void>
}

/**
 * The instruction that gets what this sign-in was for: on step-up, a sign-in with the scope `asked` (the one the
 * authorization request carries) (a plain login would ask only for what the server challenges first, never the wider scope).
 * Without the app's {@link SignInCommand} no command can be named truthfully (the context knows the protected
 * resource, not the URL the app was given), so it says what to do in words.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#step-up-authorization-flow
 */
export function loginCommand(
  asked: string | undefined,
  context: Pick<AuthorizeContext, 'reason' | 'resource'>,
  signInCommand?: SignInCommand,
): string {
  const scope = context.reason !== 'login' && asked ? asked : undefined
  if (signInCommand) return signInCommand(scope)
  const wanted = scope ? ` with scope "${scope.replace(/["\\$`]/g, '')}"` : ''
  return `an interactive sign-in to ${redactUrl(context.resource)}${wanted} from a process that can ask a person`
}

/**
 * `--device-code` against an authorization server without the device grant: say so instead of falling back.
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-4
 */
export function noDeviceGrant(
  context: Pick<AuthorizeContext, 'resource' | 'expectedIssuer'>,
  signInCommand?: SignInCommand,
): McpOAuthError {
  const resource = redactUrl(context.resource)
  const instead = signInCommand
    ? `run ${signInCommand(undefined)} where a browser can open, or add --no-browser to open the printed URL yourself (over SSH, forward the callback port)`
    : 'sign in with a browser (or the printed URL, opened yourself) instead'
  return new McpOAuthError(
    'device_grant_unsupported',
    `the authorization server ${redactUrl(context.expectedIssuer)} offers no device grant (its metadata has no device_authorization_endpoint), so --device-code cannot sign in to ${resource}`,
    {
      spec: SPEC.rfc8628,
      hint: `Drop --device-code: ${instead}.`,
      details: { issuer: context.expectedIssuer },
    },
  )
}

/** Decide the mode for this machine. @see https://www.rfc-editor.org/rfc/rfc8628#section-1 */
export function pickMode(options: ChooseAuthorizerOptions = {}): InteractionMode {
  if (options.mode && options.mode !== 'auto') return options.mode
  if (hasDisplay(options.env ?? process.env, options.platform ?? process.platform)) return 'browser'
  // Without a display the device grant is preferred; the engine uses it when the AS offers it, and otherwise
  // calls authorize, which offers the paste prompt on a terminal or fails clearly.
  return 'device'
}

/**
 * Build the authorizer for this machine. In `device` mode `preferDeviceCode` is set; if the AS lacks the device
 * grant, the engine falls back to `authorize`, which then offers the paste prompt on a terminal.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
export function chooseAuthorizer(options: ChooseAuthorizerOptions = {}): ChosenAuthorizer {
  const mode = pickMode(options)
  const output = options.output ?? process.stderr
  const input = options.input ?? process.stdin
  const log = (line: string) => output.write(`${line}\n`)
  const headless = mode !== 'browser'
  const countdowns = new Set<() => void>()

  // Over SSH without a display (or when asked) the loopback callback must come back through a port forward.
  const ssh = mode === 'browser' || mode === 'none' ? undefined : (options.ssh ?? detectSsh(options.env))
  const handoff = mode === 'handoff' || ssh !== undefined
  // A pipe may carry a pasted address when the person asked for the hand-off; a host's JSON-RPC channel is
  // passed in marked `isTTY: false` and is never read.
  const canPaste = input.isTTY === true || (mode === 'handoff' && input.isTTY !== false)

  const open = async (url: URL, context: AuthorizeContext) => {
    if (handoff) {
      const redirectUri = await (await listener()).redirectUri()
      const fallback = canPaste
        ? 'Open the URL anyway and paste the address your browser ends on (below).'
        : `Stop this process, then run ${options.signInCommand ? options.signInCommand(undefined).replace(/`$/, ' --handoff`') : 'a sign-in with --handoff from a terminal'} here and paste the address your browser ends on.`
      log(handoffInstructions(redirectUri, ssh ?? { host: '', port: 22 }, fallback))
    }
    if (headless) return
    if (options.store) {
      // A store that cannot record the claim must not keep the person from signing in.
      const permit = await claimPrompt(options.store, context.resource, context.expectedIssuer, {
        ...(options.promptWindowMs !== undefined ? { windowMs: options.promptWindowMs } : {}),
      }).catch((): PromptPermit => ({ allowed: true }))
      if (!permit.allowed) {
        const ago = Math.round((Date.now() - permit.lastAt) / 1000)
        log(`A browser tab for this sign-in was opened ${ago} s ago; not opening another. Use the URL above.`)
        return
      }
    }
    await (options.openUrl ?? (await browserModule()).openBrowser)(url)
  }

  // One listener, made on first use (concurrent first calls share it).
  let loopback: Promise<LoopbackAuthorizer> | undefined
  const listener = () => {
    if (!loopback) {
      const made = loopbackModule().then((m) => m.loopbackAuthorizer({ ...options, open, log }))
      loopback = made
      // A failed load is not kept: the next sign-in tries again, and close() has nothing to close.
      made.catch(() => {
        if (loopback === made) loopback = undefined
      })
    }
    return loopback
  }

  let ending = false
  const authorizer: ChosenAuthorizer = {
    mode,
    stopInteracting() {
      ending = true
    },
    redirectUri: async () => (await listener()).redirectUri(),

    // The pending request must outlive the wait for the browser (mcp-remote's --auth-timeout can be long).
    ...(options.timeoutMs && options.timeoutMs + 60_000 > PENDING_TTL_MS
      ? { pendingTtlMs: options.timeoutMs + 60_000 }
      : {}),
    refusal(scope, context) {
      if (ending) {
        return new InteractionRequiredError(
          'interaction_required',
          `not signing in to ${redactUrl(context.resource)}: the command is ending`,
          {
            spec: SPEC.rfc8252,
            hint: `run ${loginCommand(scope, context, options.signInCommand)} to sign in again`,
            details: { resource: redactUrl(context.resource) },
          },
        )
      }
      // --device-code was asked for, and the engine only calls authorize in device mode when the AS lacks the grant.
      if (options.mode === 'device') return noDeviceGrant(context, options.signInCommand)
      // Over SSH the person can still reach the loopback listener through a forward: wait for it.
      if (mode !== 'none' && (mode !== 'device' || input.isTTY || ssh)) return undefined
      const command = loginCommand(scope, context, options.signInCommand)
      return new InteractionRequiredError(
        'interaction_required',
        `signing in to ${redactUrl(context.resource)} needs a person`,
        {
          spec: context.reason === 'step-up' ? SPEC.mcpStepUp : SPEC.rfc8252,
          hint:
            mode === 'none'
              ? `interactive sign-in is turned off here (--no-interaction, MCP_OAUTH_NO_INTERACTION); run ${command} where a browser is, with the same store, then run this again`
              : `no display, no terminal, and the authorization server offers no device grant: run ${command} in a terminal first, the session is then shared`,
          details: { resource: redactUrl(context.resource) },
        },
      )
    },
    async authorize(url, context) {
      // An explicit `paste` (--no-browser) without a terminal still prints the URL and waits on the loopback
      // listener: the person opens the URL in a browser on this machine.
      const refused = authorizer.refusal(url.searchParams.get('scope') ?? undefined, context)
      if (refused) throw refused
      const loop = await listener()
      if (!headless || !canPaste) {
        const callback = await loop.authorize(url, context)
        // The limit is against storms of unanswered tabs: a completed sign-in lifts it, so a deliberate
        // logout-and-login within the minute opens the browser again.
        if (options.store && callback.searchParams.has('code')) {
          await releasePrompt(options.store, context.resource, context.expectedIssuer).catch(() => {})
        }
        return callback
      }
      // Headless terminal: the listener still runs (an SSH port forward reaches it) while the person may paste.
      const stopPrompt = new AbortController()
      const flow = loop.authorize(url, context)
      const { promptForCallback } = await pasteModule()
      const prompt = promptForCallback({
        input,
        output,
        redirectUri: await loop.redirectUri(),
        submit: (u) => loop.submit(u),
        signal: stopPrompt.signal,
      }).catch(() => {})
      try {
        return await flow
      } finally {
        stopPrompt.abort()
        await prompt
      }
    },
    async showDeviceCode(prompt: DeviceCodePrompt, context: Omit<AuthorizeContext, 'state'>) {
      for (const stop of countdowns) stop()
      const { presentDeviceCode } = await deviceCodeModule()
      const stop = presentDeviceCode(prompt, context.resource, output, {
        ...(context.signal ? { signal: context.signal } : {}),
      })
      countdowns.add(stop)
      return () => {
        stop()
        countdowns.delete(stop)
      }
    },
    async close() {
      for (const stop of countdowns) stop()
      countdowns.clear()
      await (await loopback?.catch(() => undefined))?.close()
    },
  }
  // A getter: once the command is ending the engine must not start a device flow either (it would print a code
  // and poll for minutes); it then reaches refusal(), which refuses.
  if (mode === 'device') {
    Object.defineProperty(authorizer, 'preferDeviceCode', { get: () => !ending, enumerable: true })
  }
  return authorizer
}
