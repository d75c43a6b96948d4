// The slice of the catalog that local registration, the check manager and the agent's service
// routes write through. The real Catalog (catalog/catalog.ts) implements it (tests open it on the
// in-memory store), so this folder does not depend on the catalog's internals.

import type { CheckRecord, HealthStatus, ServiceRecord } from '../../api/catalog-types.ts'

/** A check as stored locally: its record plus the definition the agent re-runs after a restart. */
export interface LocalCheck extends CheckRecord {
  Definition?: Record<string, unknown>
}

export interface LocalCatalog {
  registerService (service: ServiceRecord, checks: LocalCheck[], options?: { replaceExistingChecks?: boolean }): Promise<unknown>
  /**
   * Several services (a service and its sidecar) with their checks, all or nothing. Resolves once
   * durable; `onApplied` is called as soon as the write is applied in memory (reads show it), before then.
   */
  registerServices (registrations: Array<{ service: ServiceRecord, checks: LocalCheck[] }>, options?: { replaceExistingChecks?: boolean, onApplied?: () => void }): Promise<unknown>
  /** Removes the service and its checks. */
  deregisterService (serviceId: string): Promise<unknown>
  registerCheck (check: LocalCheck): Promise<unknown>
  deregisterCheck (checkId: string): Promise<unknown>
  updateCheck (checkId: string, status: HealthStatus, output: string, notes?: string): Promise<unknown>
  localServices (): ServiceRecord[]
  localService (id: string): ServiceRecord | undefined
  localChecks (): LocalCheck[]
  localCheck (id: string): LocalCheck | undefined
  readonly index: number
  waitForIndex (minIndex: number, options: { timeoutMs: number, signal?: AbortSignal }): Promise<number>
}
