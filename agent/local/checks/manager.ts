// The check manager owns this agent's running checks. The local catalog is the desired state:
// `sync()` reconciles the running checks with the checks stored there (start new ones, stop
// removed ones, replace those whose definition changed), so registration changes and the restart
// from persisted definitions take the same path. It is also the notifier every check reports to:
// it drops repeated results, serialises writes to the catalog in report order, tracks since when
// each check is critical and, on a timer, deregisters services whose check stayed critical longer
// than DeregisterCriticalServiceAfter. All time goes through the injected clock.
//
// A sidecar whose listener cannot bind is reported here too (setListenerFault): its service's
// checks, except alias checks (those mirror the app, not the listener), turn critical with the
// reason, and their own results are set aside until the fault clears; a TCP check would otherwise
// pass against whichever process holds the port. Once cleared, the next result is written as
// usual, through the same report path and thresholds.

import pino from 'pino'
import type { Logger } from 'pino'
import { sidecarOf } from '../sidecar-ids.ts'
import type { LocalCatalog, LocalCheck } from '../local-catalog.ts'
import { createCheck } from './create-check.ts'
import { DEFAULT_DEREGISTER_CRITICAL_MIN_MS, DEFAULT_REAP_INTERVAL_MS, servicesToReap } from './critical-reaper.ts'
import { parseCheckSpec } from './definition.ts'
import type { CheckSpec } from './definition.ts'
import { CheckNotFoundError, NotTtlCheckError } from './errors.ts'
import { systemClock } from '../../../api/clock.ts'
import type { Clock, TimerHandle } from '../../../api/clock.ts'
import { TtlCheck } from './ttl-check.ts'
import type { CheckNotifier, CheckStatus, RunningCheck } from './types.ts'
import type { Startable } from '../../lifecycle.ts'

export interface CheckManagerInit {
  log?: Logger
  /** Run script checks; off by default because they execute arbitrary commands. */
  enableScriptChecks?: boolean
  nodeName?: string
  /** How often the critical-service reaper runs (Consul's 30 s). */
  reapIntervalMs?: number
  /** Smallest DeregisterCriticalServiceAfter honoured; smaller values are raised to it. */
  deregisterCriticalMinMs?: number
}

export interface CheckManagerComponents {
  catalog: LocalCatalog
  clock?: Clock
  random?: () => number
}

export const SCRIPT_CHECKS_DISABLED_OUTPUT = 'Script checks are disabled on this agent; start it with enable-script-checks to run them'

interface Entry {
  check: RunningCheck
  spec: CheckSpec
  /** Definition and owning service, serialised: a change means the check must be replaced. */
  key: string
}

export class CheckManager implements CheckNotifier, Startable {
  readonly enableScriptChecks: boolean
  private readonly catalog: LocalCatalog
  private readonly clock: Clock
  private readonly random: () => number
  private readonly log: Logger
  private readonly nodeName: string
  private readonly reapIntervalMs: number
  private readonly deregisterCriticalMinMs: number
  private readonly running = new Map<string, Entry>()
  private readonly lastReported = new Map<string, { status: CheckStatus | 'maintenance', output: string }>()
  private readonly pendingWrites = new Map<string, number>()
  private readonly criticalSinceMs = new Map<string, number>()
  /** Every check the catalog stores locally, by ID, with its service ('' for node checks). */
  private readonly owners = new Map<string, string>()
  private readonly checksOf = new Map<string, Set<string>>()
  /** Services whose sidecar listener cannot bind, with the reason their checks report. */
  private readonly listenerFaults = new Map<string, string>()
  private writeChain: Promise<void> = Promise.resolve()
  private reapTimer: TimerHandle | undefined
  private started = false

  constructor (init: CheckManagerInit, components: CheckManagerComponents) {
    this.catalog = components.catalog
    this.clock = components.clock ?? systemClock
    this.random = components.random ?? Math.random
    this.log = (init.log ?? pino({ level: 'silent' })).child({ component: 'mesh:checks' })
    this.enableScriptChecks = init.enableScriptChecks ?? false
    this.nodeName = init.nodeName ?? 'local'
    this.reapIntervalMs = init.reapIntervalMs ?? DEFAULT_REAP_INTERVAL_MS
    this.deregisterCriticalMinMs = init.deregisterCriticalMinMs ?? DEFAULT_DEREGISTER_CRITICAL_MIN_MS
  }

  /** Starts every check persisted in the local catalog and the reaper. */
  start (): void {
    if (this.started) return
    this.started = true
    this.sync()
    this.scheduleReap()
  }

  stop (): void {
    this.started = false
    this.clock.clearTimer(this.reapTimer)
    this.reapTimer = undefined
    for (const entry of this.running.values()) entry.check.stop()
    this.running.clear()
  }

  /**
   * Reconciles running checks with the catalog's local checks; call after every registration
   * change. With a scope, only the named checks and every check known to belong to the named
   * services are looked at: a registration touches a handful of checks, and reading all of an
   * agent's checks for each one made registering 10,000 services quadratic.
   */
  sync (scope?: { services?: Iterable<string>, checks?: Iterable<string> }): void {
    if (!this.started) return
    if (scope === undefined) {
      const wanted = new Set<string>()
      for (const stored of this.catalog.localChecks()) {
        wanted.add(stored.CheckID)
        this.reconcile(stored.CheckID, stored)
      }
      for (const checkId of [...this.owners.keys()]) if (!wanted.has(checkId)) this.reconcile(checkId, undefined)
      return
    }
    const ids = new Set<string>(scope.checks ?? [])
    for (const serviceId of scope.services ?? []) for (const checkId of this.checksOf.get(serviceId) ?? []) ids.add(checkId)
    for (const checkId of ids) this.reconcile(checkId, this.catalog.localCheck(checkId))
  }

  /** Brings one check in line with what the catalog stores for it (undefined: removed). */
  private reconcile (checkId: string, stored: LocalCheck | undefined): void {
    if (stored === undefined) {
      this.running.get(checkId)?.check.stop()
      this.running.delete(checkId)
      this.lastReported.delete(checkId)
      this.criticalSinceMs.delete(checkId)
      this.setOwner(checkId, undefined)
      return
    }
    this.setOwner(checkId, stored.ServiceID)
    if ((this.pendingWrites.get(checkId) ?? 0) === 0) this.lastReported.set(checkId, { status: stored.Status, output: stored.Output })
    if (stored.Status === 'critical') {
      if (!this.criticalSinceMs.has(checkId)) this.criticalSinceMs.set(checkId, this.clock.nowMs())
    } else {
      this.criticalSinceMs.delete(checkId)
    }
    const existing = this.running.get(checkId)
    if (stored.Definition === undefined) {
      // A check without a definition (registered without one, or from before definitions were
      // kept) is not run here; one that was running under a definition now gone is stopped.
      if (existing !== undefined) {
        existing.check.stop()
        this.running.delete(checkId)
      }
      return
    }
    const key = JSON.stringify([stored.ServiceID, stored.Definition])
    if (existing?.key === key) return
    existing?.check.stop()
    this.running.delete(checkId)
    this.startCheck(checkId, stored.Definition, key)
    const fault = this.listenerFaultOf(checkId)
    if (fault !== undefined) this.report(checkId, 'critical', fault)
  }

  /** Keeps the service → checks index that scoped syncs use. */
  private setOwner (checkId: string, serviceId: string | undefined): void {
    const previous = this.owners.get(checkId)
    if (previous === serviceId) return
    if (previous !== undefined) {
      const checks = this.checksOf.get(previous)!
      checks.delete(checkId)
      if (checks.size === 0) this.checksOf.delete(previous)
      this.owners.delete(checkId)
    }
    if (serviceId === undefined) return
    this.owners.set(checkId, serviceId)
    let checks = this.checksOf.get(serviceId)
    if (checks === undefined) this.checksOf.set(serviceId, checks = new Set())
    checks.add(checkId)
  }

  runningCheckIds (): string[] {
    return [...this.running.keys()]
  }

  isTtl (checkId: string): boolean {
    return this.running.get(checkId)?.check instanceof TtlCheck
  }

  /** A TTL report from the API (pass/warn/fail/update); resolves once the catalog has it. */
  async updateTtl (checkId: string, status: CheckStatus, output: string): Promise<void> {
    if (this.catalog.localCheck(checkId) === undefined) throw new CheckNotFoundError(checkId)
    const check = this.running.get(checkId)?.check
    if (!(check instanceof TtlCheck)) throw new NotTtlCheckError(checkId)
    check.setStatus(status, output)
    await this.flush()
  }

  /** The notifier checks report to. Results of checks no longer running, or held by a listener fault, are dropped. */
  update (checkId: string, status: CheckStatus, output: string): void {
    if (!this.running.has(checkId) || this.listenerFaultOf(checkId) !== undefined) return
    this.report(checkId, status, output)
  }

  /**
   * A sidecar service's listener failed to bind (`reason`, e.g. "listener on 127.0.0.1:21000:
   * EADDRINUSE") or, with undefined, binds again. The sidecar manager calls it.
   */
  setListenerFault (serviceId: string, reason: string | undefined): void {
    if (reason === undefined) {
      this.listenerFaults.delete(serviceId)
      return
    }
    this.listenerFaults.set(serviceId, reason)
    for (const checkId of this.checksOf.get(serviceId) ?? []) {
      if (this.listenerFaultOf(checkId) !== undefined) this.report(checkId, 'critical', reason)
    }
  }

  private listenerFaultOf (checkId: string): string | undefined {
    const serviceId = this.owners.get(checkId)
    const reason = serviceId === undefined ? undefined : this.listenerFaults.get(serviceId)
    if (reason === undefined || this.running.get(checkId)?.spec.Type === 'alias') return undefined
    return reason
  }

  /** Resolves once every status write issued so far has reached the catalog. */
  async flush (): Promise<void> {
    await this.writeChain
  }

  /** One reaper round: deregisters (with their sidecars) services critical for too long. */
  async reap (): Promise<string[]> {
    const candidates = this.catalog.localChecks().map(check => {
      const spec = this.running.get(check.CheckID)?.spec
      return {
        checkId: check.CheckID,
        serviceId: check.ServiceID,
        deregisterCriticalServiceAfterMs: spec?.DeregisterCriticalServiceAfterMs,
        criticalSinceMs: this.criticalSinceMs.get(check.CheckID),
      }
    })
    const serviceIds = servicesToReap(candidates, this.clock.nowMs(), this.deregisterCriticalMinMs)
    for (const serviceId of serviceIds) {
      const sidecar = sidecarOf(this.catalog.localServices(), serviceId)
      this.log.info({ serviceId }, 'deregistering service whose check stayed critical past DeregisterCriticalServiceAfter')
      await this.catalog.deregisterService(serviceId)
      if (sidecar !== undefined) await this.catalog.deregisterService(sidecar.ID)
    }
    if (serviceIds.length > 0) this.sync()
    return serviceIds
  }

  private startCheck (checkId: string, definition: Record<string, unknown>, key: string): void {
    let spec: CheckSpec
    try {
      spec = parseCheckSpec(definition)
    } catch (error) {
      this.log.warn({ err: error, checkId }, 'not running check with an invalid definition')
      this.report(checkId, 'critical', (error as Error).message)
      return
    }
    if (spec.Type === 'script' && !this.enableScriptChecks) {
      this.log.warn({ checkId }, 'not running script check: script checks are disabled')
      this.report(checkId, 'critical', SCRIPT_CHECKS_DISABLED_OUTPUT)
      return
    }
    const check = createCheck(checkId, spec, {
      notifier: this,
      clock: this.clock,
      random: this.random,
      log: this.log,
      aliasSource: this.catalog,
      nodeName: this.nodeName,
    })
    this.running.set(checkId, { check, spec, key })
    check.start()
  }

  private report (checkId: string, status: CheckStatus, output: string): void {
    if (status === 'critical') {
      if (!this.criticalSinceMs.has(checkId)) this.criticalSinceMs.set(checkId, this.clock.nowMs())
    } else {
      this.criticalSinceMs.delete(checkId)
    }
    const last = this.lastReported.get(checkId)
    if (last !== undefined && last.status === status && last.output === output) return
    this.lastReported.set(checkId, { status, output })
    this.pendingWrites.set(checkId, (this.pendingWrites.get(checkId) ?? 0) + 1)
    this.writeChain = this.writeChain.then(async () => {
      try {
        if (this.catalog.localCheck(checkId) !== undefined) await this.catalog.updateCheck(checkId, status, output)
      } catch (error) {
        this.log.warn({ err: error, checkId }, 'could not store check status')
      } finally {
        const pending = (this.pendingWrites.get(checkId) ?? 1) - 1
        if (pending === 0) this.pendingWrites.delete(checkId)
        else this.pendingWrites.set(checkId, pending)
      }
    })
  }

  private scheduleReap (): void {
    this.reapTimer = this.clock.setTimer(() => {
      if (!this.started) return
      this.reap()
        .catch((error: unknown) => this.log.warn({ err: error }, 'critical-service reaper failed'))
        .finally(() => { if (this.started) this.scheduleReap() })
    }, this.reapIntervalMs)
  }
}
