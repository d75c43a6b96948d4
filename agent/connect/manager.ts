// ConnectCA: the agent's certificate authority manager. It owns no socket: the agent feeds it the
// replicated CA state (`applyRoots`), publishes what it returns (`publish`), carries signing
// requests to servers (`requestIntermediate`) and root keys between servers
// (`exportRootKeyForServer` / `importRootKey`).
//
// Every agent makes its own intermediate key, has it signed by a server (or by itself when it
// holds the root key), and signs its own services' leaves locally, so issuing a leaf never waits on
// the network. Without a reachable server it retries with capped exponential backoff and says so
// in `status()`. The intermediate is renewed at half its lifetime; when the active root changes,
// the intermediate is replaced and every cached leaf re-issued under the new root.

import pino from 'pino'
import type { Logger } from 'pino'
import { CaBadConfigError, CaBadKeyError, CaNoRootKeyError, CaNotReadyError, CaRateLimitedError } from '../../ca/errors.ts'
import { createIssuer, issueLeaf } from '../../ca/profiles.ts'
import type { Issuer } from '../../ca/profiles.ts'
import { agentSpiffeId, serviceSpiffeId, trustDomainFor } from '../../ca/spiffe.ts'
import { certificateFacts } from '../../ca/x509.ts'
import { parseDurationMs } from '../../api/duration.ts'
import type { BlockingSource } from '../http/blocking.ts'
import type { TlsMaterial } from '../../proxy/snapshot.ts'
import { bootstrapState, makeRoot, nextDropMs, pruneState, reconfigureState, rotateState } from './authority.ts'
import { systemClock } from '../../api/clock.ts'
import type { Clock, TimerHandle } from '../../api/clock.ts'
import { DEFAULT_CA_CONFIGURATION, resolveCaConfig } from './config.ts'
import type { CaConfiguration, ResolvedCaConfig } from './config.ts'
import { IndexWaiter } from './index-waiter.ts'
import { IntermediateKeeper } from './intermediate.ts'
import { RootKeyStore } from './key-store.ts'
import { LeafCache } from './leaf-cache.ts'
import type { IssuedServiceLeaf, LeafCert } from './leaf-cache.ts'
import { TokenBucket } from '../../api/token-bucket.ts'
import { signIntermediateRequest } from './sign-request.ts'
import { activeRoot, consulRoots } from './state.ts'
import type { CaReplicatedState, ConsulCaRoots } from './state.ts'

/** Consul's default CSRMaxPerSecond. */
export const DEFAULT_CSR_MAX_PER_SECOND = 50

export interface ConnectCAInit {
  nodeName: string
  datacenter: string
  /** Cluster UUID; the trust domain is `<clusterId>.consul`. */
  clusterId: string
  /** Server agents hold root keys, create the first root and sign intermediates. */
  server?: boolean
  /** Where a server keeps its root keys (`<dataDir>/connect/`, mode 0600). */
  dataDir: string
  /** Carries a CSR to a server over `/mesh/ca/1.0.0`; resolves with the chain PEM (intermediate first). */
  requestIntermediate: (csrPem: string, options: { signal?: AbortSignal }) => Promise<string>
  isLocalService: (service: string) => boolean
  /** Called with every state this agent changes (bootstrap, rotation, config, dropped roots), to replicate. */
  publish?: (state: CaReplicatedState) => void
  clock?: Clock
  random?: () => number
  log?: Logger
  initialRetryMs?: number
  maxRetryMs?: number
  csrMaxPerSecond?: number
}

export type ConnectCAState = 'stopped' | 'waiting-for-root' | 'waiting-for-server' | 'ready'

export interface ConnectCAStatus {
  state: ConnectCAState
  activeRootId?: string
  /** RFC 3339 expiry of this agent's intermediate. */
  intermediateValidBefore?: string
  holdsRootKey: boolean
  lastError?: string
  /** When the next attempt to get an intermediate runs, ms since epoch. */
  nextRetryAtMs?: number
}

export interface RootKeyBundle { signingKeyId: string, privateKeyPem: string }

export class ConnectCA {
  readonly #init: ConnectCAInit
  readonly #clock: Clock
  readonly #log: Logger
  readonly #trustDomain: string
  readonly #keyStore: RootKeyStore
  readonly #csrBucket: TokenBucket
  readonly #abort = new AbortController()
  readonly #rootsWaiter: IndexWaiter
  readonly #leaves: LeafCache
  readonly #rootKeys = new Map<string, string>()
  #state: CaReplicatedState | undefined
  #index = 1
  readonly #intermediate: IntermediateKeeper
  #running = false
  #generation = 0
  #dropTimer: TimerHandle | undefined

  constructor (init: ConnectCAInit) {
    this.#init = init
    this.#clock = init.clock ?? systemClock
    this.#log = init.log?.child({ component: 'mesh:connect-ca' }) ?? pino({ level: 'silent' })
    this.#trustDomain = trustDomainFor(init.clusterId)
    this.#keyStore = new RootKeyStore(init.dataDir)
    const csrMaxPerSecond = init.csrMaxPerSecond ?? DEFAULT_CSR_MAX_PER_SECOND
    // A burst of up to one second's worth, then refusals with the time until one more would pass.
    this.#csrBucket = new TokenBucket(csrMaxPerSecond, csrMaxPerSecond, this.#clock.nowMs())
    this.#rootsWaiter = new IndexWaiter(this.#clock)
    this.#leaves = new LeafCache({
      clock: this.#clock,
      log: this.#log,
      isLocalService: init.isLocalService,
      issue: service => this.#issueServiceLeaf(service),
      nextIndex: () => ++this.#index,
      generation: () => this.#generation,
    })
    this.#intermediate = new IntermediateKeeper({
      clock: this.#clock,
      random: init.random ?? Math.random,
      log: this.#log,
      signal: this.#abort.signal,
      activeRoot: () => activeRoot(this.#state),
      spiffeId: agentSpiffeId(this.#trustDomain, init.datacenter, init.nodeName),
      commonName: `agent-${init.nodeName}`,
      signLocally: (root, csrPem) => this.#rootKeys.has(root.signingKeyId) ? this.#signIntermediate(csrPem, init.nodeName) : undefined,
      requestIntermediate: init.requestIntermediate,
      onInstalled: (_intermediate, rootChanged) => {
        if (!rootChanged) return
        this.#generation++
        this.#leaves.reissueAll()
      },
      initialRetryMs: init.initialRetryMs,
      maxRetryMs: init.maxRetryMs,
    })
  }

  get trustDomain (): string { return this.#trustDomain }
  get isServer (): boolean { return this.#init.server === true }
  /** Blocking source for the roots list. */
  get rootsSource (): BlockingSource { return this.#rootsWaiter }

  /** Loads a server's root keys from the data dir; the state itself arrives through applyRoots. */
  async start (): Promise<void> {
    if (this.isServer) {
      for (const [keyId, pem] of await this.#keyStore.loadAll()) this.#rootKeys.set(keyId, pem)
    }
    this.#running = true
    if (this.#state !== undefined) this.#intermediate.refresh()
  }

  stop (): void {
    this.#running = false
    this.#abort.abort()
    this.#intermediate.stop()
    if (this.#dropTimer !== undefined) this.#clock.clearTimer(this.#dropTimer)
    this.#leaves.clear()
    this.#rootsWaiter.releaseAll()
  }

  /** Server: creates the first root when the cluster has none yet; returns the state to publish. */
  async bootstrap (configuration: unknown = DEFAULT_CA_CONFIGURATION): Promise<CaReplicatedState> {
    if (this.#state !== undefined) return this.#state
    this.#requireServer('only server agents create the root')
    const config = resolveCaConfig(configuration)
    const root = makeRoot(this.#trustDomain, config, this.#clock.nowMs())
    await this.#storeRootKey(root.issuer, root.privateKeyPem)
    const state = bootstrapState(this.#trustDomain, config, root)
    this.#adopt(state, true)
    return state
  }

  /** Feeds the replicated state (from the catalog) in. */
  applyRoots (state: CaReplicatedState): void {
    if (state.trustDomain !== this.#trustDomain) {
      this.#log.warn({ trustDomain: state.trustDomain }, 'ignored CA state of another trust domain')
      return
    }
    // The catalog re-delivers the same entry on every sync; only a different state is news.
    if (this.#state !== undefined && JSON.stringify(this.#state) === JSON.stringify(state)) return
    this.#adopt(state, false)
  }

  /** The current replicated state (what to publish on a full sync). */
  get state (): CaReplicatedState | undefined { return this.#state }

  status (): ConnectCAStatus {
    const root = activeRoot(this.#state)
    const current = this.#intermediate.current
    const { lastError, nextRetryAtMs } = this.#intermediate
    const state: ConnectCAState = !this.#running ? 'stopped' : root === undefined ? 'waiting-for-root' : current === undefined ? 'waiting-for-server' : 'ready'
    return {
      state,
      ...(root === undefined ? {} : { activeRootId: root.id }),
      ...(current === undefined ? {} : { intermediateValidBefore: new Date(current.issuer.certificate.notAfterMs).toISOString() }),
      holdsRootKey: root !== undefined && this.#rootKeys.has(root.signingKeyId),
      ...(lastError === undefined ? {} : { lastError }),
      ...(nextRetryAtMs === undefined ? {} : { nextRetryAtMs }),
    }
  }

  roots (): ConsulCaRoots {
    return consulRoots(this.#state, this.#trustDomain, this.#clock.nowMs())
  }

  /** PEM of every root still in force: what a proxy must trust. */
  rootsPem (): string[] {
    return this.roots().Roots.map(root => root.RootCert)
  }

  configuration (): CaConfiguration & { State: null, ForceWithoutCrossSigning: false, CreateIndex: number, ModifyIndex: number } {
    return {
      Provider: 'consul',
      Config: this.#state?.config ?? DEFAULT_CA_CONFIGURATION.Config,
      State: null,
      ForceWithoutCrossSigning: false,
      CreateIndex: 1,
      ModifyIndex: this.#state?.version ?? 1,
    }
  }

  /**
   * Server: applies a CA configuration. A new key type or size, or a supplied RootCert/PrivateKey,
   * rotates to a new root (cross-signed by the current one); TTL changes apply to what is issued next.
   */
  async setConfiguration (configuration: unknown): Promise<CaReplicatedState> {
    if (this.#state === undefined) return await this.bootstrap(configuration)
    const config = resolveCaConfig(configuration, this.#state.config)
    const root = activeRoot(this.#state)
    const oldIssuer = this.#activeRootIssuer()
    const keyChanged = root === undefined || root.privateKeyType !== config.privateKeyType || root.privateKeyBits !== config.privateKeyBits
    if (config.suppliedRoot !== undefined || keyChanged) return await this.#rotateTo(oldIssuer, config)
    const state = reconfigureState(this.#state, config)
    this.#adopt(state, true)
    return state
  }

  /** Server: rotates to a newly generated root with the current configuration. */
  async rotate (): Promise<CaReplicatedState> {
    if (this.#state === undefined) throw new CaNotReadyError('there is no root to rotate yet')
    return await this.#rotateTo(this.#activeRootIssuer(), resolveCaConfig({ Config: this.#state.config }))
  }

  /** The leaf for a service registered on this agent (cached; rotated in the background). */
  leaf (service: string): LeafCert {
    return this.#leaves.get(service)
  }

  /** Blocking source for one service's leaf; call `leaf(service)` first. */
  leafSource (service: string): BlockingSource {
    return this.#leaves.source(service)
  }

  /** Resolves with the service's leaf ModifyIndex once it passes `minIndex` (a rotation), or with the current one at timeout/abort. */
  async watchLeaf (service: string, minIndex: number, options: { timeoutMs: number, signal?: AbortSignal }): Promise<number> {
    this.leaf(service)
    return await this.#leaves.source(service).waitForIndex(minIndex, options)
  }

  /** What a sidecar for `service` needs (proxy/snapshot.ts): its leaf chain and key, and every root in force. */
  tlsMaterial (service: string): TlsMaterial {
    const leaf = this.leaf(service)
    return { certChainPem: leaf.CertPEM, keyPem: leaf.PrivateKeyPEM, rootsPem: this.rootsPem() }
  }

  /** A certificate for this agent itself (`spiffe://<td>/agent/client/dc/<dc>/id/<node>`); not cached. */
  agentLeaf (): IssuedServiceLeaf {
    return this.#issue(agentSpiffeId(this.#trustDomain, this.#init.datacenter, this.#init.nodeName), this.#init.nodeName)
  }

  /**
   * Server side of `/mesh/ca/1.0.0`: validates another agent's CSR and signs its intermediate.
   * `requesterNodeName` must come from the authenticated transport.
   */
  signIntermediateRequest (csrPem: string, requesterNodeName: string): string {
    const waitMs = this.#csrBucket.take(this.#clock.nowMs())
    if (waitMs > 0) throw new CaRateLimitedError(waitMs)
    return this.#signIntermediate(csrPem, requesterNodeName)
  }

  /** Server: the active root's key, for another server agent over an authenticated stream. */
  exportRootKeyForServer (): RootKeyBundle {
    this.#requireServer('only server agents hold the root key')
    const root = activeRoot(this.#state)
    const privateKeyPem = root === undefined ? undefined : this.#rootKeys.get(root.signingKeyId)
    if (root === undefined || privateKeyPem === undefined) throw new CaNoRootKeyError('no active root key to export')
    return { signingKeyId: root.signingKeyId, privateKeyPem }
  }

  /** Server: stores a root key received from another server; it must match a root in the state. */
  async importRootKey (bundle: RootKeyBundle): Promise<void> {
    this.#requireServer('only server agents hold the root key')
    const root = this.#state?.roots.find(candidate => candidate.signingKeyId === bundle.signingKeyId)
    if (root === undefined) throw new CaBadKeyError(`no known root has signing key id ${bundle.signingKeyId}`)
    await this.#storeRootKey(createIssuer(root.rootCertPem, bundle.privateKeyPem), bundle.privateKeyPem)
    if (root.active && this.#intermediate.current?.rootId !== root.id) this.#intermediate.refresh()
  }

  #requireServer (why: string): void {
    if (!this.isServer) throw new CaNoRootKeyError(`${this.#init.nodeName} is not a server agent (${why})`)
  }

  #activeRootIssuer (): Issuer {
    this.#requireServer('rotation needs the root key')
    const root = activeRoot(this.#state)
    const pem = root === undefined ? undefined : this.#rootKeys.get(root.signingKeyId)
    if (root === undefined || pem === undefined) throw new CaNoRootKeyError('the active root\'s key has not been imported here')
    return createIssuer(root.rootCertPem, pem)
  }

  async #storeRootKey (issuer: Issuer, privateKeyPem: string): Promise<void> {
    const keyId = (issuer.keyId.toString('hex').match(/../g) ?? []).join(':')
    await this.#keyStore.save(keyId, privateKeyPem)
    this.#rootKeys.set(keyId, privateKeyPem)
  }

  async #rotateTo (oldIssuer: Issuer, config: ResolvedCaConfig): Promise<CaReplicatedState> {
    const state = this.#state
    if (state === undefined) throw new CaNotReadyError('there is no root to rotate from')
    const root = makeRoot(this.#trustDomain, config, this.#clock.nowMs())
    if (activeRoot(state)?.id === certificateFacts(root.certPem).id) throw new CaBadConfigError('the supplied root is already the active root')
    await this.#storeRootKey(root.issuer, root.privateKeyPem)
    const next = rotateState(state, oldIssuer, root, config, this.#clock.nowMs())
    this.#adopt(next, true)
    this.#log.info({ activeRootId: activeRoot(next)?.id }, 'rotated the CA root')
    return next
  }

  #adopt (state: CaReplicatedState, publish: boolean): void {
    const previousRootId = activeRoot(this.#state)?.id
    this.#state = state
    this.#rootsWaiter.advance(++this.#index)
    if (publish) this.#init.publish?.(state)
    this.#scheduleDrop()
    if (this.#running && (activeRoot(state)?.id !== previousRootId || this.#intermediate.current === undefined)) this.#intermediate.refresh()
  }

  /** Wakes roots watchers when a retired root's time is up; a server holding the active key publishes the pruned state. */
  #scheduleDrop (): void {
    if (this.#dropTimer !== undefined) this.#clock.clearTimer(this.#dropTimer)
    this.#dropTimer = undefined
    const dropAtMs = this.#state === undefined ? undefined : nextDropMs(this.#state, this.#clock.nowMs())
    if (dropAtMs === undefined) return
    this.#dropTimer = this.#clock.setTimer(() => {
      this.#dropTimer = undefined
      const state = this.#state
      const pruned = state === undefined ? undefined : pruneState(state, this.#clock.nowMs())
      const root = activeRoot(state)
      if (pruned !== undefined && root !== undefined && this.#rootKeys.has(root.signingKeyId)) {
        this.#adopt(pruned, true)
        for (const dropped of state?.roots ?? []) {
          if (pruned.roots.some(kept => kept.id === dropped.id)) continue
          this.#rootKeys.delete(dropped.signingKeyId)
          this.#keyStore.remove(dropped.signingKeyId).catch((error: Error) => this.#log.warn({ err: error }, 'could not remove a retired root key file'))
        }
      } else {
        this.#rootsWaiter.advance(++this.#index)
        this.#scheduleDrop()
      }
    }, dropAtMs - this.#clock.nowMs() + 1)
  }

  #signIntermediate (csrPem: string, requesterNodeName: string): string {
    const state = this.#state
    const root = activeRoot(state)
    if (state === undefined || root === undefined) throw new CaNotReadyError('no root yet')
    const keyPem = this.#rootKeys.get(root.signingKeyId)
    if (keyPem === undefined) throw new CaNoRootKeyError('cannot sign intermediates without the active root key')
    return signIntermediateRequest(csrPem, requesterNodeName, {
      issuer: createIssuer(root.rootCertPem, keyPem),
      trustDomain: this.#trustDomain,
      datacenter: this.#init.datacenter,
      nowMs: this.#clock.nowMs(),
      intermediateTtlMs: parseDurationMs(state.config.IntermediateCertTTL),
      extraChainPems: root.intermediateCertPems,
    })
  }

  #issue (spiffeId: string, commonName: string): IssuedServiceLeaf {
    const intermediate = this.#intermediate.current
    const state = this.#state
    if (intermediate === undefined || state === undefined) throw new CaNotReadyError(this.#intermediate.lastError ?? 'waiting for an intermediate certificate')
    const leaf = issueLeaf(intermediate.issuer, {
      spiffeId,
      commonName,
      nowMs: this.#clock.nowMs(),
      ttlMs: parseDurationMs(state.config.LeafCertTTL),
      keySpec: { type: state.config.PrivateKeyType, bits: state.config.PrivateKeyBits },
    })
    return {
      serialNumber: leaf.serialNumber,
      certChainPem: leaf.certPem + intermediate.chainPem,
      privateKeyPem: leaf.privateKeyPem,
      spiffeId,
      notBeforeMs: leaf.notBeforeMs,
      notAfterMs: leaf.notAfterMs,
    }
  }

  #issueServiceLeaf (service: string): IssuedServiceLeaf {
    return this.#issue(serviceSpiffeId(this.#trustDomain, this.#init.datacenter, service), service)
  }
}
