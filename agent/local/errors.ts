// Errors raised while validating registration payloads, one class per condition with a stable code
// (documented in docs/errors/checks.md). Messages follow Consul's wording where it has one, name
// the offending field, and are what the HTTP API answers with a 400.

export class InvalidServiceError extends Error {
  readonly code = 'MESH_ERR_LOCAL_INVALID_SERVICE'
  constructor (message: string) {
    super(message)
    this.name = 'InvalidServiceError'
  }
}

export class InvalidCheckError extends Error {
  readonly code = 'MESH_ERR_LOCAL_INVALID_CHECK'
  constructor (message: string) {
    super(message)
    this.name = 'InvalidCheckError'
  }
}

export class ScriptChecksDisabledError extends Error {
  readonly code = 'MESH_ERR_LOCAL_SCRIPT_CHECKS_DISABLED'
  constructor (checkId: string) {
    super(`Scheduling script check "${checkId}" failed: script checks are disabled on this agent; start it with enable-script-checks to allow them`)
    this.name = 'ScriptChecksDisabledError'
  }
}

/** A standalone check names a ServiceID that is not registered on this agent (Consul answers 404). */
export class UnknownCheckServiceError extends Error {
  readonly code = 'MESH_ERR_LOCAL_UNKNOWN_SERVICE'
  readonly serviceId: string
  constructor (serviceId: string) {
    super(`ServiceID "${serviceId}" does not exist`)
    this.name = 'UnknownCheckServiceError'
    this.serviceId = serviceId
  }
}

export class SidecarPortExhaustedError extends Error {
  readonly code = 'MESH_ERR_LOCAL_SIDECAR_PORT_EXHAUSTED'
  constructor (minPort: number, maxPort: number) {
    super(`no port available for the sidecar proxy in ${minPort}-${maxPort}: every port is used by a local service or bound by another process; give SidecarService.Port`)
    this.name = 'SidecarPortExhaustedError'
  }
}

/**
 * A sidecar's public port cannot be bound on the address it would listen on (another process holds
 * it, or it is privileged). The payload is valid; the host's state conflicts with it, hence 409.
 */
export class SidecarPortInUseError extends Error {
  readonly code = 'MESH_ERR_LOCAL_SIDECAR_PORT_IN_USE'
  readonly host: string
  readonly port: number
  constructor (host: string, port: number, reason: string) {
    super(`sidecar proxy cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port}: ${reason}; free the port, give SidecarService.Port another one, or leave Port out to have a free one assigned`)
    this.name = 'SidecarPortInUseError'
    this.host = host
    this.port = port
  }
}

export type RegistrationError = InvalidServiceError | InvalidCheckError | ScriptChecksDisabledError | UnknownCheckServiceError | SidecarPortExhaustedError

export function isRegistrationError (error: unknown): error is RegistrationError {
  return error instanceof InvalidServiceError || error instanceof InvalidCheckError ||
    error instanceof ScriptChecksDisabledError || error instanceof UnknownCheckServiceError ||
    error instanceof SidecarPortExhaustedError
}
