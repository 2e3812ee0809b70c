#!/usr/bin/env node
// The published package runs the compiled JavaScript in dist/; a clone (no build) runs the TypeScript sources
// through Node's type stripping (Node >= 22.18), which Node does not apply under node_modules.
import { existsSync } from 'node:fs'
import module from 'node:module'

// Cache compiled (and type-stripped) modules between runs: halves start-up, which hosts pay on every launch.
module.enableCompileCache?.()
const built = new URL('../dist/cli/main.js', import.meta.url)
const sources = new URL('../src/cli/main.ts', import.meta.url)
const { main } = await import(existsSync(sources) ? sources.href : built.href)

// Exit explicitly: a finished command must not linger on idle keep-alive sockets or timers.
process.exit(await main(process.argv.slice(2)))
