// Which services to deregister because a check with DeregisterCriticalServiceAfter has been
// critical for that long (Consul's reapServices). Pure: the check manager feeds it the critical
// times it tracks and runs it on a timer; the timeout is raised to a minimum (1 min by default,
// Consul's check_deregister_interval_min) so a typo cannot deregister a service that merely
// restarts.

export interface ReapCandidate {
  checkId: string
  serviceId: string
  deregisterCriticalServiceAfterMs?: number
  /** When the check last turned critical; undefined while it is not critical. */
  criticalSinceMs?: number
}

export const DEFAULT_DEREGISTER_CRITICAL_MIN_MS = 60_000
export const DEFAULT_REAP_INTERVAL_MS = 30_000

export function servicesToReap (candidates: ReapCandidate[], nowMs: number, minimumMs = DEFAULT_DEREGISTER_CRITICAL_MIN_MS): string[] {
  const reaped = new Set<string>()
  for (const candidate of candidates) {
    if (candidate.serviceId === '' || candidate.criticalSinceMs === undefined) continue
    const afterMs = candidate.deregisterCriticalServiceAfterMs
    if (afterMs === undefined || afterMs <= 0) continue
    if (nowMs - candidate.criticalSinceMs >= Math.max(afterMs, minimumMs)) reaped.add(candidate.serviceId)
  }
  return [...reaped]
}
