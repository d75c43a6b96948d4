// Intention evaluation, a pure function: which intention governs a (source, destination) pair and
// what it decides for a connection (L4) or for one HTTP request (L7).
//
// Algorithm (Consul's, as its Envoy RBAC generator and its authorize endpoint implement it):
// 1. The intentions whose SourceName is the source or `*` and whose DestinationName is the
//    destination or `*` match; sort them by precedence (exact→exact 9, *→exact 8, exact→* 6,
//    *→* 5), deny first at equal precedence. Only the first one governs the pair: lower ones are
//    never consulted for this source, at L4 or at L7.
// 2. No match: the default policy decides.
// 3. An L4 intention (Action) decides connections and every request on them alike, so a deny
//    intention is enforced on HTTP services too.
// 4. An L7 intention (Permissions) admits the connection (the decision moves to each request),
//    unless the destination speaks plain TCP, where no request will ever be seen and Consul treats
//    the intention as deny. Per request, permissions are tried in order and the first that matches
//    decides; when none matches, the default policy decides (Consul: "a default catch-all based
//    on the default ACL policy will apply to unmatched connections and requests"). Deny
//    permissions are therefore enforced whatever the default policy (unlike Consul 1.10.0,
//    hashicorp/consul#10536, CVE-2021-36213), and a request whose path cannot be normalised is
//    denied.

import { normalizeRequest, compileHttpPermission } from './match.ts'
import type { HttpRequestInfo, PermissionPredicate } from './match.ts'
import { WILDCARD, comparePrecedence, describeIntention, isL7 } from './model.ts'
import type { DefaultPolicy, Intention } from './model.ts'

export interface Decision {
  allowed: boolean
  /** Human-readable, in Consul's words where Consul has them ("Matched L4 intention: ..."). */
  reason: string
  /** The intention that governed the decision; absent when the default policy decided. */
  matched?: Intention
  /** Index of the permission that decided an L7 request, if one did. */
  permissionIndex?: number
}

/** Protocol of the destination: L7 intentions cannot be enforced on 'tcp' and then deny. */
export type DestinationProtocol = 'tcp' | 'http' | 'http2' | 'grpc'

/**
 * An intention with its permissions compiled and every decision it can produce built once, frozen,
 * so deciding a connection or a request allocates nothing (the cached path's throughput).
 */
export interface CompiledIntention {
  intention: Intention
  /** One predicate per permission, in order; empty for an L4 intention. */
  permissions: PermissionPredicate[]
  /** L4 intention: its decision. L7: admits the connection. */
  connection: Decision
  /** L7 intention on a tcp destination: deny. For L4, `connection`. */
  tcpConnection: Decision
  /** L7: decision when permission i matches. Empty for L4. */
  permissionDecisions: Decision[]
  /** L7: decision when no permission matches, per default policy. For L4, `connection`. */
  unmatched: Record<DefaultPolicy, Decision>
  /** L7: decision for a request whose path cannot be normalised. For L4, `connection`. */
  malformed: Decision
}

export function compileIntention (intention: Intention): CompiledIntention {
  const permissions = (intention.Permissions ?? []).map((permission, index) =>
    compileHttpPermission(permission.HTTP, `Permissions[${index}].HTTP`))
  const described = describeIntention(intention)
  const make = (allowed: boolean, reason: string, permissionIndex?: number): Decision =>
    Object.freeze(permissionIndex === undefined ? { allowed, reason, matched: intention } : { allowed, reason, matched: intention, permissionIndex })
  if (!isL7(intention)) {
    // An L4 intention decides every request on the connection the same way.
    const connection = make(intention.Action === 'allow', `Matched L4 intention: ${described}`)
    return { intention, permissions, connection, tcpConnection: connection, permissionDecisions: [], unmatched: { allow: connection, deny: connection }, malformed: connection }
  }
  return {
    intention,
    permissions,
    connection: make(true, `Matched L7 intention: ${described}; each request is authorized on its own`),
    tcpConnection: make(false, `Matched L7 intention: ${described}; it cannot be enforced on a tcp destination, so it denies`),
    permissionDecisions: intention.Permissions!.map((permission, index) =>
      make(permission.Action === 'allow', `Matched L7 intention: ${described}; permission ${index} (${permission.Action})`, index)),
    unmatched: {
      allow: make(true, `Matched L7 intention: ${described}; no permission matches the request, default policy is allow`),
      deny: make(false, `Matched L7 intention: ${described}; no permission matches the request, default policy is deny`),
    },
    malformed: make(false, `Matched L7 intention: ${described}; request path is malformed`),
  }
}

/** True when `intention` applies to traffic from `source` to `destination`. */
export function intentionMatches (intention: Intention, source: string, destination: string): boolean {
  return (intention.SourceName === source || intention.SourceName === WILDCARD) &&
    (intention.DestinationName === destination || intention.DestinationName === WILDCARD)
}

/** The intentions that apply to the pair, in evaluation order (the first governs). */
export function matchingIntentions (intentions: readonly Intention[], source: string, destination: string): Intention[] {
  return intentions.filter((intention) => intentionMatches(intention, source, destination)).sort(comparePrecedence)
}

const DEFAULT_DECISIONS: Record<DefaultPolicy, Decision> = {
  allow: Object.freeze({ allowed: true, reason: 'Default behavior: no intention matches, default policy is allow' }),
  deny: Object.freeze({ allowed: false, reason: 'Default behavior: no intention matches, default policy is deny' }),
}

/**
 * Decides with the governing intention already found (undefined when none matched). Shared by the
 * pure `evaluate` and the cached IntentionStore so both always agree. Returned decisions are frozen.
 */
export function decide (
  governing: CompiledIntention | undefined,
  defaultPolicy: DefaultPolicy,
  http?: HttpRequestInfo,
  protocol: DestinationProtocol = 'http'
): Decision {
  if (governing === undefined) return DEFAULT_DECISIONS[defaultPolicy]
  if (governing.permissions.length === 0) return governing.connection
  if (protocol === 'tcp') return governing.tcpConnection
  if (http === undefined) return governing.connection
  const request = normalizeRequest(http)
  if (request === undefined) return governing.malformed
  const { permissions } = governing
  for (let index = 0; index < permissions.length; index++) {
    if (permissions[index](request)) return governing.permissionDecisions[index]
  }
  return governing.unmatched[defaultPolicy]
}

/**
 * Evaluates the intentions for traffic from `source` to `destination`: a connection when `http` is
 * absent, one request otherwise. Pure: compiles what it needs on every call (IntentionStore caches).
 */
export function evaluate (
  intentions: readonly Intention[],
  source: string,
  destination: string,
  defaultPolicy: DefaultPolicy,
  http?: HttpRequestInfo,
  protocol: DestinationProtocol = 'http'
): Decision {
  const governing = matchingIntentions(intentions, source, destination)[0]
  return decide(governing === undefined ? undefined : compileIntention(governing), defaultPolicy, http, protocol)
}
