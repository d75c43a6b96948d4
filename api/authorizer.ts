// The authorization contract between the intentions (which decide) and the proxy (which enforces):
// the proxy hands each connection or request to an `Authorizer` and acts on its decision. Plain
// types, so the intentions code, the agent and the proxy share them without importing each other.

export interface AuthorizeRequest {
  /** SPIFFE URI SAN of the caller's client certificate. */
  sourceSpiffeId: string
  /** Caller service name parsed from the SPIFFE ID. */
  sourceService: string
  /** Absent for an L4 (connection) decision. */
  http?: { method: string, path: string, headers: Record<string, string | string[] | undefined> }
}

export interface AuthorizeDecision {
  allowed: boolean
  /** Human-readable reason, returned in 403 bodies and logs. */
  reason: string
}

/** Intention evaluation for this proxy's destination service; pure and cached by the caller. */
export type Authorizer = (request: AuthorizeRequest) => AuthorizeDecision
