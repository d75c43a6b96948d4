// Traffic split between versions (canary): each request draws a subset by the legs' weights and
// the balancer then only picks endpoints of that subset. The split is read per request, so an
// update that shifts weights applies to the very next request and no request is dropped.

import type { Cell, Layer } from '../handler.ts'
import type { SplitLeg } from '../snapshot.ts'

export interface SplitInit {
  split: Cell<SplitLeg[] | undefined>
  random: () => number
}

/**
 * The subset a draw `r` in [0, 1) lands on; null (any endpoint) when there is nothing to split or
 * the leg names no subset, as a Consul split without ServiceSubset goes to the whole service.
 */
export function chooseSubset (legs: SplitLeg[] | undefined, r: number): string | null {
  if (legs === undefined || legs.length === 0) return null
  let total = 0
  for (const leg of legs) total += Math.max(0, leg.weight)
  if (total <= 0) return null
  let point = r * total
  for (const leg of legs) {
    const weight = Math.max(0, leg.weight)
    if (point < weight) return leg.subset === '' ? null : leg.subset
    point -= weight
  }
  const last = legs[legs.length - 1]!.subset
  return last === '' ? null : last
}

export function splitLayer (init: SplitInit): Layer {
  return (next) => (request) => {
    const legs = init.split.current
    if (legs !== undefined && legs.length > 0) request.subset = chooseSubset(legs, init.random())
    return next(request)
  }
}
