#!/usr/bin/env node
// Thin shim: the CLI is TypeScript run by Node's type stripping (Node >= 22.18).
import module from 'node:module'

// Cache compiled (and type-stripped) modules between runs: halves start-up, which hosts pay on every launch.
module.enableCompileCache?.()
const { main } = await import('../src/cli/main.ts')

// Exit explicitly: a finished command must not linger on idle keep-alive sockets or timers.
process.exit(await main(process.argv.slice(2)))
