// The one life cycle every component the agent runs shares: `Startable` (start, stop), and the
// ordered list the agent starts them from. The list starts its entries one at a time in order, so
// an entry may rely on every entry before it being up; it stops them in reverse, so an entry is
// stopped while everything it relies on is still up. A start that fails stops the entries already
// started (in reverse) and rethrows, so a half-started agent never lingers. A list runs once:
// start and stop are both idempotent, and stop waits for a start in progress before undoing it.

import type { Logger } from 'pino'

export interface Startable {
  /** Makes the component do its work; may rely on every component started before it. */
  start(): void | Promise<void>
  /**
   * Stops the work and releases what start took (sockets, timers, subscriptions); the components
   * started before this one are still up. Called only after start resolved.
   */
  stop(): void | Promise<void>
}

export interface LifecycleEntry {
  /** Names the component in logs ("sidecars stop failed"). */
  name: string
  component: Startable
}

export class Lifecycle {
  private readonly entries: LifecycleEntry[]
  private readonly log: Logger
  private readonly started: LifecycleEntry[] = []
  private starting: Promise<void> | undefined
  private stopping: Promise<void> | undefined

  constructor (entries: LifecycleEntry[], log: Logger) {
    this.entries = entries
    this.log = log
  }

  /** Starts every entry in order; on the first failure, stops the started ones and rethrows. */
  async start (): Promise<void> {
    // A list stopped before it started stays stopped.
    this.starting ??= this.stopping === undefined ? this.startInOrder() : Promise.resolve()
    await this.starting
  }

  /** Stops every started entry in reverse order. A failed stop is logged and the next one still runs. */
  async stop (): Promise<void> {
    await this.starting?.catch(() => {})
    this.stopping ??= this.stopInReverse()
    await this.stopping
  }

  private async startInOrder (): Promise<void> {
    for (const entry of this.entries) {
      try {
        await entry.component.start()
      } catch (error) {
        this.log.debug({ startable: entry.name, err: (error as Error).message }, 'component start failed; stopping the ones started')
        this.stopping ??= this.stopInReverse()
        await this.stopping
        throw error
      }
      this.started.push(entry)
    }
  }

  private async stopInReverse (): Promise<void> {
    for (const entry of [...this.started].reverse()) {
      try {
        await entry.component.stop()
      } catch (error) {
        this.log.warn({ startable: entry.name, err: (error as Error).message }, 'component stop failed')
      }
    }
  }
}
