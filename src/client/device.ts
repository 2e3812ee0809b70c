/**
 * The device authorization grant for sign-in without a browser on this machine (SSH, containers).
 * The engine runs the protocol and polling; the authorizer only shows the code.
 * @see https://www.rfc-editor.org/rfc/rfc8628
 */
import * as oauth from 'oauth4webapi'
import { InteractionRequiredError, SPEC } from '../shared/errors.ts'
import type { DeviceCodePrompt } from './authorizer.ts'
import { mapError, requestOptions } from './o4w.ts'
import { clientAuth, type TokenContext, type TokenSet } from './tokens.ts'

/**
 * Request a device code, let `show` present it, then poll until the person approves, denies or it expires.
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.4
 */
export async function deviceFlow(
  ctx: TokenContext,
  p: {
    scope: string | undefined
    resource: string | undefined
    show: (prompt: DeviceCodePrompt) => Promise<void | (() => void)>
  },
): Promise<TokenSet> {
  const as = ctx.metadata as oauth.AuthorizationServer
  const client: oauth.Client = { client_id: ctx.client.client_id }
  const auth = await clientAuth(ctx.client)
  const params = new URLSearchParams(p.resource === undefined ? {} : { resource: p.resource })
  if (p.scope) params.set('scope', p.scope)
  let device: oauth.DeviceAuthorizationResponse
  try {
    const res = await oauth.deviceAuthorizationRequest(
      as,
      client,
      auth,
      params,
      requestOptions(ctx.metadata.device_authorization_endpoint, ctx.policy, ctx.signal),
    )
    device = await oauth.processDeviceAuthorizationResponse(as, client, res)
  } catch (e) {
    throw mapError(e, 'device authorization', SPEC.rfc8628)
  }
  const stop = await p.show({
    user_code: device.user_code,
    verification_uri: device.verification_uri,
    ...(device.verification_uri_complete
      ? { verification_uri_complete: device.verification_uri_complete }
      : {}),
    expires_in: device.expires_in,
  })
  try {
    return await poll(ctx, device, p.resource, p.scope, as, client, auth)
  } finally {
    if (typeof stop === 'function') stop()
  }
}

async function poll(
  ctx: TokenContext,
  device: oauth.DeviceAuthorizationResponse,
  resource: string | undefined,
  scope: string | undefined,
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  auth: oauth.ClientAuth,
): Promise<TokenSet> {
  const p = { resource, scope }
  // The server's numbers are bounded: a poll every 1–60 s, for at most 30 minutes.
  let interval = Math.min(Math.max(device.interval ?? 5, 1), 60) * 1000
  const deadline = Date.now() + Math.min(Math.max(device.expires_in, 1), 1800) * 1000
  while (Date.now() < deadline) {
    await sleep(interval, ctx.signal)
    try {
      const res = await oauth.deviceCodeGrantRequest(as, client, auth, device.device_code, {
        ...requestOptions(ctx.metadata.token_endpoint, ctx.policy, ctx.signal),
        additionalParameters: p.resource === undefined ? {} : { resource: p.resource },
      })
      const r = await oauth.processDeviceCodeResponse(as, client, res)
      const now = Date.now()
      return {
        access_token: r.access_token,
        token_type: r.token_type,
        issued_at: now,
        ...(typeof r.expires_in === 'number' ? { expires_at: now + r.expires_in * 1000 } : {}),
        ...(r.refresh_token ? { refresh_token: r.refresh_token } : {}),
        ...((r.scope ?? p.scope) ? { scope: (r.scope ?? p.scope)! } : {}),
      }
    } catch (e) {
      if (e instanceof oauth.ResponseBodyError && e.error === 'authorization_pending') continue
      if (e instanceof oauth.ResponseBodyError && e.error === 'slow_down') {
        interval = Math.min(interval + 5000, 60_000)
        continue
      }
      throw mapError(e, 'device code grant', SPEC.rfc8628)
    }
  }
  throw new InteractionRequiredError(
    'device_code_expired',
    'the device code expired before it was approved',
    {
      spec: SPEC.rfc8628,
      hint: 'Run the command again and approve the code within the time shown.',
    },
  )
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t)
        reject(signal.reason)
      },
      { once: true },
    )
  })
}
