// The aggregated health of a service instance, as Consul's /v1/agent/health/service endpoints
// report it: the worst status among its checks (maintenance, then critical, then warning, then
// passing; no checks is passing; a maintenance-mode check counts as maintenance), and the HTTP
// status that carries it so load balancers can probe the agent instead of the app.

import type { CheckRecord, HealthStatus } from '../../api/catalog-types.ts'
import { isMaintenanceCheck } from './maintenance.ts'

const SEVERITY: Record<HealthStatus, number> = { passing: 0, warning: 1, critical: 2, maintenance: 3 }

/** Maintenance checks (stored critical, as Consul's) count as maintenance. */
export function aggregateStatus (checks: Array<Pick<CheckRecord, 'Status'> & Partial<Pick<CheckRecord, 'CheckID'>>>): HealthStatus {
  let worst: HealthStatus = 'passing'
  for (const check of checks) {
    const status = check.CheckID !== undefined && isMaintenanceCheck({ CheckID: check.CheckID }) ? 'maintenance' : check.Status
    if (SEVERITY[status] > SEVERITY[worst]) worst = status
  }
  return worst
}

/** 200 passing, 429 warning, 503 critical or maintenance. */
export function httpCodeForStatus (status: HealthStatus): number {
  if (status === 'passing') return 200
  if (status === 'warning') return 429
  return 503
}
