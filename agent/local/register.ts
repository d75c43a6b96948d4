// Applies registrations to the local catalog: the one path the HTTP API and the agent's config
// file both take. A payload is validated whole by agent/local's rules (Consul's, with its
// messages) before anything is written; the catalog then applies its own record rules (lengths,
// counts, characters: what every peer's merge will accept) once, as it writes the service, its
// checks and its sidecar in one batch, so a refusal by either writes nothing. Then the check
// manager reconciles the running checks.

import { normalizeCheckPayload } from './check-payload.ts'
import type { LocalCatalog, LocalCheck } from './local-catalog.ts'
import { normalizeServicePayload } from './service-payload.ts'
import type { NormalizedRegistration } from './service-payload.ts'
import { sidecarOf } from './sidecar-ids.ts'

export interface LocalRegistrationDeps {
  catalog: LocalCatalog
  /** Reconciles running checks with the catalog (CheckManager.sync). */
  checks: { sync (scope?: { services?: Iterable<string>, checks?: Iterable<string> }): void }
  enableScriptChecks: boolean
  nodeName: string
  /** Where this agent's sidecars listen by default (its advertise address). */
  nodeAddress?: string
}

/** An identical re-registration keeps the check's current status instead of resetting it to critical. */
function keepCurrentStatus (catalog: LocalCatalog, check: LocalCheck): LocalCheck {
  const current = catalog.localCheck(check.CheckID)
  if (current === undefined || current.ServiceID !== check.ServiceID) return check
  if (JSON.stringify(current.Definition) !== JSON.stringify(check.Definition)) return check
  return { ...check, Status: current.Status, Output: current.Output }
}

/** Validates and stores a service registration payload; returns what was stored. */
export async function registerServicePayload (
  deps: LocalRegistrationDeps,
  payload: unknown,
  options: { replaceExistingChecks?: boolean } = {}
): Promise<NormalizedRegistration> {
  const { catalog } = deps
  const registration = normalizeServicePayload(payload, {
    enableScriptChecks: deps.enableScriptChecks,
    nodeName: deps.nodeName,
    nodeAddress: deps.nodeAddress,
    localServices: catalog.localServices(),
  })
  const parts = [registration, ...(registration.sidecar === undefined ? [] : [registration.sidecar])]
  for (const part of parts) part.checks = part.checks.map(check => keepCurrentStatus(catalog, check))
  await catalog.registerServices(parts, options)
  deps.checks.sync({
    services: parts.map(part => part.service.ID),
    checks: parts.flatMap(part => part.checks.map(check => check.CheckID)),
  })
  return registration
}

/** Validates and stores a standalone check registration payload. */
export async function registerCheckPayload (deps: LocalRegistrationDeps, payload: unknown): Promise<LocalCheck> {
  const { catalog } = deps
  const check = keepCurrentStatus(catalog, normalizeCheckPayload(payload, {
    enableScriptChecks: deps.enableScriptChecks,
    nodeName: deps.nodeName,
    lookupService: id => catalog.localService(id),
  }))
  await catalog.registerCheck(check)
  deps.checks.sync({ checks: [check.CheckID] })
  return check
}

/** Removes a local service, its checks and the sidecar registered for it; false when unknown. */
export async function deregisterLocalService (deps: LocalRegistrationDeps, serviceId: string): Promise<boolean> {
  const { catalog } = deps
  if (catalog.localService(serviceId) === undefined) return false
  const sidecar = sidecarOf(catalog.localServices(), serviceId)
  await catalog.deregisterService(serviceId)
  if (sidecar !== undefined) await catalog.deregisterService(sidecar.ID)
  deps.checks.sync({ services: sidecar === undefined ? [serviceId] : [serviceId, sidecar.ID] })
  return true
}
