// Errors of the intentions area, one class per condition with a stable code (documented in
// docs/errors/intentions.md); callers match on `code`, never on the message.

/** An intention (or a permission inside it) breaks a rule; the message names the field. */
export class InvalidIntentionError extends Error {
  readonly code = 'MESH_ERR_INTENTIONS_INVALID'
  constructor (message: string) {
    super(message)
    this.name = 'InvalidIntentionError'
  }
}

/** A regular expression is too long, does not compile, or uses a construct that can backtrack without bound. */
export class UnsafeRegexError extends Error {
  readonly code = 'MESH_ERR_INTENTIONS_UNSAFE_REGEX'
  readonly field: string
  readonly reason: string
  constructor (field: string, reason: string) {
    super(`${field}: ${reason}`)
    this.name = 'UnsafeRegexError'
    this.field = field
    this.reason = reason
  }
}

/** A `service-intentions` config entry is malformed as a whole (Kind, Name, Sources, duplicates). */
export class InvalidConfigEntryError extends Error {
  readonly code = 'MESH_ERR_INTENTIONS_CONFIG_ENTRY'
  constructor (message: string) {
    super(message)
    this.name = 'InvalidConfigEntryError'
  }
}

/** A client certificate URI is not a service SPIFFE ID (`spiffe://<td>/ns/<ns>/dc/<dc>/svc/<name>`). */
export class InvalidSpiffeIdError extends Error {
  readonly code = 'MESH_ERR_INTENTIONS_SPIFFE_ID'
  constructor (message: string) {
    super(message)
    this.name = 'InvalidSpiffeIdError'
  }
}

/** Every code this area can raise; a test checks each is documented and none documented is stale. */
export const INTENTION_ERROR_CODES = [
  'MESH_ERR_INTENTIONS_INVALID',
  'MESH_ERR_INTENTIONS_UNSAFE_REGEX',
  'MESH_ERR_INTENTIONS_CONFIG_ENTRY',
  'MESH_ERR_INTENTIONS_SPIFFE_ID',
] as const
