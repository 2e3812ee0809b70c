/**
 * How a person is asked to sign in: loopback callback server, browser, device-code prompt, paste prompt, chooser.
 * @see https://www.rfc-editor.org/rfc/rfc8252
 */
export { hasDisplay, openBrowser } from './browser.ts'
export { type CallbackExpectation, type CallbackVerdict, validateCallback } from './callback.ts'
export {
  type ChooseAuthorizerOptions,
  type ChosenAuthorizer,
  chooseAuthorizer,
  type InteractionMode,
  pickMode,
  type SignInCommand,
} from './choose.ts'
export { formatRemaining, presentDeviceCode } from './device-code.ts'
export { type LoopbackAuthorizer, type LoopbackOptions, loopbackAuthorizer } from './loopback.ts'
export { claimPrompt, isTransientError, type PromptPermit, releasePrompt } from './rate-limit.ts'
