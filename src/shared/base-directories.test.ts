import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { appDirectory, xdgVariable } from './base-directories.ts'

const home = join('/', 'home', 'someone')

describe('appDirectory (XDG Base Directory rules)', () => {
  it('uses XDG_DATA_HOME / XDG_CONFIG_HOME when set to an absolute path', () => {
    const env = { XDG_DATA_HOME: join('/', 'x', 'data'), XDG_CONFIG_HOME: join('/', 'x', 'config') }
    assert.equal(appDirectory('data', env, home, 'linux'), join('/', 'x', 'data', 'mcp-oauth'))
    assert.equal(appDirectory('config', env, home, 'linux'), join('/', 'x', 'config', 'mcp-oauth'))
  })

  it('treats a variable set but empty, or relative, as unset', () => {
    for (const value of ['', 'mcp', './here']) {
      const env = { XDG_DATA_HOME: value, XDG_CONFIG_HOME: value }
      assert.equal(xdgVariable(env, 'XDG_DATA_HOME'), undefined)
      assert.equal(appDirectory('data', env, home, 'linux'), join(home, '.local', 'share', 'mcp-oauth'))
      assert.equal(appDirectory('config', env, home, 'linux'), join(home, '.config', 'mcp-oauth'))
    }
  })

  it('puts configuration under a non-empty APPDATA on Windows only', () => {
    const appData = join('/', 'AppData', 'Roaming')
    assert.equal(appDirectory('config', { APPDATA: appData }, home, 'win32'), join(appData, 'mcp-oauth'))
    assert.equal(appDirectory('config', { APPDATA: '' }, home, 'win32'), join(home, '.config', 'mcp-oauth'))
    assert.equal(
      appDirectory('config', { APPDATA: appData }, home, 'linux'),
      join(home, '.config', 'mcp-oauth'),
    )
    assert.equal(
      appDirectory('data', { APPDATA: appData }, home, 'win32'),
      join(home, '.local', 'share', 'mcp-oauth'),
    )
  })
})
