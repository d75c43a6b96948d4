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

export class SpanRing {
  private readonly spans: Array<Span | undefined>
  private next = 0
  private count = 0

  constructor (capacity: number) {
    this.spans = new Array<Span | undefined>(Math.max(1, capacity))
  }

  record (span: Span): void {
    this.spans[this.next] = span
    this.next = (this.next + 1) % this.spans.length
    if (this.count < this.spans.length) this.count++
  }

  /** Spans oldest first. */
  list (): Span[] {
    const out: Span[] = []
    const start = (this.next - this.count + this.spans.length) % this.spans.length
    for (let i = 0; i < this.count; i++) out.push(this.spans[(start + i) % this.spans.length]!)
    return out
  }
}
