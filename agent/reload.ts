// Live reload (SIGHUP, `PUT /v1/agent/reload`, `mesh reload`): loads the configuration again with
// the loader the agent started with, plans the change (agent/reload-plan.ts) and applies it through
// the config-file registration path the agent starts with, then sets the log level. Reloads run one
// at a time.
//
// A config that does not load or validate throws its ConfigError and changes nothing. Applying
// runs: standalone checks removed → services removed (with their sidecars and checks) → services
// added and updated (stale embedded checks and sidecars then removed) → standalone checks added
// and updated → log level. A step that fails does not stop the others; the reload then throws a
// ReloadIncompleteError naming every failure, and the agent keeps treating the previous file
// definitions as the running ones, so the next reload plans the missing steps again.

import type { Logger } from 'pino'
import { describeReload } from '../api/reload.ts'
import type { ReloadSummary } from '../api/reload.ts'
import type { AgentConfig } from './config.ts'
import { ReloadIncompleteError } from './errors.ts'
import type { LogLevel } from './log.ts'
import { planReload } from './reload-plan.ts'
import type { LocalRegistrations, ReloadPlan } from './reload-plan.ts'
import type { ConfigRegistrations } from './local/config-registrations.ts'

export interface ConfigReloaderInit {
  /** The configuration the agent started with. */
  config: AgentConfig
}

export interface ConfigReloaderComponents {
  /** Loads the configuration afresh as the agent's start did; throws a ConfigError naming the problem. */
  load: () => AgentConfig
  /** What is registered locally now, from any source. */
  local: () => LocalRegistrations
  registrations: ConfigRegistrations
  setLogLevel: (level: LogLevel) => void
  log: Logger
}

export function summarize (plan: ReloadPlan): ReloadSummary {
  return {
    Services: {
      Added: plan.services.add.map(change => change.id),
      Updated: plan.services.update.map(change => change.id),
      Removed: [...plan.services.remove],
    },
    Checks: {
      Added: plan.checks.add.map(change => change.id),
      Updated: plan.checks.update.map(change => change.id),
      Removed: [...plan.checks.remove],
    },
    LogLevel: plan.logLevel === undefined ? null : { From: plan.logLevel.from, To: plan.logLevel.to },
    RestartRequired: [...plan.restartRequired],
  }
}

export class ConfigReloader {
  private current: AgentConfig
  private readonly components: ConfigReloaderComponents
  private queue: Promise<unknown> = Promise.resolve()

  constructor (init: ConfigReloaderInit, components: ConfigReloaderComponents) {
    this.current = init.config
    this.components = components
  }

  /** The configuration in effect: the start's, with the file definitions and log level of the last reload. */
  get config (): AgentConfig {
    return this.current
  }

  /** Resolves once no reload is in progress (whatever its outcome): the agent's stop waits for it. */
  async settled (): Promise<void> {
    await this.queue.catch(() => {})
  }

  /** Reloads once the reload in progress (if any) is done; resolves with what changed. */
  async reload (): Promise<ReloadSummary> {
    const run = this.queue.catch(() => {}).then(async () => await this.reloadNow())
    this.queue = run
    return await run
  }

  private async reloadNow (): Promise<ReloadSummary> {
    const { log } = this.components
    let plan: ReloadPlan
    try {
      plan = planReload(this.current, this.components.load(), this.components.local())
    } catch (error) {
      log.error({ err: (error as Error).message }, 'reload failed: the configuration is invalid; nothing changed')
      throw error
    }
    const failures = await this.apply(plan)
    for (const field of plan.restartRequired) log.warn({ field }, 'configuration field changed; it takes effect only after a restart')
    const summary = summarize(plan)
    this.current = failures.length === 0 ? plan.applied : { ...this.current, logLevel: plan.applied.logLevel }
    if (failures.length > 0) {
      const error = new ReloadIncompleteError(failures)
      log.error({ failures }, error.message)
      throw error
    }
    log.info({
      servicesAdded: summary.Services.Added,
      servicesUpdated: summary.Services.Updated,
      servicesRemoved: summary.Services.Removed,
      checksAdded: summary.Checks.Added,
      checksUpdated: summary.Checks.Updated,
      checksRemoved: summary.Checks.Removed,
      logLevel: this.current.logLevel,
      restartRequired: summary.RestartRequired,
    }, describeReload(summary))
    return summary
  }

  /** Runs every step of the plan; returns one line per step that failed. */
  private async apply (plan: ReloadPlan): Promise<string[]> {
    const { registrations, log } = this.components
    const failures: string[] = []
    const step = async (what: string, action: () => Promise<unknown>): Promise<void> => {
      try {
        await action()
        log.debug({ step: what }, 'reload step applied')
      } catch (error) {
        failures.push(`${what}: ${(error as Error).message}`)
      }
    }
    const labels = (definitions: Array<Record<string, unknown>>, kind: string): Map<Record<string, unknown>, string> =>
      new Map(definitions.map((definition, index) => [definition, `${kind}[${index}]`]))
    const serviceLabels = labels(plan.applied.services, 'services')
    const checkLabels = labels(plan.applied.checks, 'checks')

    for (const id of plan.checks.remove) await step(`remove check ${id}`, async () => await registrations.deregisterCheck(id))
    for (const id of plan.services.remove) await step(`remove service ${id}`, async () => await registrations.deregisterService(id))
    for (const { id, definition } of plan.services.add) {
      await step(`add service ${id}`, async () => await registrations.registerService(definition, serviceLabels.get(definition) ?? 'services'))
    }
    for (const change of plan.services.update) {
      await step(`update service ${change.id}`, async () => {
        await registrations.registerService(change.definition, serviceLabels.get(change.definition) ?? 'services')
        for (const checkId of change.staleCheckIds) await registrations.deregisterCheck(checkId)
        if (change.staleSidecarId !== undefined) await registrations.deregisterService(change.staleSidecarId)
      })
    }
    for (const [verb, changes] of [['add', plan.checks.add], ['update', plan.checks.update]] as const) {
      for (const { id, definition } of changes) {
        await step(`${verb} check ${id}`, async () => await registrations.registerCheck(definition, checkLabels.get(definition) ?? 'checks'))
      }
    }
    if (plan.logLevel !== undefined) {
      const level = plan.logLevel.to
      await step(`set log level ${level}`, async () => this.components.setLogLevel(level))
    }
    return failures
  }
}
