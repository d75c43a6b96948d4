// The CA's replicated state: the roots list and the CA configuration, as the agent stores them in
// the catalog's cluster-wide entries and feeds them back through `ConnectCA.applyRoots`. It never
// holds a private key: root keys travel only between server agents, over an authenticated stream
// (`exportRootKeyForServer` / `importRootKey`). This file also renders the state as Consul's
// `/v1/connect/ca/roots` and `/v1/connect/ca/configuration` bodies.

import type { CaConfigBody } from './config.ts'
import { certificateFacts } from '../../ca/x509.ts'
import type { PrivateKeyType } from '../../ca/keys.ts'

export interface CaRootRecord {
  /** SHA-1 fingerprint of the root certificate, colon hex (Consul's root ID). */
  id: string
  name: string
  /** Roots have 53-bit serials so the number is exact in JSON (Consul's uint64). */
  serialNumber: number
  signingKeyId: string
  notBeforeMs: number
  notAfterMs: number
  rootCertPem: string
  /** Certificates a chain may need between the root and intermediates: the cross-signed root after a rotation. */
  intermediateCertPems: string[]
  active: boolean
  privateKeyType: PrivateKeyType
  privateKeyBits: number
  createIndex: number
  modifyIndex: number
  /** For an inactive root: when it leaves the list (rotation time + 2 x LeafCertTTL), ms since epoch. */
  dropAfterMs?: number
}

export interface CaReplicatedState {
  trustDomain: string
  /** Grows with every change; roots' Create/ModifyIndex are taken from it. */
  version: number
  config: CaConfigBody
  roots: CaRootRecord[]
}

export function activeRoot (state: CaReplicatedState | undefined): CaRootRecord | undefined {
  return state?.roots.find(root => root.active)
}

export function rootRecord (certPem: string, init: { active: boolean, name: string, index: number, privateKeyType: PrivateKeyType, privateKeyBits: number, intermediateCertPems?: string[] }): CaRootRecord {
  const facts = certificateFacts(certPem)
  return {
    id: facts.id,
    name: init.name,
    serialNumber: parseInt(facts.serialNumber.replaceAll(':', ''), 16),
    signingKeyId: facts.signingKeyId,
    notBeforeMs: facts.notBeforeMs,
    notAfterMs: facts.notAfterMs,
    rootCertPem: certPem,
    intermediateCertPems: init.intermediateCertPems ?? [],
    active: init.active,
    privateKeyType: init.privateKeyType,
    privateKeyBits: init.privateKeyBits,
    createIndex: init.index,
    modifyIndex: init.index,
  }
}

/** Roots still in force at `nowMs`: inactive roots past their drop time are gone. */
export function liveRoots (state: CaReplicatedState, nowMs: number): CaRootRecord[] {
  return state.roots.filter(root => root.active || root.dropAfterMs === undefined || root.dropAfterMs > nowMs)
}

export interface ConsulCaRoot {
  ID: string
  Name: string
  SerialNumber: number
  SigningKeyID: string
  ExternalTrustDomain: string
  NotBefore: string
  NotAfter: string
  RootCert: string
  IntermediateCerts: string[] | null
  Active: boolean
  PrivateKeyType: PrivateKeyType
  PrivateKeyBits: number
  CreateIndex: number
  ModifyIndex: number
}

export interface ConsulCaRoots {
  ActiveRootID: string
  TrustDomain: string
  Roots: ConsulCaRoot[]
}

export const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z')

export function consulRoots (state: CaReplicatedState | undefined, trustDomain: string, nowMs: number): ConsulCaRoots {
  if (state === undefined) return { ActiveRootID: '', TrustDomain: trustDomain, Roots: [] }
  return {
    ActiveRootID: activeRoot(state)?.id ?? '',
    TrustDomain: state.trustDomain,
    Roots: liveRoots(state, nowMs).map(root => ({
      ID: root.id,
      Name: root.name,
      SerialNumber: root.serialNumber,
      SigningKeyID: root.signingKeyId,
      ExternalTrustDomain: state.trustDomain.replace(/\.consul$/, ''),
      NotBefore: rfc3339(root.notBeforeMs),
      NotAfter: rfc3339(root.notAfterMs),
      RootCert: root.rootCertPem,
      IntermediateCerts: root.intermediateCertPems.length === 0 ? null : root.intermediateCertPems,
      Active: root.active,
      PrivateKeyType: root.privateKeyType,
      PrivateKeyBits: root.privateKeyBits,
      CreateIndex: root.createIndex,
      ModifyIndex: root.modifyIndex,
    })),
  }
}
