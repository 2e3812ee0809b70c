/**
 * The remote hand-off: on a machine reached over SSH (a VM, a dev container, a server) the browser is on the
 * person's own computer, so the loopback redirect must travel back through an SSH port forward. This builds the
 * exact `ssh -L` line for the callback port, from what the SSH server told the shell about the connection.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */

/** Where this shell's SSH connection came in: the address and port of this machine as the client reached it. */
export interface SshConnection {
  /** This machine's address on that connection (the 3rd field of SSH_CONNECTION). */
  host: string
  /** The SSH server's port (the 4th field), 22 unless changed. */
  port: number
  /** The login name, when the environment says it. */
  user?: string
}

/**
 * The SSH connection this process runs under, read from `SSH_CONNECTION` (`client_ip client_port server_ip
 * server_port`, set by OpenSSH's sshd) or, failing that, `SSH_CLIENT`/`SSH_TTY` (no server address then).
 * @see https://man.openbsd.org/ssh.1#ENVIRONMENT
 */
export function detectSsh(env: Record<string, string | undefined> = process.env): SshConnection | undefined {
  const user = env['USER'] || env['LOGNAME'] || undefined
  const fields = env['SSH_CONNECTION']?.trim().split(/\s+/)
  if (fields && fields.length === 4) {
    const port = Number(fields[3])
    const host = fields[2]!
    if (/^[0-9a-fA-F.:]+$/.test(host) && Number.isInteger(port) && port > 0 && port < 65536)
      return { host, port, ...(user ? { user } : {}) }
  }
  if (env['SSH_CLIENT'] || env['SSH_TTY']) return { host: '', port: 22, ...(user ? { user } : {}) }
  return undefined
}

/**
 * The command the person runs on their own computer so that `http://<callbackHost>:<callbackPort>/…` there
 * reaches this machine's loopback listener: a local forward of the same port to the same loopback address.
 * @see https://man.openbsd.org/ssh.1#L
 */
export function sshForwardCommand(callbackPort: number, callbackHost: string, ssh: SshConnection): string {
  const target =
    callbackHost === 'localhost'
      ? 'localhost'
      : callbackHost.includes(':')
        ? `[${callbackHost}]`
        : callbackHost
  const host = ssh.host ? (ssh.host.includes(':') ? `[${ssh.host}]` : ssh.host) : 'THIS-HOST'
  const destination = `${ssh.user ? `${ssh.user}@` : ''}${host}`
  const port = ssh.port !== 22 ? ` -p ${ssh.port}` : ''
  return `ssh -L ${callbackPort}:${target}:${callbackPort}${port} -N ${destination}`
}

/**
 * The lines printed after the sign-in URL: the forward to run first, then where to open the URL, then `fallback`
 * (what to do when no forward is possible: paste here, or sign in from a terminal).
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
export function handoffInstructions(redirectUri: string, ssh: SshConnection, fallback: string): string {
  const callback = new URL(redirectUri)
  const port = Number(callback.port || 80)
  const command = sshForwardCommand(port, callback.hostname.replace(/^\[|\]$/g, ''), ssh)
  const host = ssh.host ? '' : ' (THIS-HOST: the name you use to ssh here)'
  return [
    'This machine has no browser (SSH session). On your own computer, first forward the sign-in callback port:',
    `  ${command}`,
    `then open the URL above in your browser there${host}; the sign-in finishes here by itself.`,
    `No forward possible? ${fallback}`,
  ].join('\n')
}
