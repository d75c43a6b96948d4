// Alias check: mirrors the health of another service registered on this agent (a sidecar proxy
// is healthy only while the service it fronts is). It re-evaluates whenever the local state
// changes, watching the catalog's modify index rather than polling.
//
// Status rules (Consul's CheckAlias, local node only): among the aliased service's checks and the
// node's own checks, any critical makes it critical, else any warning makes it warning, else it
// is passing ("All checks passing." or "No checks found." when there are none); when the aliased
// service is not registered at all it is critical.

import type { CheckComponents, CheckStatus, RunningCheck } from './types.ts'

/** The slice of the local catalog an alias check reads. */
export interface AliasSource {
  localChecks (): Array<{ CheckID: string, Name: string, Status: string, Output: string, ServiceID: string }>
  localService (id: string): unknown
  readonly index: number
  waitForIndex (minIndex: number, options: { timeoutMs: number, signal?: AbortSignal }): Promise<number>
}

export interface AliasCheckInit {
  checkId: string
  aliasServiceId: string
  nodeName?: string
}

/** Pure status rule, exported for table tests. */
export function aliasStatus (
  selfCheckId: string,
  aliasServiceId: string,
  checks: ReturnType<AliasSource['localChecks']>,
  serviceExists: boolean,
  nodeName = 'local'
): { status: CheckStatus, output: string } {
  let status: CheckStatus = 'passing'
  let output = 'No checks found.'
  for (const check of checks) {
    if (check.CheckID === selfCheckId) continue
    if (check.ServiceID !== '' && check.ServiceID !== aliasServiceId) continue
    if (check.Status === 'critical' || check.Status === 'warning' || check.Status === 'maintenance') {
      const failing: CheckStatus = check.Status === 'warning' ? 'warning' : 'critical'
      if (status !== 'critical') {
        status = failing
        output = `Aliased check "${check.Name}" failing: ${check.Output}`
      }
    } else if (status === 'passing') {
      output = 'All checks passing.'
    }
  }
  if (!serviceExists) {
    return { status: 'critical', output: `Service ${aliasServiceId} could not be found on node ${nodeName}` }
  }
  return { status, output }
}

/** How long one wait on the catalog index lasts before re-arming; only bounds idle waits. */
const WATCH_WAIT_MS = 5 * 60_000

export class AliasCheck implements RunningCheck {
  readonly checkId: string
  private readonly aliasServiceId: string
  private readonly nodeName: string
  private readonly source: AliasSource
  private readonly components: CheckComponents
  private controller: AbortController | undefined

  constructor (init: AliasCheckInit, source: AliasSource, components: CheckComponents) {
    this.checkId = init.checkId
    this.aliasServiceId = init.aliasServiceId
    this.nodeName = init.nodeName ?? 'local'
    this.source = source
    this.components = components
  }

  start (): void {
    if (this.controller !== undefined) return
    const controller = new AbortController()
    this.controller = controller
    void this.watch(controller.signal)
  }

  stop (): void {
    this.controller?.abort()
    this.controller = undefined
  }

  /** Evaluates once against the current local state and reports. */
  evaluate (): void {
    const result = aliasStatus(this.checkId, this.aliasServiceId, this.source.localChecks(),
      this.source.localService(this.aliasServiceId) !== undefined, this.nodeName)
    this.components.notifier.update(this.checkId, result.status, result.output)
  }

  private async watch (signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const index = this.source.index
      this.evaluate()
      try {
        await this.source.waitForIndex(index, { timeoutMs: WATCH_WAIT_MS, signal })
      } catch (error) {
        this.components.log.warn({ err: error, checkId: this.checkId }, 'alias check watch failed')
        return
      }
    }
  }
}
