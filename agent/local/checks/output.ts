// Check output is capped at 4 KiB, as Consul's checks.BufSize: outputs travel in every catalog
// sync and blocking-query answer, so one chatty check must not bloat them. Two shapes: a bounded
// buffer that keeps the tail of streamed output (the end of a script's or a body's output usually
// says what went wrong) and a head truncation for outputs given whole through the API.

export const OUTPUT_MAX_BYTES = 4096

/** Keeps at most maxBytes of the most recent bytes written and counts everything written. */
export class OutputBuffer {
  readonly maxBytes: number
  private chunks: Buffer[] = []
  private keptBytes = 0
  private totalBytes = 0

  constructor (maxBytes: number = OUTPUT_MAX_BYTES) {
    this.maxBytes = maxBytes
  }

  write (chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    this.totalBytes += bytes.length
    this.chunks.push(bytes)
    this.keptBytes += bytes.length
    while (this.keptBytes - this.chunks[0].length >= this.maxBytes) {
      this.keptBytes -= this.chunks[0].length
      this.chunks.shift()
    }
  }

  get writtenBytes (): number {
    return this.totalBytes
  }

  /** The kept output; when some was dropped, prefixed as Consul does: "Captured N of M bytes\n...\n". */
  toString (): string {
    const joined = Buffer.concat(this.chunks)
    const kept = joined.subarray(Math.max(0, joined.length - this.maxBytes))
    const text = kept.toString('utf8')
    if (this.totalBytes <= this.maxBytes) return text
    return `Captured ${kept.length} of ${this.totalBytes} bytes\n...\n${text}`
  }
}

/** Truncates output given whole (TTL updates) to its first maxBytes, saying how much was kept. */
export function truncateOutput (output: string, maxBytes: number = OUTPUT_MAX_BYTES): string {
  const bytes = Buffer.from(output)
  if (bytes.length <= maxBytes) return output
  const head = bytes.subarray(0, maxBytes).toString('utf8')
  return `${head} ... (captured ${maxBytes} of ${bytes.length} bytes)`
}
