// Leaf certificates for the services registered on this agent: issued on first request, cached
// per service, and re-issued in the background at half their lifetime (Consul rotates leaves
// "well before expiry"; at half-life a missed rotation still leaves half a lifetime to retry).
// Each service has its own modify index so a blocking leaf query wakes only when that service's
// certificate changes. A service that is no longer registered here is dropped at its next
// rotation instead of being renewed.

import type { Logger } from 'pino'
import { CaNotLocalServiceError } from '../../ca/errors.ts'
import type { Clock, TimerHandle } from '../../api/clock.ts'
import { IndexWaiter } from './index-waiter.ts'
import { rfc3339 } from './state.ts'

/** The body of `GET /v1/agent/connect/ca/leaf/:service`, as Consul answers it. */
export interface LeafCert {
  SerialNumber: string
  /** The leaf followed by the intermediate and any cross-signed root: what a TLS peer needs. */
  CertPEM: string
  PrivateKeyPEM: string
  Service: string
  ServiceURI: string
  ValidAfter: string
  ValidBefore: string
  CreateIndex: number
  ModifyIndex: number
}

export interface IssuedServiceLeaf {
  serialNumber: string
  certChainPem: string
  privateKeyPem: string
  spiffeId: string
  notBeforeMs: number
  notAfterMs: number
}

export interface LeafCacheInit {
  clock: Clock
  log: Logger
  isLocalService: (service: string) => boolean
  /** Signs a leaf under the current intermediate; throws CaNotReadyError when there is none. */
  issue: (service: string) => IssuedServiceLeaf
  /** The next value of the agent's CA modify index. */
  nextIndex: () => number
  /** Changes whenever the intermediate moves to another root; cached leaves from before are re-issued. */
  generation: () => number
}

/** Longest stretch the re-issue after a rotation holds the event loop. */
export const REISSUE_SLICE_MS = 10

interface Entry {
  leaf: LeafCert
  generation: number
  waiter: IndexWaiter
  timer: TimerHandle | undefined
}

export class LeafCache {
  readonly #init: LeafCacheInit
  readonly #entries = new Map<string, Entry>()

  constructor (init: LeafCacheInit) {
    this.#init = init
  }

  get size (): number { return this.#entries.size }

  /** The service's current leaf, issuing one if needed; refuses services not registered here. */
  get (service: string): LeafCert {
    if (!this.#init.isLocalService(service)) throw new CaNotLocalServiceError(service)
    const entry = this.#entries.get(service)
    if (entry !== undefined && entry.generation === this.#init.generation() && Date.parse(entry.leaf.ValidBefore) > this.#init.clock.nowMs()) return entry.leaf
    return this.#issue(service).leaf
  }

  /** Blocking source for one service's leaf; call `get` first so the entry exists. */
  source (service: string): IndexWaiter {
    const entry = this.#entries.get(service)
    if (entry === undefined) throw new CaNotLocalServiceError(service)
    return entry.waiter
  }

  /**
   * Re-issues every cached leaf after the intermediate moved to a new root, in slices of at most
   * REISSUE_SLICE_MS with the event loop free in between: an agent with 1,000 services would
   * otherwise stall its proxies for a second. A leaf asked for meanwhile is issued on demand.
   */
  reissueAll (): void {
    const pending = [...this.#entries.keys()]
    const slice = (): void => {
      const deadlineMs = performance.now() + REISSUE_SLICE_MS
      while (pending.length > 0 && performance.now() < deadlineMs) {
        const service = pending.shift() as string
        if (this.#entries.get(service)?.generation !== this.#init.generation()) this.#rotate(service)
      }
      if (pending.length > 0) setImmediate(slice)
    }
    slice()
  }

  clear (): void {
    for (const entry of this.#entries.values()) {
      if (entry.timer !== undefined) this.#init.clock.clearTimer(entry.timer)
      entry.waiter.releaseAll()
    }
    this.#entries.clear()
  }

  #issue (service: string): Entry {
    const issued = this.#init.issue(service)
    const index = this.#init.nextIndex()
    const previous = this.#entries.get(service)
    if (previous?.timer !== undefined) this.#init.clock.clearTimer(previous.timer)
    const leaf: LeafCert = {
      SerialNumber: issued.serialNumber,
      CertPEM: issued.certChainPem,
      PrivateKeyPEM: issued.privateKeyPem,
      Service: service,
      ServiceURI: issued.spiffeId,
      ValidAfter: rfc3339(issued.notBeforeMs),
      ValidBefore: rfc3339(issued.notAfterMs),
      CreateIndex: previous?.leaf.CreateIndex ?? index,
      ModifyIndex: index,
    }
    const entry: Entry = {
      leaf,
      generation: this.#init.generation(),
      waiter: previous?.waiter ?? new IndexWaiter(this.#init.clock, index),
      timer: undefined,
    }
    const halfLifeMs = (issued.notAfterMs - issued.notBeforeMs) / 2
    entry.timer = this.#init.clock.setTimer(() => this.#rotate(service), issued.notBeforeMs + halfLifeMs - this.#init.clock.nowMs())
    this.#entries.set(service, entry)
    entry.waiter.advance(index)
    return entry
  }

  #rotate (service: string): void {
    const entry = this.#entries.get(service)
    if (entry === undefined) return
    if (!this.#init.isLocalService(service)) {
      if (entry.timer !== undefined) this.#init.clock.clearTimer(entry.timer)
      this.#entries.delete(service)
      entry.waiter.advance(this.#init.nextIndex())
      this.#init.log.debug({ service }, 'dropped the leaf of a service no longer registered here')
      return
    }
    try {
      this.#issue(service)
    } catch (error) {
      // No intermediate right now (e.g. between roots): try again in a minute; the current leaf is
      // still valid for half its lifetime.
      this.#init.log.warn({ service, err: error }, 'leaf rotation failed; retrying')
      entry.timer = this.#init.clock.setTimer(() => this.#rotate(service), 60_000)
    }
  }
}
