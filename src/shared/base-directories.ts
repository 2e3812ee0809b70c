/**
 * Where mcp-oauth keeps per-user files, by the XDG Base Directory rules: a variable set to an empty or relative
 * path counts as unset (a relative one would scatter files into whatever directory a command was started from).
 * @see https://specifications.freedesktop.org/basedir-spec/latest/
 */
import { isAbsolute, join } from 'node:path'

/** Which base directory: `config` (the client's token store) or `data` (`mcp-oauth serve`'s database). @see https://specifications.freedesktop.org/basedir-spec/latest/#variables */
export type BaseDirectoryKind = 'config' | 'data'

const XDG = { config: 'XDG_CONFIG_HOME', data: 'XDG_DATA_HOME' } as const
const FALLBACK = { config: ['.config'], data: ['.local', 'share'] } as const

/**
 * An XDG base directory variable's value when usable: set, non-empty and absolute; otherwise undefined.
 * @see https://specifications.freedesktop.org/basedir-spec/latest/#variables
 */
export function xdgVariable(env: Record<string, string | undefined>, name: string): string | undefined {
  const value = env[name]
  return value && isAbsolute(value) ? value : undefined
}

/**
 * `<base>/mcp-oauth`: `$XDG_CONFIG_HOME` or `$XDG_DATA_HOME` when usable, else `~/.config` or `~/.local/share`;
 * on Windows the configuration goes under `%APPDATA%` when that is set (and non-empty).
 * @see https://specifications.freedesktop.org/basedir-spec/latest/#variables
 */
export function appDirectory(
  kind: BaseDirectoryKind,
  env: Record<string, string | undefined>,
  home: string,
  platform: string = process.platform,
): string {
  const xdg = xdgVariable(env, XDG[kind])
  if (xdg) return join(xdg, 'mcp-oauth')
  if (kind === 'config' && platform === 'win32' && env['APPDATA']) return join(env['APPDATA'], 'mcp-oauth')
  return join(home, ...FALLBACK[kind], 'mcp-oauth')
}
