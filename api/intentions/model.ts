// The intention record and its precedence, as Consul's HTTP API shapes them (PascalCase), limited to
// the default namespace and partition. Everything here is plain JSON data plus the pure ordering
// rules every other file of api/intentions/ shares.

export type IntentionAction = 'allow' | 'deny'

/** What happens when no intention matches: the agent's `default_policy` (deny; allow in --dev). */
export type DefaultPolicy = 'allow' | 'deny'

/** The wildcard that stands for "any service" in SourceName or DestinationName. */
export const WILDCARD = '*'

export interface HeaderPermission {
  Name: string
  /** Exactly one of Present, Exact, Prefix, Suffix, Regex. */
  Present?: boolean
  Exact?: string
  Prefix?: string
  Suffix?: string
  Regex?: string
  /** Inverts the result, as Envoy's invert_match (an absent header only matches `Present` + `Invert`). */
  Invert?: boolean
}

export interface HttpPermission {
  /** At most one of PathExact, PathPrefix, PathRegex. */
  PathExact?: string
  PathPrefix?: string
  PathRegex?: string
  Header?: HeaderPermission[]
  /** Upper-case HTTP methods; empty or absent means any method. */
  Methods?: string[]
}

export interface IntentionPermission {
  Action: IntentionAction
  HTTP: HttpPermission
}

export interface Intention {
  /** UUID kept for clients of Consul's legacy ID-based API. */
  ID: string
  SourceName: string
  DestinationName: string
  SourceType: 'consul'
  /** L4 intention: exactly one of Action and Permissions is set. */
  Action?: IntentionAction
  /** L7 intention: evaluated in order per HTTP request, the first match is terminal. */
  Permissions?: IntentionPermission[]
  /** Derived from the names (see `precedenceOf`); recomputed on every write, never trusted from input. */
  Precedence: number
  Description: string
  Meta: Record<string, string>
  /** RFC 3339 timestamps. */
  CreatedAt: string
  UpdatedAt: string
}

/**
 * Consul's precedence table restricted to the default namespace: exact→exact 9, *→exact 8,
 * exact→* 6, *→* 5. The gaps (7, 4, 3...) belong to wildcard namespaces, which mesh does not have,
 * and are kept so numbers match what Consul clients display.
 */
export function precedenceOf (sourceName: string, destinationName: string): number {
  const destinationMax = destinationName === WILDCARD ? 6 : 9
  return sourceName === WILDCARD ? destinationMax - 1 : destinationMax
}

/** Key of an intention in the catalog's cluster-wide entries of kind 'intention'. */
export function intentionKey (sourceName: string, destinationName: string): string {
  return `${sourceName}/${destinationName}`
}

/** An intention with Permissions is decided per request (L7); one with Action per connection (L4). */
export function isL7 (intention: Intention): boolean {
  return intention.Permissions !== undefined && intention.Permissions.length > 0
}

/** Deny sorts before allow and L7 at equal precedence, so a tie can never open access. */
function denyRank (intention: Intention): number {
  return intention.Action === 'deny' ? 0 : 1
}

/**
 * Evaluation order: higher precedence first; at equal precedence deny first; then by names so the
 * order (and what /match lists) is deterministic.
 */
export function comparePrecedence (a: Intention, b: Intention): number {
  if (a.Precedence !== b.Precedence) return b.Precedence - a.Precedence
  const rank = denyRank(a) - denyRank(b)
  if (rank !== 0) return rank
  if (a.SourceName !== b.SourceName) return a.SourceName < b.SourceName ? -1 : 1
  if (a.DestinationName !== b.DestinationName) return a.DestinationName < b.DestinationName ? -1 : 1
  return 0
}

/** Consul's `Intention.String()` form, used in decision reasons. */
export function describeIntention (intention: Intention): string {
  return `${intention.SourceName} => ${intention.DestinationName} (ID: ${intention.ID}, Precedence: ${intention.Precedence})`
}
