// This agent's signing intermediate: a fresh key and CSR per attempt, sent to a server (or signed
// locally when the agent holds the root key), checked on arrival (signed by the active root,
// carrying our key), renewed at half its lifetime, and retried with capped exponential backoff
// while no server answers. An answer for a root that is no longer active is discarded: a rotation
// started a new attempt already.

import { X509Certificate } from 'node:crypto'
import type { Logger } from 'pino'
import { createCsr } from '../../ca/csr.ts'
import { CaNotReadyError } from '../../ca/errors.ts'
import { generateKey } from '../../ca/keys.ts'
import { createIssuer } from '../../ca/profiles.ts'
import type { Issuer } from '../../ca/profiles.ts'
import { certificatePem, certificatesFromPem } from '../../ca/x509.ts'
import type { Clock, TimerHandle } from '../../api/clock.ts'
import type { CaRootRecord } from './state.ts'

export const DEFAULT_INITIAL_RETRY_MS = 1_000
export const DEFAULT_MAX_RETRY_MS = 60_000

/** Delay before retry number `attempt` (0-based): doubling from initialMs up to maxMs, randomised to 50-100 % so agents spread out. */
export function backoffDelayMs (attempt: number, initialMs: number, maxMs: number, random: number): number {
  return Math.min(maxMs, initialMs * 2 ** attempt) * (0.5 + random / 2)
}

export interface Intermediate { issuer: Issuer, chainPem: string, rootId: string }

export interface IntermediateKeeperInit {
  clock: Clock
  random: () => number
  log: Logger
  signal: AbortSignal
  /** The root to get an intermediate under now, or undefined while there is none. */
  activeRoot: () => CaRootRecord | undefined
  /** The agent SPIFFE ID and CSR common name. */
  spiffeId: string
  commonName: string
  /** Signs locally when this agent holds `root`'s key; undefined otherwise. */
  signLocally: (root: CaRootRecord, csrPem: string) => string | undefined
  requestIntermediate: (csrPem: string, options: { signal?: AbortSignal }) => Promise<string>
  /** Called with each installed intermediate; `rootChanged` when it is under another root than the last. */
  onInstalled: (intermediate: Intermediate, rootChanged: boolean) => void
  initialRetryMs?: number
  maxRetryMs?: number
}

export class IntermediateKeeper {
  readonly #init: IntermediateKeeperInit
  #current: Intermediate | undefined
  #attempt = 0
  #lastError: string | undefined
  #nextRetryAtMs: number | undefined
  #timer: TimerHandle | undefined
  #stopped = false

  constructor (init: IntermediateKeeperInit) {
    this.#init = init
  }

  get current (): Intermediate | undefined { return this.#current }
  get lastError (): string | undefined { return this.#lastError }
  get nextRetryAtMs (): number | undefined { return this.#nextRetryAtMs }

  stop (): void {
    this.#stopped = true
    if (this.#timer !== undefined) this.#init.clock.clearTimer(this.#timer)
  }

  /** Starts getting a new intermediate for the active root now. */
  refresh (): void {
    if (this.#timer !== undefined) this.#init.clock.clearTimer(this.#timer)
    this.#timer = undefined
    const root = this.#init.activeRoot()
    if (root === undefined || this.#stopped) return
    const key = generateKey({ type: root.privateKeyType, bits: root.privateKeyBits })
    const csrPem = createCsr({ privateKeyPem: key.privateKeyPem, commonName: this.#init.commonName.slice(0, 64), uris: [this.#init.spiffeId] })
    const request = Promise.resolve().then(() => this.#init.signLocally(root, csrPem) ?? this.#init.requestIntermediate(csrPem, { signal: this.#init.signal }))
    const stale = (): boolean => this.#stopped || this.#init.activeRoot()?.id !== root.id
    request.then(chainPem => {
      if (!stale()) this.#install(root, chainPem, key.privateKeyPem, key.spkiDer)
    }).catch((error: Error) => {
      if (stale()) return
      this.#lastError = error.message
      const delayMs = backoffDelayMs(this.#attempt++, this.#init.initialRetryMs ?? DEFAULT_INITIAL_RETRY_MS, this.#init.maxRetryMs ?? DEFAULT_MAX_RETRY_MS, this.#init.random())
      this.#nextRetryAtMs = this.#init.clock.nowMs() + delayMs
      this.#init.log.warn({ err: error, retryInMs: Math.round(delayMs) }, 'could not get an intermediate certificate')
      this.#timer = this.#init.clock.setTimer(() => this.refresh(), delayMs)
    })
  }

  #install (root: CaRootRecord, chainPem: string, privateKeyPem: string, spkiDer: Buffer): void {
    const [intermediateDer] = certificatesFromPem(chainPem)
    if (intermediateDer === undefined) throw new CaNotReadyError('the server answered without a certificate')
    if (!new X509Certificate(intermediateDer).verify(new X509Certificate(root.rootCertPem).publicKey)) throw new CaNotReadyError('the intermediate is not signed by the active root')
    const issuer = createIssuer(certificatePem(intermediateDer), privateKeyPem)
    if (!issuer.certificate.spkiDer.equals(spkiDer)) throw new CaNotReadyError('the intermediate does not carry this agent\'s key')
    const rootChanged = this.#current?.rootId !== root.id
    this.#current = { issuer, chainPem, rootId: root.id }
    this.#attempt = 0
    this.#lastError = undefined
    this.#nextRetryAtMs = undefined
    const { notBeforeMs, notAfterMs } = issuer.certificate
    this.#timer = this.#init.clock.setTimer(() => this.refresh(), notBeforeMs + (notAfterMs - notBeforeMs) / 2 - this.#init.clock.nowMs())
    this.#init.log.info({ rootId: root.id, validBefore: new Date(notAfterMs).toISOString() }, 'installed a new intermediate certificate')
    this.#init.onInstalled(this.#current, rootChanged)
  }
}
