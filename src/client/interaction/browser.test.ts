import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { browserArguments, hasDisplay, openBrowser, parseBrowserCommands } from './browser.ts'

describe('parseBrowserCommands: $BROWSER as commands and words, never a shell', () => {
  it('splits commands on the PATH delimiter and words on blanks', () => {
    assert.deepEqual(parseBrowserCommands('firefox', ':'), [['firefox']])
    assert.deepEqual(parseBrowserCommands(' firefox  --new-window ', ':'), [['firefox', '--new-window']])
    assert.deepEqual(parseBrowserCommands('xdg-open:firefox -P work:w3m', ':'), [
      ['xdg-open'],
      ['firefox', '-P', 'work'],
      ['w3m'],
    ])
    assert.deepEqual(parseBrowserCommands('a;b c', ';'), [['a'], ['b', 'c']])
    assert.deepEqual(parseBrowserCommands('"C:\\Program Files\\B\\b.exe" -x;c:\\e.exe', ';'), [
      ['C:\\Program Files\\B\\b.exe', '-x'],
      ['c:\\e.exe'],
    ])
    assert.deepEqual(parseBrowserCommands('::  :', ':'), [])
    assert.deepEqual(parseBrowserCommands('', ':'), [])
  })

  it('keeps quoted words whole, separators inside quotes included, and expands nothing', () => {
    assert.deepEqual(parseBrowserCommands(`'/opt/My Browser/run' "--profile=a b" --x='y:z' ''`, ':'), [
      ['/opt/My Browser/run', '--profile=a b', '--x=y:z', ''],
    ])
    assert.deepEqual(parseBrowserCommands('run \\"a\\ b "c\\"d\\$e" $HOME `id` $(id)', ':'), [
      ['run', '"a b', 'c"d$e', '$HOME', '`id`', '$(id)'],
    ])
  })

  it('puts the URL where %s is, else last', () => {
    const url = new URL('https://as.example/authorize?state=s&x=1')
    assert.deepEqual(browserArguments(['b', '--new-window'], url), ['b', '--new-window', url.href])
    assert.deepEqual(browserArguments(['b', '--app=%s', '--x'], url), ['b', `--app=${url.href}`, '--x'])
    assert.deepEqual(browserArguments(['b'], url), ['b', url.href])
  })
})

describe('openBrowser with $BROWSER: real processes', () => {
  let dir: string
  let recorder: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-browser-'))
    recorder = join(dir, 'record.mjs')
    writeFileSync(
      recorder,
      "import { writeFileSync } from 'node:fs'\nwriteFileSync(process.argv[2], JSON.stringify(process.argv.slice(3)))\n",
    )
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  const recorded = async (file: string): Promise<string[]> => {
    for (let i = 0; i < 400 && !existsSync(file); i++) await delay(25)
    return JSON.parse(readFileSync(file, 'utf8')) as string[]
  }
  const quote = (s: string) => `'${s}'`
  // Shell metacharacters in the URL: a shell would run `touch`; without one they are just bytes of the argument.
  const url = () =>
    new URL(`https://as.example/authorize?state=a b&x=$(touch\${IFS}${join(dir, 'pwned')});y=\`id\`&z=|`)

  it('runs the command with the URL as one argument, appended or in place of %s', async () => {
    const appended = join(dir, 'appended.json')
    await openBrowser(url(), {
      BROWSER: `${quote(process.execPath)} ${quote(recorder)} ${quote(appended)} --new-window`,
    })
    assert.deepEqual(await recorded(appended), ['--new-window', url().href])
    const placed = join(dir, 'placed.json')
    await openBrowser(url(), {
      BROWSER: `${quote(process.execPath)} ${quote(recorder)} ${quote(placed)} --url=%s "two words"`,
    })
    assert.deepEqual(await recorded(placed), [`--url=${url().href}`, 'two words'])
    assert.equal(existsSync(join(dir, 'pwned')), false, 'the URL never reached a shell')
  })

  it('tries the commands in order: a missing one and a failing one are skipped', async () => {
    const third = join(dir, 'third.json')
    const list = [
      quote(join(dir, 'no-such-browser')),
      'false',
      `${quote(process.execPath)} ${quote(recorder)} ${quote(third)}`,
    ].join(delimiter)
    await openBrowser(url(), { BROWSER: list })
    assert.deepEqual(await recorded(third), [url().href])
  })

  it('rejects naming the commands, never the URL, when none can open it', async () => {
    const list = [quote(join(dir, 'no-such-browser')), 'false'].join(delimiter)
    await assert.rejects(openBrowser(url(), { BROWSER: list }), (error: Error) => {
      assert.match(
        error.message,
        /^BROWSER could not open the page \(.*no-such-browser: ENOENT; false exited/,
      )
      assert.doesNotMatch(error.message, /as\.example|state=/)
      return true
    })
  })
})

describe('hasDisplay', () => {
  it('needs DISPLAY or WAYLAND_DISPLAY on Linux, never on macOS and Windows', () => {
    assert.equal(hasDisplay({}, 'linux'), false)
    assert.equal(hasDisplay({ DISPLAY: '' }, 'linux'), false)
    assert.equal(hasDisplay({ DISPLAY: ':0' }, 'linux'), true)
    assert.equal(hasDisplay({ WAYLAND_DISPLAY: 'wayland-0' }, 'freebsd'), true)
    assert.equal(hasDisplay({}, 'darwin'), true)
    assert.equal(hasDisplay({}, 'win32'), true)
  })
})
