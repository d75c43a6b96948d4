// The cluster-size-dependent timing formulas of the protocol, as pure functions (memberlist's
// util.go): suspicion floor, retransmit limit and push-pull scaling. docs/membership.md derives them.

/** Suspicion minimum: suspicionMult × max(1, log10(N)) × probeIntervalMs, whole ms. */
export function suspicionMinMs (suspicionMult: number, memberCount: number, probeIntervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, memberCount)))
  return Math.floor(suspicionMult * nodeScale * probeIntervalMs)
}

/** How many times each broadcast is sent: retransmitMult × ceil(log10(N + 1)). */
export function retransmitLimit (retransmitMult: number, memberCount: number): number {
  return retransmitMult * Math.ceil(Math.log10(memberCount + 1))
}

const PUSH_PULL_SCALE_THRESHOLD = 32

/** Push-pull period grows by one base interval per doubling of the cluster above 32 members. */
export function pushPullIntervalMs (baseIntervalMs: number, memberCount: number): number {
  if (memberCount <= PUSH_PULL_SCALE_THRESHOLD) return baseIntervalMs
  const multiplier = Math.ceil(Math.log2(memberCount) - Math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1
  return multiplier * baseIntervalMs
}
