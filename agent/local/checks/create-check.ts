// Builds the running check for a normalised definition: the one place that maps a check type to
// its runner and applies each type's default timeout.

import { AliasCheck } from './alias-check.ts'
import type { AliasSource } from './alias-check.ts'
import { GrpcProbe, DEFAULT_GRPC_TIMEOUT_MS } from './grpc-check.ts'
import { HttpProbe, DEFAULT_HTTP_TIMEOUT_MS } from './http-check.ts'
import { IntervalCheck } from './interval-check.ts'
import { ScriptProbe, DEFAULT_SCRIPT_TIMEOUT_MS } from './script-check.ts'
import { TcpProbe, DEFAULT_TCP_TIMEOUT_MS } from './tcp-check.ts'
import { TtlCheck } from './ttl-check.ts'
import type { CheckSpec } from './definition.ts'
import type { StatusThresholds } from './status-handler.ts'
import type { CheckComponents, CheckProbe, RunningCheck } from './types.ts'

export interface CreateCheckContext extends CheckComponents {
  /** Needed by alias checks only. */
  aliasSource?: AliasSource
  nodeName?: string
}

function thresholdsOf (spec: CheckSpec): StatusThresholds {
  return {
    successBeforePassing: spec.SuccessBeforePassing,
    failuresBeforeCritical: spec.FailuresBeforeCritical,
    failuresBeforeWarning: spec.FailuresBeforeWarning,
  }
}

export function createCheck (checkId: string, spec: CheckSpec, context: CreateCheckContext): RunningCheck {
  const thresholds = thresholdsOf(spec)
  if (spec.Type === 'ttl') return new TtlCheck({ checkId, ttlMs: spec.TTLMs, thresholds }, context)
  if (spec.Type === 'alias') {
    if (context.aliasSource === undefined) throw new Error('alias checks need an aliasSource')
    return new AliasCheck({ checkId, aliasServiceId: spec.AliasService, nodeName: context.nodeName }, context.aliasSource, context)
  }
  let probe: CheckProbe
  let defaultTimeoutMs: number
  switch (spec.Type) {
    case 'http':
      probe = new HttpProbe({
        url: spec.HTTP, method: spec.Method, header: spec.Header, body: spec.Body,
        tlsSkipVerify: spec.TLSSkipVerify, tlsServerName: spec.TLSServerName,
      })
      defaultTimeoutMs = DEFAULT_HTTP_TIMEOUT_MS
      break
    case 'tcp':
      probe = new TcpProbe(spec.TCP)
      defaultTimeoutMs = DEFAULT_TCP_TIMEOUT_MS
      break
    case 'grpc':
      probe = new GrpcProbe({ target: spec.GRPC, useTls: spec.GRPCUseTLS, tlsSkipVerify: spec.TLSSkipVerify, tlsServerName: spec.TLSServerName })
      defaultTimeoutMs = DEFAULT_GRPC_TIMEOUT_MS
      break
    case 'script':
      probe = new ScriptProbe(spec.Args)
      defaultTimeoutMs = DEFAULT_SCRIPT_TIMEOUT_MS
      break
  }
  const timeoutMs = spec.TimeoutMs !== undefined && spec.TimeoutMs > 0 ? spec.TimeoutMs : defaultTimeoutMs
  return new IntervalCheck({ checkId, intervalMs: spec.IntervalMs, timeoutMs, probe, thresholds }, context)
}
