// Whether a sidecar's public port can be bound on this host right now: a brief listen and close
// on the address the sidecar will listen on. Registration asks before writing anything, so a port
// another process holds is skipped (auto-assigned) or refused (explicit) instead of being stored
// for a listener that can never start.

import { createServer } from 'node:net'

/** Resolves undefined when `host:port` can be bound, else the bind error's code (EADDRINUSE, EACCES…). */
export type PortProbe = (host: string, port: number) => Promise<string | undefined>

export const probeListenPort: PortProbe = async (host, port) => await new Promise((resolve) => {
  const server = createServer()
  server.once('error', (error: NodeJS.ErrnoException) => { resolve(error.code ?? error.message) })
  server.listen({ host, port, exclusive: true }, () => {
    server.close(() => { resolve(undefined) })
  })
})
