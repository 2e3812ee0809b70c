/**
 * `mcp-oauth doctor <url>`: walk a server's OAuth chain with the client engine and say which link is broken
 * and how its operator fixes it. `--login` goes on to a real sign-in; `--json` prints the stable report schema.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import type { Authorizer } from '../../client/authorizer.ts'
import type { FetchLike } from '../../client/http.ts'
import { Session } from '../../client/session.ts'
import { redactUrl, redactUrlsIn } from '../../shared/redact.ts'
import { type Report, renderReport } from '../doctor/report.ts'
import { DEFAULT_ORIGIN, runDoctor } from '../doctor/run.ts'
import type { CliIo } from '../main.ts'
import {
  openSession,
  parseCommandArgs,
  parseHeaders,
  SESSION_FLAGS_HELP,
  type SessionFlags,
} from '../options.ts'

/** Usage of `mcp-oauth doctor`. */
export const usage = `Usage: mcp-oauth doctor <url> [options]

Walks the MCP server's OAuth chain (challenge, Protected Resource Metadata, authorization server metadata,
registration, CORS, TLS) with the same client engine every other command uses, and prints one line per check:
✓ pass, ✗ fail (with a fix for the server's operator), ⚠ warning, · note. Changes nothing on the server unless
asked: --register and --login are opt-in.

Doctor options:
  --login                 also sign in for real (browser or device code) and check the token, refresh and step-up;
                          tokens stay in memory (never in your stores) and are revoked at the end
  --call-tool NAME        with --login: call this tool to see its step-up (403) behaviour (repeatable);
                          doctor calls on its own only tools annotated readOnlyHint
  --register              register a test client to see whether DCR accepts a native loopback client, then
                          delete it (RFC 7592); reported when the server offers no way to delete it
  --origin ORIGIN         Origin for the CORS probes (default ${DEFAULT_ORIGIN})
  --json                  print the report as JSON (schema in docs/doctor.md)

Exit status: 0 when no check failed, 1 when one did, 2 on bad usage.

${SESSION_FLAGS_HELP}`

const FLAGS = {
  login: { type: 'boolean' },
  register: { type: 'boolean' },
  origin: { type: 'string' },
  'call-tool': { type: 'string', multiple: true },
} as const

/** Test seams: a browser driver or device-code reader in place of the system browser, and a fetch. */
export interface DoctorHooks {
  authorizer?: Authorizer
  fetch?: FetchLike
}

/** Runs `mcp-oauth doctor` with optional test seams. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export async function runDoctorCommand(args: string[], io: CliIo, hooks: DoctorHooks = {}): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, FLAGS)
  const flags = values as SessionFlags & {
    login?: boolean
    register?: boolean
    origin?: string
    'call-tool'?: string[]
  }
  const progress =
    flags.verbose || flags.login
      ? (line: string) => void io.stderr.write(`doctor: ${redactUrlsIn(line)}\n`)
      : undefined
  let cli: Awaited<ReturnType<typeof openSession>> | undefined
  if (flags.login) {
    // Always a memory store: doctor signs out and revokes at the end, which must never touch the person's session.
    cli = await openSession(positionals[0], { ...flags, store: 'memory' }, io.stderr, {
      ...(hooks.authorizer ? { authorizer: hooks.authorizer } : {}),
      ...(hooks.fetch ? { fetch: hooks.fetch } : {}),
    })
  } else {
    // Validates the URL and applies --ca-file and proxy settings exactly as a session would.
    // A plain-http public URL is a finding for the report (as.https / server.https), not a usage error here.
    cli = await openSession(positionals[0], { ...flags, store: 'memory', 'allow-http': true }, io.stderr)
    await cli.close()
  }
  const base = cli.session.options
  try {
    const report = redactReport(
      await runDoctor(positionals[0]!, {
        headers: parseHeaders(flags.header),
        ...(hooks.fetch ? { fetch: hooks.fetch } : {}),
        allowHttp: flags['allow-http'] ?? false,
        ...(flags.origin ? { origin: flags.origin } : {}),
        register: flags.register ?? false,
        preRegisteredClientId: flags['client-id'],
        clientMetadataUrl: flags['client-metadata-url'],
        authorizationServer: base.authorizationServerMetadata,
        ...(flags.login
          ? {
              login: {
                session: (offlineAccess: boolean) => new Session({ ...base, offlineAccess }),
                callTools: flags['call-tool'] ?? [],
              },
            }
          : {}),
        ...(progress ? { progress } : {}),
      }),
    )
    io.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report))
    return report.ok ? 0 : 1
  } finally {
    if (flags.login) await cli.close()
  }
}

// The URL a person passes may carry a query with a credential; every URL in the report is shown without it.
function redactReport(report: Report): Report {
  return {
    ...report,
    server: redactUrl(report.server),
    checks: report.checks.map((c) => ({
      ...c,
      title: redactUrlsIn(c.title),
      detail: redactUrlsIn(c.detail),
      ...(c.fix ? { fix: redactUrlsIn(c.fix) } : {}),
    })),
  }
}

/** Runs `mcp-oauth doctor`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export async function run(args: string[], io: CliIo): Promise<number> {
  return runDoctorCommand(args, io)
}
