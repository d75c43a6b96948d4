// The catalog's typed errors: one class per condition, each with a stable `code` that callers
// (the agent, the HTTP layer) match on. Every code is documented in docs/errors/catalog.md.

export class CatalogError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = 'CatalogError'
    this.code = code
  }
}

/** An entry (from the network or a local write) failed validation; nothing of it was stored. */
export class InvalidEntryError extends CatalogError {
  constructor (reason: string) {
    super('MESH_ERR_CATALOG_INVALID_ENTRY', `invalid catalog entry: ${reason}`)
    this.name = 'InvalidEntryError'
  }
}

/** A digest received for anti-entropy is malformed or too large. */
export class InvalidDigestError extends CatalogError {
  constructor (reason: string) {
    super('MESH_ERR_CATALOG_INVALID_DIGEST', `invalid catalog digest: ${reason}`)
    this.name = 'InvalidDigestError'
  }
}

/** A node (or the cluster-wide entries) would exceed its entry limit; the entry was skipped. */
export class CapacityError extends CatalogError {
  constructor (what: string, limit: number) {
    super('MESH_ERR_CATALOG_CAPACITY', `${what} already holds the maximum of ${limit} entries`)
    this.name = 'CapacityError'
  }
}

export class ServiceNotFoundError extends CatalogError {
  constructor (serviceId: string) {
    super('MESH_ERR_CATALOG_SERVICE_NOT_FOUND', `Unknown service ID "${serviceId}"`)
    this.name = 'ServiceNotFoundError'
  }
}

export class CheckNotFoundError extends CatalogError {
  constructor (checkId: string) {
    super('MESH_ERR_CATALOG_CHECK_NOT_FOUND', `Unknown check ID "${checkId}"`)
    this.name = 'CheckNotFoundError'
  }
}

/** The catalog was used after close(). */
export class CatalogClosedError extends CatalogError {
  constructor () {
    super('MESH_ERR_CATALOG_CLOSED', 'catalog is closed')
    this.name = 'CatalogClosedError'
  }
}

/**
 * The LevelDB store cannot be trusted: it does not open, a record does not read back, or it holds
 * fewer changes than were acknowledged (a cut or lost write-ahead log). Nothing was loaded.
 * `file` names the file at fault when it is known.
 */
export class StoreDamagedError extends CatalogError {
  readonly path: string
  readonly file: string | undefined
  readonly reason: string
  constructor (path: string, reason: string, file?: string) {
    super('MESH_ERR_CATALOG_STORE_DAMAGED', `catalog store ${path} is damaged: ${file === undefined ? '' : `${file}: `}${reason}`)
    this.name = 'StoreDamagedError'
    this.path = path
    this.file = file
    this.reason = reason
  }
}

/**
 * A batch could not be made durable (disk full, I/O error). The catalog may already show changes
 * that are not on disk, so it refuses every later write until the agent restarts and reloads
 * what the disk holds; none of the refused writes was acknowledged.
 */
export class StoreFailedError extends CatalogError {
  constructor (reason: string) {
    super('MESH_ERR_CATALOG_STORE_FAILED', `catalog store write failed: ${reason}; no further writes are accepted until the agent restarts`)
    this.name = 'StoreFailedError'
  }
}

/** A `filter=` expression does not parse; `position` is the 0-based character offset. */
export class FilterError extends CatalogError {
  readonly position: number
  constructor (message: string, position: number) {
    super('MESH_ERR_CATALOG_FILTER', `Failed to create boolean expression evaluator: ${message} at position ${position}`)
    this.name = 'FilterError'
    this.position = position
  }
}

/** Codes the HTTP routes of this area answer with (HttpError codes), documented beside the others. */
export const NO_PATH_TO_DATACENTER_CODE = 'MESH_ERR_CATALOG_NO_PATH_TO_DC'
