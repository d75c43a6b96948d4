// IntentionStore: the in-memory intention index the agent feeds from the catalog's cluster-wide
// entries of kind 'intention' (and a standalone proxy from the intentions its agent sends it), with
// the decision cache the proxies read through `authorizer()`.
//
// Lookups are O(1): for a (source S, destination D) pair the only candidates are the four keys
// S/D (precedence 9), */D (8), S/* (6) and */* (5), and keys are unique, so the governing
// intention is the first of those present. Every change bumps a generation counter; each cache
// remembers the generation it was filled at and is dropped lazily when it no longer matches, so
// a write costs O(1) and the next decision recompiles only the destination it concerns. The store
// is synchronous and does no I/O; the agent owns the catalog subscription that calls `replaceAll`,
// `upsert` and `remove`.

import type { AuthorizeDecision, AuthorizeRequest, Authorizer } from '../authorizer.ts'
import { compileIntention, decide } from './evaluate.ts'
import type { CompiledIntention, Decision, DestinationProtocol } from './evaluate.ts'
import type { HttpRequestInfo } from './match.ts'
import { WILDCARD, comparePrecedence, intentionKey } from './model.ts'
import type { DefaultPolicy, Intention } from './model.ts'
import { parseServiceSpiffeId } from '../spiffe.ts'

/** The logging the store does; a pino logger fits, and the shared layer needs no logging package. */
export interface IntentionStoreLog {
  child (bindings: Record<string, unknown>): IntentionStoreLog
  debug (fields: Record<string, unknown>, message: string): void
}

export interface IntentionStoreInit {
  defaultPolicy: DefaultPolicy
  intentions?: readonly Intention[]
  log?: IntentionStoreLog
}

export interface AuthorizerOptions {
  /** The destination's protocol; with 'tcp', L7 intentions deny the connection (Consul's rule). */
  protocol?: DestinationProtocol
}

/** Compiled state for one destination, valid for one generation. */
interface DestinationPolicy {
  generation: number
  /** Governing intention per source name, filled on first use (undefined: default policy). */
  governing: Map<string, CompiledIntention | undefined>
  /** Connection decision per source name and protocol class. */
  connection: Map<string, Decision>
}

/**
 * Bound on each cache's entries. Names reach the caches from the network (the /check endpoint,
 * certificate URIs), so without a bound a client could grow them forever; past it, a cache is
 * simply emptied and refilled on demand.
 */
const MAX_CACHE_ENTRIES = 10_000

export class IntentionStore {
  private readonly byKey = new Map<string, Intention>()
  private readonly byId = new Map<string, Intention>()
  private readonly policies = new Map<string, DestinationPolicy>()
  private readonly spiffeNames = new Map<string, string | undefined>()
  private sortedCache: { generation: number, list: readonly Intention[] } | undefined
  private currentGeneration = 0
  private policy: DefaultPolicy
  private readonly log: IntentionStoreLog | undefined

  constructor (init: IntentionStoreInit) {
    this.policy = init.defaultPolicy
    this.log = init.log?.child({ component: 'mesh:intentions' })
    if (init.intentions !== undefined) this.replaceAll(init.intentions)
  }

  /** Grows on every change; decisions cached at an older generation are never served. */
  get generation (): number { return this.currentGeneration }

  get defaultPolicy (): DefaultPolicy { return this.policy }

  get size (): number { return this.byKey.size }

  setDefaultPolicy (policy: DefaultPolicy): void {
    if (policy === this.policy) return
    this.policy = policy
    this.bump()
  }

  /** Replaces the whole set (a catalog load or a full sync). Later duplicates of a key win. */
  replaceAll (intentions: readonly Intention[]): void {
    this.byKey.clear()
    this.byId.clear()
    for (const intention of intentions) this.insert(intention)
    this.bump()
    this.log?.debug({ count: this.byKey.size, generation: this.currentGeneration }, 'intentions replaced')
  }

  /** Adds or replaces the intention of its source/destination pair. */
  upsert (intention: Intention): void {
    this.insert(intention)
    this.bump()
  }

  /** Removes the pair's intention; false when there was none. */
  remove (sourceName: string, destinationName: string): boolean {
    const key = intentionKey(sourceName, destinationName)
    const existing = this.byKey.get(key)
    if (existing === undefined) return false
    this.byKey.delete(key)
    if (this.byId.get(existing.ID) === existing) this.byId.delete(existing.ID)
    this.bump()
    return true
  }

  get (sourceName: string, destinationName: string): Intention | undefined {
    return this.byKey.get(intentionKey(sourceName, destinationName))
  }

  getById (id: string): Intention | undefined {
    return this.byId.get(id)
  }

  /** Every intention in evaluation order (precedence, deny first, names); shared, so read-only. */
  list (): readonly Intention[] {
    if (this.sortedCache?.generation !== this.currentGeneration) {
      this.sortedCache = { generation: this.currentGeneration, list: [...this.byKey.values()].sort(comparePrecedence) }
    }
    return this.sortedCache.list
  }

  /**
   * Consul's /match: intentions whose source (by 'source') or destination (by 'destination') is
   * `name` or `*`, in evaluation order.
   */
  match (by: 'source' | 'destination', name: string): Intention[] {
    return this.list().filter((intention) => {
      const field = by === 'source' ? intention.SourceName : intention.DestinationName
      return field === name || field === WILDCARD
    })
  }

  /** Connection (L4) decision for the pair, cached; an L7 intention admits the connection. */
  check (sourceName: string, destinationName: string, protocol: DestinationProtocol = 'http'): Decision {
    const policy = this.policyFor(destinationName)
    const key = protocol === 'tcp' ? `tcp\u0000${sourceName}` : sourceName
    let decision = policy.connection.get(key)
    if (decision === undefined) {
      decision = decide(this.governing(policy, sourceName, destinationName), this.policy, undefined, protocol)
      if (policy.connection.size >= MAX_CACHE_ENTRIES) policy.connection.clear()
      policy.connection.set(key, decision)
    }
    return decision
  }

  /** Decision for one HTTP request; the governing intention and its matchers are cached. */
  decideRequest (sourceName: string, destinationName: string, http: HttpRequestInfo): Decision {
    const policy = this.policyFor(destinationName)
    return decide(this.governing(policy, sourceName, destinationName), this.policy, http)
  }

  /**
   * The proxy's Authorizer for `destinationName`: L4 when the request has no `http`, L7 otherwise.
   * The caller is named by its SPIFFE ID; a caller whose ID is not a service SPIFFE ID in the
   * default namespace naming `sourceService` is denied, whatever the intentions say.
   */
  authorizer (destinationName: string, options: AuthorizerOptions = {}): Authorizer {
    const protocol = options.protocol ?? 'http'
    return (request: AuthorizeRequest): AuthorizeDecision => {
      const sourceName = this.callerName(request)
      if (sourceName === undefined) {
        return { allowed: false, reason: `caller identity "${request.sourceSpiffeId}" is not a service SPIFFE ID for "${request.sourceService}"` }
      }
      if (request.http === undefined) return this.check(sourceName, destinationName, protocol)
      return this.decideRequest(sourceName, destinationName, request.http)
    }
  }

  private callerName (request: AuthorizeRequest): string | undefined {
    let name = this.spiffeNames.get(request.sourceSpiffeId)
    if (name === undefined && !this.spiffeNames.has(request.sourceSpiffeId)) {
      const parsed = parseServiceSpiffeId(request.sourceSpiffeId)
      name = parsed !== undefined && parsed.namespace === 'default' ? parsed.service : undefined
      if (this.spiffeNames.size >= MAX_CACHE_ENTRIES) this.spiffeNames.clear()
      this.spiffeNames.set(request.sourceSpiffeId, name)
    }
    return name !== undefined && name === request.sourceService ? name : undefined
  }

  private governing (policy: DestinationPolicy, sourceName: string, destinationName: string): CompiledIntention | undefined {
    if (policy.governing.has(sourceName)) return policy.governing.get(sourceName)
    const intention = this.byKey.get(intentionKey(sourceName, destinationName)) ??
      this.byKey.get(intentionKey(WILDCARD, destinationName)) ??
      this.byKey.get(intentionKey(sourceName, WILDCARD)) ??
      this.byKey.get(intentionKey(WILDCARD, WILDCARD))
    // Intentions were validated on write, so compiling cannot fail here.
    const compiled = intention === undefined ? undefined : compileIntention(intention)
    if (policy.governing.size >= MAX_CACHE_ENTRIES) policy.governing.clear()
    policy.governing.set(sourceName, compiled)
    return compiled
  }

  private policyFor (destinationName: string): DestinationPolicy {
    let policy = this.policies.get(destinationName)
    if (policy === undefined || policy.generation !== this.currentGeneration) {
      if (policy === undefined && this.policies.size >= MAX_CACHE_ENTRIES) this.policies.clear()
      policy = { generation: this.currentGeneration, governing: new Map(), connection: new Map() }
      this.policies.set(destinationName, policy)
    }
    return policy
  }

  private insert (intention: Intention): void {
    const key = intentionKey(intention.SourceName, intention.DestinationName)
    const previous = this.byKey.get(key)
    if (previous !== undefined && this.byId.get(previous.ID) === previous) this.byId.delete(previous.ID)
    this.byKey.set(key, intention)
    this.byId.set(intention.ID, intention)
  }

  private bump (): void {
    this.currentGeneration++
  }
}
