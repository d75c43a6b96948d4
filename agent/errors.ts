// Errors of the agent process itself (start-up and lifecycle); each has a stable code.

export class PortInUseError extends Error {
  readonly code = 'MESH_ERR_AGENT_PORT_IN_USE'
  constructor (what: string, address: string, port: number) {
    super(`${what} port ${port} on ${address} is already in use`)
    this.name = 'PortInUseError'
  }
}

export class JoinError extends Error {
  readonly code = 'MESH_ERR_AGENT_JOIN_FAILED'
  constructor (address: string, reason: string) {
    super(`failed to join ${address}: ${reason}`)
    this.name = 'JoinError'
  }
}

/** A reload's config was valid but some of its changes could not be applied; the rest were. */
export class ReloadIncompleteError extends Error {
  readonly code = 'MESH_ERR_AGENT_RELOAD_INCOMPLETE'
  readonly failures: string[]
  constructor (failures: string[]) {
    super(`reload applied only in part; the failed steps are retried at the next reload: ${failures.join('; ')}`)
    this.name = 'ReloadIncompleteError'
    this.failures = failures
  }
}
