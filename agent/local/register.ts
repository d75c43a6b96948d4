// Applies registrations to the local catalog: the one path the HTTP API and the agent's config
// file both take. A payload is validated whole by agent/local's rules (Consul's, with its
// messages) before anything is written; the catalog then applies its own record rules (lengths,
// counts, characters: what every peer's merge will accept) once, as it writes the service, its
// checks and its sidecar in one batch, so a refusal by either writes nothing. Then the check
// manager reconciles the running checks.
//
// A sidecar's public port is bound-tested before that write (a brief listen on the address the
// sidecar will use): an assigned port taken by another process is skipped for the next one in the
// range, an explicit one is refused with SidecarPortInUseError, so nothing is stored for a
// listener that cannot start. Service registrations are serialised per catalog so two sidecars
// probed at once cannot both be given the same free port: the next one waits until the previous
// write is applied (the catalog shows it), not until it is durable, so concurrent registrations
// still share the catalog's synced writes (group commit). Each answers once its own is durable.

import { normalizeCheckPayload } from './check-payload.ts'
import { SidecarPortInUseError } from './errors.ts'
import type { LocalCatalog, LocalCheck } from './local-catalog.ts'
import { normalizeServicePayload } from './service-payload.ts'
import type { NormalizedRegistration } from './service-payload.ts'
import type { PortProbe } from './port-probe.ts'
import { sidecarListenHost } from './sidecar.ts'
import type { BuiltSidecar } from './sidecar.ts'
import { sidecarOf } from './sidecar-ids.ts'

export interface LocalRegistrationDeps {
  catalog: LocalCatalog
  /** Reconciles running checks with the catalog (CheckManager.sync). */
  checks: { sync (scope?: { services?: Iterable<string>, checks?: Iterable<string> }): void }
  enableScriptChecks: boolean
  nodeName: string
  /** Where this agent's sidecars listen by default (its advertise address). */
  nodeAddress?: string
  /** Tests whether a sidecar port can be bound (probeListenPort; tests inject their own). */
  probePort: PortProbe
}

/** The registration in progress per catalog: the next one waits for it (see the file comment). */
const registering = new WeakMap<LocalCatalog, Promise<unknown>>()

/**
 * Why the sidecar could not listen where it is registered, or undefined when it can. A sidecar
 * already stored at the same address and port is not probed: its own listener holds the port.
 */
async function sidecarBindProblem (deps: LocalRegistrationDeps, sidecar: BuiltSidecar): Promise<string | undefined> {
  const host = sidecarListenHost(sidecar.service, deps.nodeAddress)
  const existing = deps.catalog.localService(sidecar.service.ID)
  if (existing !== undefined && existing.Port === sidecar.service.Port && sidecarListenHost(existing, deps.nodeAddress) === host) return undefined
  return await deps.probePort(host, sidecar.service.Port)
}

/** Normalises the payload, moving an assigned sidecar port past ports other processes hold. */
async function normalizeWithFreeSidecarPort (deps: LocalRegistrationDeps, payload: unknown): Promise<NormalizedRegistration> {
  const unavailablePorts = new Set<number>()
  for (;;) {
    const registration = normalizeServicePayload(payload, {
      enableScriptChecks: deps.enableScriptChecks,
      nodeName: deps.nodeName,
      nodeAddress: deps.nodeAddress,
      localServices: deps.catalog.localServices(),
      unavailablePorts,
    })
    const sidecar = registration.sidecar
    if (sidecar === undefined) return registration
    const problem = await sidecarBindProblem(deps, sidecar)
    if (problem === undefined) return registration
    if (!sidecar.portAssigned) throw new SidecarPortInUseError(sidecarListenHost(sidecar.service, deps.nodeAddress), sidecar.service.Port, problem)
    // Each round rules one more port out, so this ends: at a free port or the range's exhaustion error.
    unavailablePorts.add(sidecar.service.Port)
  }
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
  const previous = registering.get(catalog) ?? Promise.resolve()
  const applied = previous.catch(() => {}).then(async () => {
    const registration = await normalizeWithFreeSidecarPort(deps, payload)
    const parts = [registration, ...(registration.sidecar === undefined ? [] : [registration.sidecar])]
    for (const part of parts) part.checks = part.checks.map(check => keepCurrentStatus(catalog, check))
    let onApplied!: () => void
    const inMemory = new Promise<void>(resolve => { onApplied = resolve })
    const durable = catalog.registerServices(parts, { ...options, onApplied })
    durable.catch(() => {}) // awaited below; this only keeps an early failure from going unhandled
    await Promise.race([inMemory, durable])
    return { registration, parts, durable }
  })
  registering.set(catalog, applied)
  const { registration, parts, durable } = await applied
  await durable
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

/** Removes a local check; false when unknown. */
export async function deregisterLocalCheck (deps: LocalRegistrationDeps, checkId: string): Promise<boolean> {
  const { catalog } = deps
  if (catalog.localCheck(checkId) === undefined) return false
  await catalog.deregisterCheck(checkId)
  deps.checks.sync({ checks: [checkId] })
  return true
}
