#!/usr/bin/env node
// The published package runs the compiled JavaScript in dist/; a clone (no build) runs the TypeScript sources
// through Node's type stripping (Node >= 22.18), which Node does not apply under node_modules.
//
// This file must parse and run on any Node that can load an ES module, however old: no static import (one of
// ours would fail to link before the version check runs), no top-level await, nothing newer than ES2017.
// An old Node then gets one line saying what to install instead of a stack trace from deep inside.

function versionProblem(fs) {
  let wanted = '>=22.18'
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    if (pkg.engines && typeof pkg.engines.node === 'string') wanted = pkg.engines.node
  } catch (_) {}
  const need = /(\d+)\.(\d+)/.exec(wanted)
  const have = /^(\d+)\.(\d+)/.exec(process.versions.node)
  if (!need || !have) return undefined
  const tooOld =
    Number(have[1]) < Number(need[1]) ||
    (Number(have[1]) === Number(need[1]) && Number(have[2]) < Number(need[2]))
  if (!tooOld) return undefined
  const minimum = `${need[1]}.${need[2]}`
  return (
    `mcp-oauth needs Node.js ${wanted} but found Node.js ${process.versions.node} (${process.execPath}); ` +
    `install Node ${minimum} or newer from https://nodejs.org or with your version manager (nvm install ${need[1]})\n`
  )
}

function start(fs) {
  const problem = versionProblem(fs)
  if (problem) {
    process.stderr.write(problem)
    process.exit(1)
  }
  return import('node:module').then((module) => {
    // Cache compiled (and type-stripped) modules between runs: halves start-up, which hosts pay on every launch.
    if (module.default.enableCompileCache) module.default.enableCompileCache()
    // The published package runs the bundle (npm run build:cli): start-up reads a few files, not fifty modules;
    // dist/cli/ (the plain build) stays as the fallback for a package built without it.
    const bundle = new URL('../dist/cli-bundle/main.js', import.meta.url)
    const built = new URL('../dist/cli/main.js', import.meta.url)
    const sources = new URL('../src/cli/main.ts', import.meta.url)
    if (fs.existsSync(sources)) return import(sources.href)
    return import(fs.existsSync(bundle) ? bundle.href : built.href)
  })
}

import('node:fs')
  .then(start)
  .then((cli) => cli.main(process.argv.slice(2)))
  // Exit explicitly: a finished command must not linger on idle keep-alive sockets or timers.
  .then((code) => process.exit(code))
