// Every error the CA (ca/) and the agent's connect CA manager (agent/connect/) throw: one class per
// condition, each with a stable `code` callers match on. docs/errors/ca.md documents each code; a
// test keeps the two in step.

export class CaError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = new.target.name
    this.code = code
  }
}

/** Bytes that are not the DER structure expected (truncated, bad lengths, wrong tags). */
export class CaBadDerError extends CaError {
  constructor (detail: string) { super('MESH_ERR_CA_BAD_DER', `malformed DER: ${detail}`) }
}

/** A PEM certificate that cannot be parsed or misses a field the CA needs. */
export class CaBadCertificateError extends CaError {
  constructor (detail: string) { super('MESH_ERR_CA_BAD_CERTIFICATE', `bad certificate: ${detail}`) }
}

/** A certificate signing request rejected by validation (signature, key type, SPIFFE ID). */
export class CaBadCsrError extends CaError {
  constructor (detail: string) { super('MESH_ERR_CA_BAD_CSR', `certificate signing request rejected: ${detail}`) }
}

/** A private key that cannot be used: wrong type or size, unparsable, or not matching its certificate. */
export class CaBadKeyError extends CaError {
  constructor (detail: string) { super('MESH_ERR_CA_BAD_KEY', `bad private key: ${detail}`) }
}

/** A string that is not a SPIFFE ID of the expected shape or trust domain. */
export class CaBadSpiffeIdError extends CaError {
  constructor (detail: string) { super('MESH_ERR_CA_BAD_SPIFFE_ID', `bad SPIFFE ID: ${detail}`) }
}

/** A chain that does not lead to a trusted root (bad signature, expired, not a CA, no path). */
export class CaChainInvalidError extends CaError {
  constructor (detail: string) { super('MESH_ERR_CA_CHAIN_INVALID', `certificate chain does not verify: ${detail}`) }
}

/** A CA configuration that fails validation. */
export class CaBadConfigError extends CaError {
  constructor (detail: string) { super('MESH_ERR_CA_BAD_CONFIG', `invalid CA configuration: ${detail}`) }
}

/** A leaf asked for a service that is not registered on this agent. */
export class CaNotLocalServiceError extends CaError {
  readonly service: string
  constructor (service: string) {
    super('MESH_ERR_CA_NOT_LOCAL_SERVICE', `Permission denied: service "${service}" is not registered on this agent`)
    this.service = service
  }
}

/** The agent has no signing intermediate yet (no root known, or no server reachable). */
export class CaNotReadyError extends CaError {
  constructor (detail: string) { super('MESH_ERR_CA_NOT_READY', `connect CA not ready: ${detail}`) }
}

/** An operation that needs the root private key on an agent that does not hold it. */
export class CaNoRootKeyError extends CaError {
  constructor (detail: string) { super('MESH_ERR_CA_NO_ROOT_KEY', `this agent does not hold the root private key: ${detail}`) }
}

/** Intermediate signing requests arrive faster than the configured rate. */
export class CaRateLimitedError extends CaError {
  constructor (retryAfterMs: number) {
    super('MESH_ERR_CA_RATE_LIMITED', `too many certificate signing requests; retry in ${Math.ceil(retryAfterMs)} ms`)
  }
}

/** A key file in the data dir that is unreadable or readable by others than its owner. */
export class CaKeyFileError extends CaError {
  constructor (detail: string) { super('MESH_ERR_CA_KEY_FILE', `root key file: ${detail}`) }
}
