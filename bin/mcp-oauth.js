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

// `connect` is a bridge a host keeps running for each remote server: a small, steady pipe. V8's defaults suit a
// busy application instead: collection and compilation on helper threads (each thread's malloc arena keeps what
// it used), a young generation that grows to 16 MB semi-spaces, TurboFan's large optimised code, and an old
// generation left to fill with what the small young one promotes. V8 takes the first two only at start, so the
// bin re-executes itself once (same PID, arguments and stdio) with these; none of them changes V8's code
// cache hash, so Node's built-in modules still load from its embedded cache. TurboFan and heap sizing
// (--no-turbofan, --optimize-for-size) would not: `connect` sets those itself once it has answered its host and
// loaded what it needs (src/cli/commands/connect.ts). Measured in bench/proxy: 58-59 MB after the timed run
// against 70-75 MB without, and a start about 20 ms shorter than with all of them given here.
const LEAN_BRIDGE_FLAGS = [
  '--max-semi-space-size=1',
  '--semi-space-growth-factor=1',
  '--single-threaded-gc',
  '--no-concurrent-recompilation',
  '--v8-pool-size=1',
]

function leanBridge(fs) {
  if (process.argv[2] !== 'connect' || typeof process.execve !== 'function') return
  // Node defines execve everywhere but it throws on Windows (and IBM i): start there as is.
  if (process.platform === 'win32' || process.platform === 'os400') return
  // MCP_OAUTH_NO_REEXEC=1: the way out where execve itself fails (a sandbox refusing exec), which aborts Node.
  if (process.env.MCP_OAUTH_NO_REEXEC === '1') return
  // A person who tuned V8 for this process (NODE_OPTIONS, node's own flags) keeps their choice; V8 reads its
  // flags with dashes or underscores alike, and aborts at start on a heap size given with both generation sizes.
  const given = `${process.env.NODE_OPTIONS || ''} ${process.execArgv.join(' ')}`
  const tuned =
    /single.threaded|max.opt|turbofan|semi.space|heap.size|jitless|optimize.for.size|concurrent|v8.pool/
  if (tuned.test(given)) return
  // Under --permission execve throws without --allow-child-process; a failed execve aborts Node, so check first.
  if (process.permission && !process.permission.has('child')) return
  try {
    fs.accessSync(process.execPath, fs.constants.X_OK)
  } catch (_) {
    return
  }
  const args = [process.execPath].concat(LEAN_BRIDGE_FLAGS, process.execArgv, process.argv.slice(1))
  // Tells `connect` that its start-only flags are in place and the rest is its to set.
  const env = Object.assign({}, process.env, { MCP_OAUTH_LEAN_BRIDGE: '1' })
  try {
    process.execve(process.execPath, args, env)
  } catch (_) {
    // A refusal in JavaScript (an unsupported platform, a permission) leaves this process running as is; a
    // failure of the system call itself aborts Node before any catch (hence the checks above, and the variable).
  }
}

function start(fs) {
  const problem = versionProblem(fs)
  if (problem) {
    process.stderr.write(problem)
    process.exit(1)
  }
  leanBridge(fs)
  return builtin('node:module').then((module) => {
    // Cache compiled (and type-stripped) modules between runs: halves start-up, which hosts pay on every launch.
    if (module.enableCompileCache) module.enableCompileCache()
    // The published package runs the bundle (npm run build:cli): start-up reads a few files, not fifty modules;
    // dist/cli/ (the plain build) stays as the fallback for a package built without it.
    const bundle = new URL('../dist/cli-bundle/main.js', import.meta.url)
    const built = new URL('../dist/cli/main.js', import.meta.url)
    const sources = new URL('../src/cli/main.ts', import.meta.url)
    if (fs.existsSync(sources)) return import(sources.href)
    return import(fs.existsSync(bundle) ? bundle.href : built.href)
  })
}

// An ES import of a built-in runs all its lazy getters (node:fs then loads fs/promises and readline, a few ms on
// every start, paid twice when `connect` re-executes); process.getBuiltinModule runs none. Older Nodes, which
// only reach the version check, import.
function builtin(id) {
  if (typeof process.getBuiltinModule === 'function') return Promise.resolve(process.getBuiltinModule(id))
  return import(id).then((m) => m.default)
}

builtin('node:fs')
  .then(start)
  .then((cli) => cli.main(process.argv.slice(2)))
  // Exit explicitly: a finished command must not linger on idle keep-alive sockets or timers.
  .then((code) => process.exit(code))
