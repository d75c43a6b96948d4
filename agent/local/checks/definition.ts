// The normalised definition of a check: what agent/local produces from Consul's registration
// payloads and what the catalog keeps in LocalCheck.Definition so the agent can re-run the check
// after a restart. Durations are milliseconds. `parseCheckSpec` re-validates a persisted record,
// since anything read back from disk is input like any other.

import { InvalidCheckDefinitionError } from './errors.ts'
import { isRecord } from '../../../api/guards.ts'

export type CheckType = 'http' | 'tcp' | 'ttl' | 'grpc' | 'script' | 'alias'

interface CommonSpec {
  SuccessBeforePassing?: number
  FailuresBeforeCritical?: number
  FailuresBeforeWarning?: number
  /** Deregister the check's service once this check has been critical this long. */
  DeregisterCriticalServiceAfterMs?: number
}

interface IntervalSpec extends CommonSpec {
  IntervalMs: number
  /** Per-round timeout; each type has its default (10 s, script 30 s). */
  TimeoutMs?: number
}

export interface HttpCheckSpec extends IntervalSpec {
  Type: 'http'
  HTTP: string
  Method: string
  Header: Record<string, string[]>
  Body: string
  TLSSkipVerify: boolean
  TLSServerName: string
}

export interface TcpCheckSpec extends IntervalSpec {
  Type: 'tcp'
  TCP: string
}

export interface GrpcCheckSpec extends IntervalSpec {
  Type: 'grpc'
  GRPC: string
  GRPCUseTLS: boolean
  TLSSkipVerify: boolean
  TLSServerName: string
}

export interface ScriptCheckSpec extends IntervalSpec {
  Type: 'script'
  Args: string[]
}

export interface TtlCheckSpec extends CommonSpec {
  Type: 'ttl'
  TTLMs: number
}

export interface AliasCheckSpec extends CommonSpec {
  Type: 'alias'
  AliasService: string
  /** Only the local node is supported; kept for Consul compatibility of the payload. */
  AliasNode: string
}

export type CheckSpec = HttpCheckSpec | TcpCheckSpec | GrpcCheckSpec | ScriptCheckSpec | TtlCheckSpec | AliasCheckSpec

function expect (record: Record<string, unknown>, field: string, type: 'string' | 'number' | 'boolean', optional = false): void {
  const value = record[field]
  if (value === undefined && optional) return
  if (typeof value !== type || (type === 'number' && !(Number.isFinite(value) && (value as number) >= 0))) {
    throw new InvalidCheckDefinitionError(`${field} must be a ${type}`)
  }
}

/** Validates a persisted definition; throws InvalidCheckDefinitionError naming the bad field. */
export function parseCheckSpec (value: unknown): CheckSpec {
  if (!isRecord(value)) throw new InvalidCheckDefinitionError('not an object')
  for (const field of ['SuccessBeforePassing', 'FailuresBeforeCritical', 'FailuresBeforeWarning', 'DeregisterCriticalServiceAfterMs']) {
    expect(value, field, 'number', true)
  }
  switch (value.Type) {
    case 'http':
    case 'tcp':
    case 'grpc':
    case 'script':
      expect(value, 'IntervalMs', 'number')
      expect(value, 'TimeoutMs', 'number', true)
      break
    case 'ttl':
      expect(value, 'TTLMs', 'number')
      break
    case 'alias':
      expect(value, 'AliasService', 'string')
      expect(value, 'AliasNode', 'string')
      break
    default:
      throw new InvalidCheckDefinitionError(`unknown Type ${JSON.stringify(value.Type)}`)
  }
  if (value.Type === 'http') {
    for (const field of ['HTTP', 'Method', 'Body', 'TLSServerName']) expect(value, field, 'string')
    expect(value, 'TLSSkipVerify', 'boolean')
    const header = value.Header
    if (!isRecord(header) || !Object.values(header).every(values => Array.isArray(values) && values.every(item => typeof item === 'string'))) {
      throw new InvalidCheckDefinitionError('Header must map names to arrays of strings')
    }
  } else if (value.Type === 'tcp') {
    expect(value, 'TCP', 'string')
  } else if (value.Type === 'grpc') {
    expect(value, 'GRPC', 'string')
    expect(value, 'TLSServerName', 'string')
    expect(value, 'GRPCUseTLS', 'boolean')
    expect(value, 'TLSSkipVerify', 'boolean')
  } else if (value.Type === 'script') {
    const args = value.Args
    if (!Array.isArray(args) || args.length === 0 || !args.every(item => typeof item === 'string')) {
      throw new InvalidCheckDefinitionError('Args must be a non-empty array of strings')
    }
  }
  return value as unknown as CheckSpec
}
