// Fault injection for resilience testing: per matching rule, delay `delayPercent` % of requests
// by `delayMs` and abort `abortPercent` % with `abortStatusCode`, as Envoy's fault filter.
// Percentages are drawn from the injected random source so tests choose the outcome.

import { FaultAbortError } from '../errors.ts'
import type { Clock } from '../../api/clock.ts'
import type { Cell, Layer, ProxyRequest } from '../handler.ts'
import type { FaultInjection } from '../snapshot.ts'

export interface FaultInit {
  faults: Cell<FaultInjection[] | undefined>
  clock: Pick<Clock, 'setTimer'>
  random: () => number
}

export function faultLayer (init: FaultInit): Layer {
  return (next) => (request) => {
    const faults = init.faults.current
    // No async frame (and its extra promise) for the common case of no faults configured.
    if (faults === undefined || faults.length === 0) return next(request)
    return inject(faults, init, request).then(() => next(request))
  }
}

async function inject (faults: FaultInjection[], init: FaultInit, request: ProxyRequest): Promise<void> {
  for (const fault of faults) {
    if (fault.pathPrefix !== undefined && !request.path.startsWith(fault.pathPrefix)) continue
    if (fault.abortStatusCode !== undefined && init.random() * 100 < (fault.abortPercent ?? 100)) {
      throw new FaultAbortError(fault.abortStatusCode, `fault injected: abort with ${fault.abortStatusCode}`)
    }
    if (fault.delayMs !== undefined && fault.delayMs > 0 && init.random() * 100 < (fault.delayPercent ?? 100)) {
      await new Promise<void>((resolve) => { init.clock.setTimer(resolve, fault.delayMs!) })
    }
  }
}
