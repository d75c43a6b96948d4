// Rate limits per service, per consumer and per path prefix, as token buckets: a request over
// any matching limit is answered 429 without reaching the application. Buckets are keyed by the
// rule's content, so an update that keeps a rule keeps its bucket and a changed rule starts full.

import { RateLimitedError } from '../errors.ts'
import type { Clock } from '../../api/clock.ts'
import type { Cell, Layer } from '../handler.ts'
import type { RateLimit } from '../snapshot.ts'
import { TokenBucket } from '../../api/token-bucket.ts'

export interface RateLimitInit {
  limits: Cell<RateLimit[] | undefined>
  clock: Pick<Clock, 'nowMs'>
  /** Upper bound on buckets kept (consumers × rules); the map restarts when it is reached. */
  maxBuckets?: number
}

export function rateLimitLayer (init: RateLimitInit): Layer {
  const buckets = new Map<string, TokenBucket>()
  const maxBuckets = init.maxBuckets ?? 10_000
  return (next) => (request) => {
    const limits = init.limits.current
    if (limits === undefined || limits.length === 0) return next(request)
    const nowMs = init.clock.nowMs()
    for (const limit of limits) {
      if (limit.pathPrefix !== undefined && !request.path.startsWith(limit.pathPrefix)) continue
      if (limit.scope === 'consumer' && limit.consumer !== undefined && limit.consumer !== request.source.service) continue
      const owner = limit.scope === 'consumer' ? request.source.service : ''
      const key = `${limit.scope}|${limit.pathPrefix ?? ''}|${limit.consumer ?? ''}|${limit.requestsPerSecond}|${limit.burst}|${owner}`
      let bucket = buckets.get(key)
      if (bucket === undefined) {
        if (buckets.size >= maxBuckets) buckets.clear()
        bucket = new TokenBucket(limit.requestsPerSecond, limit.burst, nowMs)
        buckets.set(key, bucket)
      }
      if (!bucket.tryTake(nowMs)) {
        const who = limit.scope === 'consumer' ? ` for ${request.source.service}` : limit.scope === 'path' ? ` on ${limit.pathPrefix ?? '/'}` : ''
        return Promise.reject(new RateLimitedError(`rate limit of ${limit.requestsPerSecond} requests/s${who} exceeded`))
      }
    }
    return next(request)
  }
}
