/**
 * The slice of oidc-provider 9's API this package uses (the library ships no type declarations).
 * @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  type Json = Record<string, unknown>

  export interface InteractionDetails {
    uid: string
    prompt: { name: string; reasons: string[]; details: Record<string, unknown> }
    params: Record<string, unknown>
    session?: { accountId?: string }
    grantId?: string
    lastSubmission?: Json
  }

  export interface GrantInstance {
    addOIDCScope(scope: string): void
    addOIDCClaims(claims: string[]): void
    addResourceScope(resource: string, scope: string): void
    save(): Promise<string>
  }

  export interface ClientInstance {
    clientId: string
    clientName?: string
    redirectUris: string[]
    scope?: string
    clientIdMetadataDocument?: boolean
    [key: string]: unknown
  }

  // biome-ignore lint/complexity/noStaticOnlyClass: declares oidc-provider's existing export
  export class errors {
    static InvalidTarget: new (
      description?: string,
    ) => Error
    static InvalidRequest: new (
      description?: string,
    ) => Error
    static InvalidGrant: new (
      description?: string,
    ) => Error
    static InvalidClient: new (
      description?: string,
    ) => Error
    static AccessDenied: new (
      description?: string,
    ) => Error
    static InvalidClientMetadata: new (
      description?: string,
    ) => Error
    static TemporarilyUnavailable: new (
      description?: string,
    ) => Error
  }

  /** A signing key whose private half oidc-provider never sees (experimental `externalSigningSupport`). */
  export class ExternalSigningKey {
    get kid(): string
    set kid(value: string)
    get alg(): string
    set alg(value: string)
    get kty(): string
    get crv(): string | undefined
    get x(): string | undefined
    get y(): string | undefined
    get n(): string | undefined
    get e(): string | undefined
    keyObject(): import('node:crypto').KeyObject
    sign(data: Uint8Array): Promise<Uint8Array>
  }

  export default class Provider {
    constructor(issuer: string, configuration: Json)
    proxy: boolean
    issuer: string
    callback(): (req: IncomingMessage, res: ServerResponse) => void
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Json,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>
    // biome-ignore lint/suspicious/noExplicitAny: event arguments differ per event; audit.ts narrows them
    on(event: string, listener: (...args: any[]) => void): this
    emit(event: string, ...args: unknown[]): boolean
    /** The context of the request being served (oidc-provider's AsyncLocalStorage), if any. */
    static get ctx(): unknown
    use(
      middleware: (
        ctx: { path: string; method: string; status: number; body: unknown; [key: string]: unknown },
        next: () => Promise<void>,
      ) => Promise<void>,
    ): void
    Grant: {
      new (init: { accountId: string; clientId: string }): GrantInstance
      find(id: string): Promise<GrantInstance | undefined>
    }
    Client: { find(id: string): Promise<ClientInstance | undefined> }
    ReplayDetection: { unique(iss: string, jti: string, exp: number): Promise<boolean> }
    InitialAccessToken: new (
      init?: Json,
    ) => { save(): Promise<string> }
    AccessToken: { find(value: string): Promise<Json | undefined> }
  }
}
