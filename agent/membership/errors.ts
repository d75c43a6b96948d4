// The error classes of the membership core, one per condition, each with a stable code
// (documented in docs/errors/membership.md); callers match on `code`, never on the message.

export class MembershipError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = 'MembershipError'
    this.code = code
  }
}

/** A configuration field is out of range or inconsistent with another. */
export class MembershipConfigError extends MembershipError {
  constructor (message: string) {
    super('MESH_ERR_MEMBERSHIP_CONFIG', `invalid membership config: ${message}`)
    this.name = 'MembershipConfigError'
  }
}

/** The local member's name, id, address or meta are not valid. */
export class InvalidSelfError extends MembershipError {
  constructor (message: string) {
    super('MESH_ERR_MEMBERSHIP_INVALID_SELF', `invalid local member: ${message}`)
    this.name = 'InvalidSelfError'
  }
}

/** An input other than start() arrived before start(). */
export class NotStartedError extends MembershipError {
  constructor (method: string) {
    super('MESH_ERR_MEMBERSHIP_NOT_STARTED', `membership ${method}() called before start()`)
    this.name = 'NotStartedError'
  }
}

/** A received message is not valid JSON or a field is missing, mistyped or out of bounds. */
export class MessageDecodeError extends MembershipError {
  constructor (message: string) {
    super('MESH_ERR_MEMBERSHIP_DECODE', `bad membership message: ${message}`)
    this.name = 'MessageDecodeError'
  }
}

/** A message (received or about to be sent) exceeds its byte budget. */
export class MessageTooLargeError extends MembershipError {
  readonly sizeBytes: number
  readonly maxBytes: number
  constructor (sizeBytes: number, maxBytes: number) {
    super('MESH_ERR_MEMBERSHIP_TOO_LARGE', `membership message of ${sizeBytes} bytes exceeds ${maxBytes} bytes`)
    this.name = 'MessageTooLargeError'
    this.sizeBytes = sizeBytes
    this.maxBytes = maxBytes
  }
}

/** A received message carries a protocol version this agent does not speak. */
/**
 * A received value as a short, safe description: primitives as JSON (cut at 40 characters),
 * anything else by its kind. Never converts an object (its "toString" may be data, not a function)
 * and never walks one (it may be nested too deep to serialize).
 */
export function describeReceived (value: unknown): string {
  if (value === undefined) return 'none'
  if (value === null || typeof value !== 'object') return (JSON.stringify(value) ?? String(typeof value)).slice(0, 40)
  return Array.isArray(value) ? 'an array' : 'an object'
}

export class UnsupportedVersionError extends MembershipError {
  constructor (version: unknown) {
    super('MESH_ERR_MEMBERSHIP_VERSION', `unsupported membership protocol version ${describeReceived(version)}`)
    this.name = 'UnsupportedVersionError'
  }
}
