// Distributed tracing without a collector: W3C trace context (`traceparent`) is propagated
// across hops, each hop gets a new span id, and finished spans are kept in a bounded in-memory
// ring that Sidecar.traces() exposes (oldest dropped first), so tracing costs no I/O.

import { randomFillSync } from 'node:crypto'
import type { Direction, TraceContext } from './handler.ts'

export interface Span {
  traceId: string
  spanId: string
  parentSpanId: string | null
  /** `inbound web` / `outbound api`. */
  name: string
  direction: Direction
  source: string
  destination: string
  method: string
  path: string
  statusCode: number
  /** Outbound through a service-router: the route's position in its Routes (the default route is last). */
  route?: number
  /** Wall-clock start, milliseconds since the epoch. */
  startEpochMs: number
  durationMs: number
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/
const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)

/** Parses a version-00 traceparent; null when absent or invalid (a new trace then starts). */
export function parseTraceparent (value: string | string[] | undefined): { traceId: string, parentSpanId: string, sampled: boolean } | null {
  if (typeof value !== 'string') return null
  const match = TRACEPARENT.exec(value.trim())
  if (match === null || match[1] === ZERO_TRACE || match[2] === ZERO_SPAN) return null
  return { traceId: match[1]!, parentSpanId: match[2]!, sampled: (parseInt(match[3]!, 16) & 1) === 1 }
}

export function formatTraceparent (context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.sampled ? '01' : '00'}`
}

/** Random hex ids drawn from a refilled buffer: one getrandom call per 256 ids, not per id. */
export class IdSource {
  private readonly buffer = Buffer.alloc(4096)
  private offset = this.buffer.length

  hex (bytes: number): string {
    if (this.offset + bytes > this.buffer.length) {
      randomFillSync(this.buffer)
      this.offset = 0
    }
    const id = this.buffer.toString('hex', this.offset, this.offset + bytes)
    this.offset += bytes
    return id
  }
}

/**
 * Finished spans in preallocated columns, one slot per span: recording one writes twelve array
 * slots and allocates nothing, so a span does not live on as an object in the old generation
 * until the ring wraps. Span objects are made only when list() is called.
 */
export class SpanRing {
  private readonly capacity: number
  private readonly traceIds: string[]
  private readonly spanIds: string[]
  private readonly parentSpanIds: Array<string | null>
  private readonly directions: Direction[]
  private readonly sources: string[]
  private readonly destinations: string[]
  private readonly methods: string[]
  private readonly paths: string[]
  private readonly statusCodes: Uint16Array
  /** -1: no route. */
  private readonly routes: Int16Array
  private readonly startEpochMs: Float64Array
  private readonly durationsMs: Float64Array
  private next = 0
  private count = 0

  constructor (capacity: number) {
    const n = this.capacity = Math.max(1, capacity)
    this.traceIds = new Array<string>(n).fill('')
    this.spanIds = new Array<string>(n).fill('')
    this.parentSpanIds = new Array<string | null>(n).fill(null)
    this.directions = new Array<Direction>(n).fill('inbound')
    this.sources = new Array<string>(n).fill('')
    this.destinations = new Array<string>(n).fill('')
    this.methods = new Array<string>(n).fill('')
    this.paths = new Array<string>(n).fill('')
    this.statusCodes = new Uint16Array(n)
    this.routes = new Int16Array(n)
    this.startEpochMs = new Float64Array(n)
    this.durationsMs = new Float64Array(n)
  }

  /** Positional, so recording a span builds no object on the way in either. */
  record (traceId: string, spanId: string, parentSpanId: string | null, direction: Direction, source: string, destination: string,
    method: string, path: string, statusCode: number, startEpochMs: number, durationMs: number, route = -1): void {
    const i = this.next
    this.traceIds[i] = traceId
    this.spanIds[i] = spanId
    this.parentSpanIds[i] = parentSpanId
    this.directions[i] = direction
    this.sources[i] = source
    this.destinations[i] = destination
    this.methods[i] = method
    this.paths[i] = path
    this.statusCodes[i] = statusCode
    this.routes[i] = route
    this.startEpochMs[i] = startEpochMs
    this.durationsMs[i] = durationMs
    this.next = i + 1 === this.capacity ? 0 : i + 1
    if (this.count < this.capacity) this.count++
  }

  /** Spans oldest first. */
  list (): Span[] {
    const out: Span[] = []
    const start = (this.next - this.count + this.capacity) % this.capacity
    for (let k = 0; k < this.count; k++) {
      const i = (start + k) % this.capacity
      const span: Span = {
        traceId: this.traceIds[i]!,
        spanId: this.spanIds[i]!,
        parentSpanId: this.parentSpanIds[i]!,
        name: `${this.directions[i]!} ${this.destinations[i]!}`,
        direction: this.directions[i]!,
        source: this.sources[i]!,
        destination: this.destinations[i]!,
        method: this.methods[i]!,
        path: this.paths[i]!,
        statusCode: this.statusCodes[i]!,
        startEpochMs: this.startEpochMs[i]!,
        durationMs: this.durationsMs[i]!
      }
      if (this.routes[i]! >= 0) span.route = this.routes[i]!
      out.push(span)
    }
    return out
  }
}
