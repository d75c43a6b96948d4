// The CA configuration as Consul's API carries it (`{ Provider: "consul", Config: {...} }`), its
// defaults, and its validation. Validation follows Consul's rules: TTLs as Go durations, the leaf
// TTL between 1 h and 1 year, intermediates living at least 3 leaf lifetimes (so a leaf never
// outlives the intermediate that signed it by design), roots at least as long as intermediates,
// and a supplied root given as both RootCert and PrivateKey.

import { X509Certificate } from 'node:crypto'
import { formatDuration, parseDurationMs } from '../../api/duration.ts'
import { CaBadConfigError, CaError } from '../../ca/errors.ts'
import { checkKeySpec } from '../../ca/keys.ts'
import type { PrivateKeyType } from '../../ca/keys.ts'
import { createIssuer } from '../../ca/profiles.ts'

export interface CaConfigBody {
  LeafCertTTL: string
  IntermediateCertTTL: string
  RootCertTTL: string
  PrivateKeyType: PrivateKeyType
  PrivateKeyBits: number
  /** Only in a PUT: a root to rotate to. Never stored in the replicated state, never returned. */
  RootCert?: string
  PrivateKey?: string
}

export interface CaConfiguration {
  Provider: 'consul'
  Config: CaConfigBody
}

/** A validated configuration with the durations in ms. */
export interface ResolvedCaConfig {
  leafCertTtlMs: number
  intermediateCertTtlMs: number
  rootCertTtlMs: number
  privateKeyType: PrivateKeyType
  privateKeyBits: number
  /** Present when the request supplies a root to rotate to. */
  suppliedRoot?: { certPem: string, privateKeyPem: string }
}

export const DEFAULT_CA_CONFIGURATION: CaConfiguration = {
  Provider: 'consul',
  Config: { LeafCertTTL: '72h', IntermediateCertTTL: '8760h', RootCertTTL: '87600h', PrivateKeyType: 'ec', PrivateKeyBits: 256 },
}

const HOUR_MS = 3_600_000
const MIN_LEAF_TTL_MS = HOUR_MS
const MAX_LEAF_TTL_MS = 8_760 * HOUR_MS
const ALLOWED_CONFIG_KEYS = new Set(['LeafCertTTL', 'IntermediateCertTTL', 'RootCertTTL', 'PrivateKeyType', 'PrivateKeyBits', 'RootCert', 'PrivateKey', 'CSRMaxPerSecond', 'CSRMaxConcurrent'])

function duration (config: Record<string, unknown>, field: string, fallback: string): number {
  const value = config[field] ?? fallback
  if (typeof value !== 'string' && typeof value !== 'number') throw new CaBadConfigError(`${field} must be a duration string such as "72h"`)
  try {
    return parseDurationMs(value)
  } catch (error) {
    throw new CaBadConfigError(`${field}: ${(error as Error).message}`)
  }
}

/**
 * Validates a PUT body (or a stored configuration) and fills defaults from `base`; throws
 * CaBadConfigError naming the first problem.
 */
export function resolveCaConfig (input: unknown, base: CaConfigBody = DEFAULT_CA_CONFIGURATION.Config): ResolvedCaConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new CaBadConfigError('expected an object { Provider, Config }')
  const body = input as Record<string, unknown>
  if (body.Provider !== undefined && body.Provider !== 'consul') throw new CaBadConfigError(`Provider "${String(body.Provider)}" is not supported: only "consul" (the built-in CA)`)
  const config = (body.Config ?? {}) as Record<string, unknown>
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new CaBadConfigError('Config must be an object')
  for (const key of Object.keys(config)) {
    if (!ALLOWED_CONFIG_KEYS.has(key)) throw new CaBadConfigError(`unknown Config field "${key}"`)
  }
  const leafCertTtlMs = duration(config, 'LeafCertTTL', base.LeafCertTTL)
  const intermediateCertTtlMs = duration(config, 'IntermediateCertTTL', base.IntermediateCertTTL)
  const rootCertTtlMs = duration(config, 'RootCertTTL', base.RootCertTTL)
  if (leafCertTtlMs < MIN_LEAF_TTL_MS || leafCertTtlMs > MAX_LEAF_TTL_MS) throw new CaBadConfigError('LeafCertTTL must be between 1h0m0s and 8760h0m0s')
  if (intermediateCertTtlMs < 3 * leafCertTtlMs) throw new CaBadConfigError(`IntermediateCertTTL must be at least 3 x LeafCertTTL (${formatDuration(3 * leafCertTtlMs)})`)
  if (rootCertTtlMs < intermediateCertTtlMs) throw new CaBadConfigError('RootCertTTL must be at least IntermediateCertTTL')
  const privateKeyType = config.PrivateKeyType ?? base.PrivateKeyType
  const privateKeyBits = config.PrivateKeyBits ?? (config.PrivateKeyType === undefined ? base.PrivateKeyBits : (privateKeyType === 'rsa' ? 2048 : 256))
  if (privateKeyType !== 'ec' && privateKeyType !== 'rsa') throw new CaBadConfigError(`PrivateKeyType must be "ec" or "rsa", not "${String(privateKeyType)}"`)
  if (typeof privateKeyBits !== 'number') throw new CaBadConfigError('PrivateKeyBits must be a number')
  try {
    checkKeySpec({ type: privateKeyType, bits: privateKeyBits })
  } catch (error) {
    throw new CaBadConfigError((error as Error).message)
  }
  const resolved: ResolvedCaConfig = { leafCertTtlMs, intermediateCertTtlMs, rootCertTtlMs, privateKeyType, privateKeyBits }
  const hasCert = config.RootCert !== undefined && config.RootCert !== ''
  const hasKey = config.PrivateKey !== undefined && config.PrivateKey !== ''
  if (hasCert !== hasKey) throw new CaBadConfigError('RootCert and PrivateKey must be given together')
  if (hasCert && hasKey) {
    if (typeof config.RootCert !== 'string' || typeof config.PrivateKey !== 'string') throw new CaBadConfigError('RootCert and PrivateKey must be PEM strings')
    try {
      const issuer = createIssuer(config.RootCert, config.PrivateKey)
      if (!new X509Certificate(config.RootCert).ca) throw new CaBadConfigError('RootCert is not a CA certificate (basicConstraints cA=true)')
      if (issuer.signer.spec.type !== privateKeyType || issuer.signer.spec.bits !== privateKeyBits) {
        throw new CaBadConfigError(`the supplied PrivateKey is ${issuer.signer.spec.type} ${issuer.signer.spec.bits}, but PrivateKeyType/PrivateKeyBits say ${privateKeyType} ${privateKeyBits}`)
      }
    } catch (error) {
      if (error instanceof CaBadConfigError) throw error
      throw new CaBadConfigError(error instanceof CaError ? error.message : String(error))
    }
    resolved.suppliedRoot = { certPem: config.RootCert, privateKeyPem: config.PrivateKey }
  }
  return resolved
}

/** The Config body to store and to show: durations formatted, no key material. */
export function configBody (config: ResolvedCaConfig): CaConfigBody {
  return {
    LeafCertTTL: formatDuration(config.leafCertTtlMs),
    IntermediateCertTTL: formatDuration(config.intermediateCertTtlMs),
    RootCertTTL: formatDuration(config.rootCertTtlMs),
    PrivateKeyType: config.privateKeyType,
    PrivateKeyBits: config.privateKeyBits,
  }
}
