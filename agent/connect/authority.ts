// Root operations a server agent performs on the replicated CA state, as pure functions
// (state, input, now) → state': creating the first root, rotating to a new root, and dropping
// retired roots. Rotation cross-signs the new root with the old key and keeps the old root in the
// list for 2 x LeafCertTTL, so every leaf issued under the old root stays verifiable until it has
// expired, and peers that have not yet seen the new root can still verify new leaves through the
// cross-signed certificate.

import { createRoot, createIssuer, crossSignRoot } from '../../ca/profiles.ts'
import type { Issuer } from '../../ca/profiles.ts'
import { configBody } from './config.ts'
import type { ResolvedCaConfig } from './config.ts'
import { rootRecord } from './state.ts'
import type { CaReplicatedState } from './state.ts'

export interface NewRoot { certPem: string, privateKeyPem: string, issuer: Issuer }

/** A root from the configuration's supplied RootCert/PrivateKey, or a fresh one. */
export function makeRoot (trustDomain: string, config: ResolvedCaConfig, nowMs: number): NewRoot {
  const root = config.suppliedRoot ?? createRoot({
    trustDomain,
    nowMs,
    ttlMs: config.rootCertTtlMs,
    keySpec: { type: config.privateKeyType, bits: config.privateKeyBits },
  })
  return { ...root, issuer: createIssuer(root.certPem, root.privateKeyPem) }
}

const rootName = (version: number): string => `mesh CA Primary Cert ${version}`

export function bootstrapState (trustDomain: string, config: ResolvedCaConfig, root: NewRoot): CaReplicatedState {
  const spec = root.issuer.signer.spec
  return {
    trustDomain,
    version: 1,
    config: configBody(config),
    roots: [rootRecord(root.certPem, { active: true, name: rootName(1), index: 1, privateKeyType: spec.type, privateKeyBits: spec.bits })],
  }
}

/** The state after rotating from `oldIssuer` (the active root's key) to `root`. */
export function rotateState (state: CaReplicatedState, oldIssuer: Issuer, root: NewRoot, config: ResolvedCaConfig, nowMs: number): CaReplicatedState {
  const version = state.version + 1
  const cross = crossSignRoot(oldIssuer, root.certPem, state.trustDomain, nowMs)
  const spec = root.issuer.signer.spec
  const retired = state.roots.map(record => record.active
    ? { ...record, active: false, modifyIndex: version, dropAfterMs: nowMs + 2 * config.leafCertTtlMs }
    : record)
  return {
    trustDomain: state.trustDomain,
    version,
    config: configBody(config),
    roots: [...retired, rootRecord(root.certPem, { active: true, name: rootName(version), index: version, privateKeyType: spec.type, privateKeyBits: spec.bits, intermediateCertPems: [cross] })],
  }
}

/** The state with config changes that need no new root (TTLs). */
export function reconfigureState (state: CaReplicatedState, config: ResolvedCaConfig): CaReplicatedState {
  return { ...state, version: state.version + 1, config: configBody(config) }
}

/** Drops retired roots whose time has come; undefined when nothing changes. */
export function pruneState (state: CaReplicatedState, nowMs: number): CaReplicatedState | undefined {
  const kept = state.roots.filter(root => root.active || root.dropAfterMs === undefined || root.dropAfterMs > nowMs)
  if (kept.length === state.roots.length) return undefined
  const version = state.version + 1
  const retiredLeft = kept.some(root => !root.active)
  return {
    ...state,
    version,
    // With no retired root left, the cross-signed certificates lead nowhere trusted: drop them too.
    roots: kept.map(root => root.active && !retiredLeft && root.intermediateCertPems.length > 0
      ? { ...root, intermediateCertPems: [], modifyIndex: version }
      : root),
  }
}

/** When the next retired root is due to be dropped after `nowMs`, or undefined. */
export function nextDropMs (state: CaReplicatedState, nowMs: number): number | undefined {
  const times = state.roots.flatMap(root => !root.active && root.dropAfterMs !== undefined && root.dropAfterMs >= nowMs ? [root.dropAfterMs] : [])
  return times.length === 0 ? undefined : Math.min(...times)
}
