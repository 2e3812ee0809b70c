import assert from 'node:assert/strict'
import { test } from 'node:test'
import { importedNames } from './build-cli.ts'

const names = (source: string, specifier = 'node:fs') => [...importedNames(source, specifier)].sort()

test('the names a file imports from a built-in, as the bundle maps them onto process.getBuiltinModule', () => {
  assert.deepEqual(names("import { readFileSync, promises as fsp } from 'node:fs'"), [
    'promises',
    'readFileSync',
  ])
  assert.deepEqual(names("import fs, { statSync } from 'node:fs'"), ['statSync'])
  assert.deepEqual(names('import {\n  type Stats,\n  openSync,\n  default as fs,\n} from "node:fs"'), [
    'openSync',
  ])
  assert.deepEqual(names("import type { Stats } from 'node:fs'"), [])
  // Another module's import just before does not run into this one.
  assert.deepEqual(
    names("import { join } from 'node:path'\nimport { existsSync } from 'node:fs'", 'node:fs'),
    ['existsSync'],
  )
  assert.deepEqual(names("import { setTimeout } from 'node:timers/promises'", 'node:timers/promises'), [
    'setTimeout',
  ])
  assert.deepEqual(names("import { setTimeout } from 'node:timers/promises'", 'node:timers'), [])
})

test('what cannot be mapped name for name fails the build', () => {
  assert.throws(() => names("import * as fs from 'node:fs'"), /import \* from 'node:fs' is not supported/)
  assert.throws(() => names("export { hostname } from 'node:os'", 'node:os'), /re-exporting from 'node:os'/)
  assert.throws(() => names("export * from 'node:path'", 'node:path'), /re-exporting from 'node:path'/)
})
