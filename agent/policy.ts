// Intentions and config entries as the agent keeps them: both are cluster-wide last-writer-wins
// entries in the catalog (kinds 'intention', keyed "source/destination", and 'config-entry', keyed
// "Kind/Name"). This object keeps the in-memory IntentionStore in step with the catalog, writes
// through the catalog (publishing what changed), and gives the HTTP routes and proxies their deps.

import type { Logger } from 'pino'
import type { Catalog } from '../catalog/catalog.ts'
import type { Entry } from '../catalog/entry.ts'
import { IntentionStore } from '../api/intentions/index.ts'
import type { Intention } from '../api/intentions/model.ts'
import { validateStoredIntention } from '../api/intentions/validate.ts'
import type { ConfigEntryBody, ConfigRouteDeps, StoredConfigEntry } from './http/config-routes.ts'
import type { IntentionRouteDeps } from './http/intentions-routes.ts'

export const KIND_INTENTION = 'intention'
export const KIND_CONFIG_ENTRY = 'config-entry'

const intentionKey = (source: string, destination: string): string => `${source}/${destination}`
const configKey = (kind: string, name: string): string => `${kind}/${name}`

export interface AgentPolicyInit {
  catalog: Catalog
  publish: (entries: Entry[]) => void
  defaultPolicy: 'allow' | 'deny'
  log: Logger
}

export class AgentPolicy {
  readonly intentions: IntentionStore
  private readonly init: AgentPolicyInit
  private readonly unsubscribe: () => void
  private readonly listeners = new Set<() => void>()

  constructor (init: AgentPolicyInit) {
    this.init = init
    this.intentions = new IntentionStore({ defaultPolicy: init.defaultPolicy, log: init.log })
    this.reloadIntentions()
    this.unsubscribe = init.catalog.onChange((change) => {
      if (change.kinds.includes(KIND_INTENTION)) this.reloadIntentions()
      if (change.kinds.includes(KIND_INTENTION) || change.kinds.includes(KIND_CONFIG_ENTRY)) {
        for (const listener of this.listeners) listener()
      }
    })
  }

  stop (): void {
    this.unsubscribe()
  }

  /** Called after any change of intentions or config entries (proxies rebuild their snapshot). */
  onChange (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Replicated intentions come from other agents: each is validated again, and a bad one is skipped. */
  private reloadIntentions (): void {
    const valid: Intention[] = []
    for (const entry of this.init.catalog.clusterEntries(KIND_INTENTION)) {
      try {
        valid.push(validateStoredIntention(entry.value))
      } catch (error) {
        this.init.log.warn({ key: entry.key, err: (error as Error).message }, 'ignored an invalid replicated intention')
      }
    }
    this.intentions.replaceAll(valid)
  }

  private async write (operation: Promise<Entry[]>): Promise<void> {
    this.init.publish(await operation)
  }

  async putIntention (intention: Intention): Promise<void> {
    await this.write(this.init.catalog.putClusterEntry(KIND_INTENTION, intentionKey(intention.SourceName, intention.DestinationName), intention))
    this.reloadIntentions()
  }

  async deleteIntention (source: string, destination: string): Promise<boolean> {
    if (this.intentions.get(source, destination) === undefined) return false
    await this.write(this.init.catalog.deleteClusterEntry(KIND_INTENTION, intentionKey(source, destination)))
    this.reloadIntentions()
    return true
  }

  configEntry (kind: string, name: string): StoredConfigEntry | undefined {
    const stored = this.init.catalog.clusterEntry(KIND_CONFIG_ENTRY, configKey(kind, name))
    if (stored === undefined) return undefined
    return { ...(stored.value as ConfigEntryBody), CreateIndex: stored.createIndex, ModifyIndex: stored.modifyIndex }
  }

  configEntries (kind: string): StoredConfigEntry[] {
    return this.init.catalog.clusterEntries(KIND_CONFIG_ENTRY)
      .filter((entry) => entry.key.startsWith(`${kind}/`))
      .map((entry) => ({ ...(entry.value as ConfigEntryBody), CreateIndex: entry.createIndex, ModifyIndex: entry.modifyIndex }))
      .sort((a, b) => a.Name.localeCompare(b.Name))
  }

  intentionRouteDeps (): IntentionRouteDeps {
    const catalog = this.init.catalog
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
    const catalog = this.init.catalog
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
        await this.write(catalog.putClusterEntry(KIND_CONFIG_ENTRY, configKey(entry.Kind, entry.Name), entry))
        return true
      },
      getConfigEntry: (kind, name) => this.configEntry(kind, name),
      listConfigEntries: (kind) => this.configEntries(kind),
      deleteConfigEntry: async (kind, name, options) => {
        const current = this.configEntry(kind, name)
        if (options.casIndex !== undefined && (current?.ModifyIndex ?? 0) !== options.casIndex) return false
        if (current !== undefined) await this.write(catalog.deleteClusterEntry(KIND_CONFIG_ENTRY, configKey(kind, name)))
        return true
      },
      now: () => Date.now(),
      get index () { return catalog.index },
      waitForIndex: async (minIndex, options) => await catalog.waitForIndex(minIndex, options),
    }
  }
}
