// Errors raised by the check runners and the check manager, one class per condition with a stable
// code (documented in docs/errors/checks.md); callers match on `code`, never on the message.

export class CheckNotFoundError extends Error {
  readonly code = 'MESH_ERR_CHECKS_NOT_FOUND'
  readonly checkId: string
  constructor (checkId: string) {
    super(`Unknown check ID "${checkId}". Ensure that the check ID is passed, not the check name.`)
    this.name = 'CheckNotFoundError'
    this.checkId = checkId
  }
}

export class NotTtlCheckError extends Error {
  readonly code = 'MESH_ERR_CHECKS_NOT_TTL'
  readonly checkId: string
  constructor (checkId: string) {
    super(`CheckID "${checkId}" does not have associated TTL`)
    this.name = 'NotTtlCheckError'
    this.checkId = checkId
  }
}

export class InvalidCheckDefinitionError extends Error {
  readonly code = 'MESH_ERR_CHECKS_INVALID_DEFINITION'
  constructor (reason: string) {
    super(`invalid persisted check definition: ${reason}`)
    this.name = 'InvalidCheckDefinitionError'
  }
}

export class CheckTimeoutError extends Error {
  readonly code = 'MESH_ERR_CHECKS_TIMEOUT'
  readonly timeoutMs: number
  constructor (timeoutMs: number) {
    super(`check timed out after ${timeoutMs}ms`)
    this.name = 'CheckTimeoutError'
    this.timeoutMs = timeoutMs
  }
}
