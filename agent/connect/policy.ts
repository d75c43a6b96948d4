// Intentions and config entries as the agent keeps them: both are cluster-wide last-writer-wins
// entries in the catalog (kinds 'intention', keyed "source/destination", and 'config-entry', keyed
// "Kind/Name"). This object keeps the in-memory IntentionStore in step with the catalog, writes
// through the catalog (replication publishes what changed), and gives the HTTP routes and proxies their deps.

import type { Logger } from 'pino'
import type { Catalog } from '../../catalog/catalog.ts'
import { IntentionStore } from '../../api/intentions/index.ts'
import type { Intention } from '../../api/intentions/model.ts'
import { validateStoredIntention } from '../../api/intentions/validate.ts'
import type { ConfigEntryBody, ConfigRouteDeps, StoredConfigEntry } from '../http/config-routes.ts'
import type { IntentionRouteDeps } from '../http/intentions-routes.ts'
import type { Startable } from '../lifecycle.ts'

export const KIND_INTENTION = 'intention'
export const KIND_CONFIG_ENTRY = 'config-entry'

const intentionKey = (source: string, destination: string): string => `${source}/${destination}`
const configKey = (kind: string, name: string): string => `${kind}/${name}`

export interface AgentPolicyInit {
  defaultPolicy: 'allow' | 'deny'
}

export interface AgentPolicyComponents {
  catalog: Catalog
  log: Logger
}

export class AgentPolicy implements Startable {
  readonly intentions: IntentionStore
  private readonly components: AgentPolicyComponents
  private unsubscribe: (() => void) | undefined
  private readonly listeners = new Set<() => void>()

  constructor (init: AgentPolicyInit, components: AgentPolicyComponents) {
    this.components = components
    this.intentions = new IntentionStore({ defaultPolicy: init.defaultPolicy, log: components.log })
  }

  /** Loads the intentions the catalog holds and follows its changes from then on. */
  start (): void {
    this.reloadIntentions()
    this.unsubscribe = this.components.catalog.onChange((change) => {
      if (change.kinds.includes(KIND_INTENTION)) this.reloadIntentions()
      if (change.kinds.includes(KIND_INTENTION) || change.kinds.includes(KIND_CONFIG_ENTRY)) {
        for (const listener of this.listeners) listener()
      }
    })
  }

  stop (): void {
    this.unsubscribe?.()
  }

  /** Called after any change of intentions or config entries (proxies rebuild their snapshot). */
  onChange (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Replicated intentions come from other agents: each is validated again, and a bad one is skipped. */
  private reloadIntentions (): void {
    const valid: Intention[] = []
    for (const entry of this.components.catalog.clusterEntries(KIND_INTENTION)) {
      try {
        valid.push(validateStoredIntention(entry.value))
      } catch (error) {
        this.components.log.warn({ key: entry.key, err: (error as Error).message }, 'ignored an invalid replicated intention')
      }
    }
    this.intentions.replaceAll(valid)
  }

  async putIntention (intention: Intention): Promise<void> {
    await this.components.catalog.putClusterEntry(KIND_INTENTION, intentionKey(intention.SourceName, intention.DestinationName), intention)
    this.reloadIntentions()
  }

  async deleteIntention (source: string, destination: string): Promise<boolean> {
    if (this.intentions.get(source, destination) === undefined) return false
    await this.components.catalog.deleteClusterEntry(KIND_INTENTION, intentionKey(source, destination))
    this.reloadIntentions()
    return true
  }

  configEntry (kind: string, name: string): StoredConfigEntry | undefined {
    const stored = this.components.catalog.clusterEntry(KIND_CONFIG_ENTRY, configKey(kind, name))
    if (stored === undefined) return undefined
    return { ...(stored.value as ConfigEntryBody), CreateIndex: stored.createIndex, ModifyIndex: stored.modifyIndex }
  }

  configEntries (kind: string): StoredConfigEntry[] {
    return this.components.catalog.clusterEntries(KIND_CONFIG_ENTRY)
      .filter((entry) => entry.key.startsWith(`${kind}/`))
      .map((entry) => ({ ...(entry.value as ConfigEntryBody), CreateIndex: entry.createIndex, ModifyIndex: entry.modifyIndex }))
      .sort((a, b) => a.Name.localeCompare(b.Name))
  }

  intentionRouteDeps (): IntentionRouteDeps {
    const catalog = this.components.catalog
    return {
      intentions: this.intentions,
      put: async (intention) => await this.putIntention(intention),
      delete: async (source, destination) => await this.deleteIntention(source, destination),
      now: () => Date.now(),
      get index () { return catalog.index },
      waitForIndex: async (minIndex, options) => await catalog.waitForIndex(minIndex, options),
    }
  }

  configRouteDeps (): ConfigRouteDeps {
    const catalog = this.components.catalog
    return {
      intentions: this.intentions,
      replaceIntentions: async (destination, intentions) => {
        const keep = new Set(intentions.map((intention) => intention.SourceName))
        for (const existing of this.intentions.list()) {
          if (existing.DestinationName === destination && !keep.has(existing.SourceName)) {
            await this.deleteIntention(existing.SourceName, destination)
          }
        }
        for (const intention of intentions) await this.putIntention(intention)
      },
      putConfigEntry: async (entry, options) => {
        const current = this.configEntry(entry.Kind, entry.Name)
        if (options.casIndex !== undefined && (current?.ModifyIndex ?? 0) !== options.casIndex) return false
        await catalog.putClusterEntry(KIND_CONFIG_ENTRY, configKey(entry.Kind, entry.Name), entry)
        return true
      },
      getConfigEntry: (kind, name) => this.configEntry(kind, name),
      listConfigEntries: (kind) => this.configEntries(kind),
      deleteConfigEntry: async (kind, name, options) => {
        const current = this.configEntry(kind, name)
        if (options.casIndex !== undefined && (current?.ModifyIndex ?? 0) !== options.casIndex) return false
        if (current !== undefined) await catalog.deleteClusterEntry(KIND_CONFIG_ENTRY, configKey(kind, name))
        return true
      },
      now: () => Date.now(),
      get index () { return catalog.index },
      waitForIndex: async (minIndex, options) => await catalog.waitForIndex(minIndex, options),
    }
  }
}
