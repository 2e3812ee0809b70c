/**
 * The discovery trace: every URL the engine tried and what came of it. `doctor` reads the same trace,
 * so the diagnosis and the engine can never disagree.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery
 */

/** What a step was for. */
export type TraceStepKind =
  | 'mcp-request'
  | 'protected-resource-metadata'
  | 'authorization-server-metadata'
  | 'registration'
  | 'token'
  | 'revocation'
  | 'cache'

/** One request the engine made (or skipped), with its outcome. */
export interface TraceStep {
  kind: TraceStepKind
  url: string
  status?: number
  outcome: 'ok' | 'not-found' | 'http-error' | 'network-error' | 'invalid' | 'rejected' | 'cached' | 'skipped'
  /** Error code (ours) when the outcome is not ok. */
  code?: string
  note?: string
  /** Response headers a diagnosis may need (CORS, caching); never authorization material. */
  headers?: Record<string, string>
  ms?: number
}

/** A record of discovery and registration for one server. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery */
export class DiscoveryTrace {
  readonly steps: TraceStep[] = []
  readonly warnings: string[] = []

  /** Append a step. */
  add(step: TraceStep): TraceStep {
    this.steps.push(step)
    return step
  }

  /** Record a warning (e.g. the 2025-03-26 legacy issuer allowance). */
  warn(message: string): void {
    this.warnings.push(message)
  }

  /** A plain-object copy for JSON output. */
  toJSON(): { steps: TraceStep[]; warnings: string[] } {
    return { steps: [...this.steps], warnings: [...this.warnings] }
  }
}
