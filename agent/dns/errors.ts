// The DNS server's errors: one class per condition, each with a stable `code` that callers and logs
// match on. Every code is documented in docs/errors/dns.md (a test keeps the two in step).

export class DnsError extends Error {
  readonly code: string
  constructor (code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}

/** A packet whose header could be read but whose question or records could not: answered FORMERR. */
export class MalformedQueryError extends DnsError {
  constructor (reason: string) {
    super('MESH_ERR_DNS_MALFORMED_QUERY', `malformed DNS query: ${reason}`)
    this.name = 'MalformedQueryError'
  }
}

/** A DnsServer option that cannot work (bad recursor address, port, TTL...). */
export class InvalidDnsConfigError extends DnsError {
  constructor (message: string) {
    super('MESH_ERR_DNS_INVALID_CONFIG', message)
    this.name = 'InvalidDnsConfigError'
  }
}

/** UDP and TCP could not both be bound on one port. */
export class DnsBindError extends DnsError {
  /** The system error code behind it ('EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES'...), if any. */
  readonly systemCode: string | undefined
  constructor (message: string, options?: ErrorOptions) {
    super('MESH_ERR_DNS_BIND_FAILED', message, options)
    this.name = 'DnsBindError'
    this.systemCode = (options?.cause as NodeJS.ErrnoException | undefined)?.code
  }
}

/** A recursor did not answer within `recursorTimeoutMs`; the next one is tried. */
export class RecursorTimeoutError extends DnsError {
  constructor (recursor: string, timeoutMs: number) {
    super('MESH_ERR_DNS_RECURSOR_TIMEOUT', `recursor ${recursor} did not answer within ${timeoutMs} ms`)
    this.name = 'RecursorTimeoutError'
  }
}

/** A recursor could not be reached or sent something that is not an answer to our query. */
export class RecursorFailedError extends DnsError {
  constructor (recursor: string, reason: string, options?: ErrorOptions) {
    super('MESH_ERR_DNS_RECURSOR_FAILED', `recursor ${recursor} failed: ${reason}`, options)
    this.name = 'RecursorFailedError'
  }
}

/** Every recursor failed or timed out, or too many forwards were in flight: answered SERVFAIL. */
export class RecursorsExhaustedError extends DnsError {
  constructor (message: string, options?: ErrorOptions) {
    super('MESH_ERR_DNS_RECURSORS_EXHAUSTED', message, options)
    this.name = 'RecursorsExhaustedError'
  }
}

/** Every code above, for the documentation test. */
export const DNS_ERROR_CODES = [
  'MESH_ERR_DNS_MALFORMED_QUERY',
  'MESH_ERR_DNS_INVALID_CONFIG',
  'MESH_ERR_DNS_BIND_FAILED',
  'MESH_ERR_DNS_RECURSOR_TIMEOUT',
  'MESH_ERR_DNS_RECURSOR_FAILED',
  'MESH_ERR_DNS_RECURSORS_EXHAUSTED'
] as const
