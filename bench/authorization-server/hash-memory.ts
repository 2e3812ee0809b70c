/**
 * `node bench/authorization-server/hash-memory.ts`: what a burst of sign-ins leaves resident. Each case is a fresh
 * process under one allocator setting; it checks 40 passwords as our sign-in does (scrypt, 8 MiB each outside the
 * heap, two at a time, verifyPassword), then prints its resident size before, after (200 ms later) and at the
 * peak, and the CPU per check. The last case is what `mcp-oauth serve` sets for itself (src/cli/malloc-arenas.ts).
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { hashPassword, verifyPassword } from '../../src/authorization-server/users.ts'
import { SERVE_MALLOC_ENV } from '../../src/cli/malloc-arenas.ts'

const CHECKS = 40

function status(field: string): number {
  const text = readFileSync('/proc/self/status', 'utf8')
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) / 1024
}

if (process.argv[2] === 'child') {
  const hash = await hashPassword('correct horse battery')
  const before = status('VmRSS')
  const cpu0 = process.cpuUsage()
  await Promise.all(Array.from({ length: CHECKS }, () => verifyPassword('correct horse battery', hash)))
  const cpu = process.cpuUsage(cpu0)
  await new Promise((resolve) => setTimeout(resolve, 200))
  const ms = (cpu.user + cpu.system) / 1000 / CHECKS
  process.stdout.write(
    `rss before ${before.toFixed(0)} MB, after ${status('VmRSS').toFixed(0)} MB, peak ${status('VmHWM').toFixed(0)} MB, ${ms.toFixed(1)} ms CPU per check\n`,
  )
} else {
  const cases: Record<string, string>[] = [
    {},
    { MALLOC_ARENA_MAX: SERVE_MALLOC_ENV['MALLOC_ARENA_MAX']! },
    { ...SERVE_MALLOC_ENV },
  ]
  for (const settings of cases) {
    const env = { ...process.env }
    for (const name of Object.keys(SERVE_MALLOC_ENV)) delete env[name]
    const label =
      Object.entries(settings)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || 'glibc defaults'
    for (let run = 0; run < 2; run++) {
      const child = spawnSync(process.execPath, [new URL(import.meta.url).pathname, 'child'], {
        env: { ...env, ...settings },
        encoding: 'utf8',
      })
      process.stdout.write(`${label.padEnd(58)} ${child.stdout.trim() || child.stderr.trim()}\n`)
    }
  }
}
