// Consul's blocking queries: `?index=N&wait=D` holds the request until the local modify index moves
// past N or `wait` elapses (default 5 min, at most 10 min, plus up to wait/16 of jitter so many
// watchers do not all wake at once), then answers with the current state and `X-Consul-Index`.
// An index lower than the one asked for (a reset) answers at once, as Consul does.

import type { FastifyReply, FastifyRequest } from 'fastify'
import { parseDurationMs } from '../../api/duration.ts'
import { badRequest } from './errors.ts'

export interface BlockingSource {
  /** Current local modify index; always ≥ 1. */
  readonly index: number
  /** Resolves with the index once it is > minIndex, or with the current index when timeoutMs passes or signal aborts. */
  waitForIndex (minIndex: number, options: { timeoutMs: number, signal?: AbortSignal }): Promise<number>
}

export const DEFAULT_WAIT_MS = 5 * 60_000
export const MAX_WAIT_MS = 10 * 60_000

export interface BlockingParams { index: number | undefined, waitMs: number }

export function parseBlockingParams (query: Record<string, unknown>): BlockingParams {
  let index: number | undefined
  if (query.index !== undefined && query.index !== '') {
    const text = String(query.index)
    if (!/^\d{1,16}$/.test(text)) throw badRequest(`invalid index "${text}": expected a non-negative integer`)
    index = Number(text)
  }
  let waitMs = DEFAULT_WAIT_MS
  if (query.wait !== undefined && query.wait !== '') {
    try {
      waitMs = parseDurationMs(String(query.wait))
    } catch (error) {
      throw badRequest(`invalid wait: ${(error as Error).message}`)
    }
  }
  return { index, waitMs: Math.min(waitMs, MAX_WAIT_MS) }
}

/**
 * Waits as the request's `index`/`wait` say, then sets Consul's index headers. Call it before
 * reading the state to answer with. `random` is injectable for tests.
 */
export async function waitForBlocking (
  request: FastifyRequest,
  reply: FastifyReply,
  source: BlockingSource,
  random: () => number = Math.random
): Promise<number> {
  const { index, waitMs } = parseBlockingParams(request.query as Record<string, unknown>)
  let current = Math.max(1, source.index)
  if (index !== undefined && index > 0 && current <= index) {
    const controller = new AbortController()
    const onClose = (): void => controller.abort()
    request.raw.once('close', onClose)
    try {
      const jitterMs = random() * (waitMs / 16)
      current = Math.max(1, await source.waitForIndex(index, { timeoutMs: waitMs + jitterMs, signal: controller.signal }))
    } finally {
      request.raw.off('close', onClose)
    }
  }
  reply.header('X-Consul-Index', String(current))
  reply.header('X-Consul-KnownLeader', 'true')
  reply.header('X-Consul-LastContact', '0')
  return current
}

/**
 * One blocking source over two: its index is the sum of theirs, so it moves whenever either does
 * (both only grow). For an answer built from two states, such as a sidecar's snapshot from the
 * catalog and its leaf certificate.
 */
export function combinedSource (first: BlockingSource, second: BlockingSource): BlockingSource {
  return {
    get index () { return first.index + second.index },
    async waitForIndex (minIndex, options) {
      const settled = new AbortController()
      const signal = options.signal === undefined ? settled.signal : AbortSignal.any([options.signal, settled.signal])
      try {
        await Promise.race([
          first.waitForIndex(minIndex - second.index, { timeoutMs: options.timeoutMs, signal }),
          second.waitForIndex(minIndex - first.index, { timeoutMs: options.timeoutMs, signal }),
        ])
      } finally {
        settled.abort()
      }
      return first.index + second.index
    },
  }
}
