// HTTP check: one request per round to the configured URL.
//
// Status rules (Consul's CheckHTTP): any 2xx is passing, 429 Too Many Requests is warning (the
// service is up but shedding load), any other status, a connection error or a timeout is critical.
// Output: "HTTP GET <url>: 200 OK Output: <body>", the body capped at 4 KiB (its tail kept).
// Header values are arrays (a header may repeat); User-Agent and Accept default as Consul's.
// Keep-alive is off: a check must see the service as a new client does, not through a pooled socket.
// Redirects are followed (up to 10) as Consul's Go client does; the final answer decides.

import http from 'node:http'
import https from 'node:https'
import type { OutgoingHttpHeaders } from 'node:http'
import { OutputBuffer } from './output.ts'
import type { CheckProbe, CheckResult, CheckStatus } from './types.ts'

export const DEFAULT_HTTP_TIMEOUT_MS = 10_000

export interface HttpProbeInit {
  url: string
  method?: string
  header?: Record<string, string[]>
  body?: string
  tlsSkipVerify?: boolean
  tlsServerName?: string
}

/** Redirects followed before giving up, as Go's default HTTP client (which Consul's check uses). */
export const MAX_REDIRECTS = 10
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308])

interface Exchange { statusCode: number, statusMessage: string, location?: string, output: string }

export function statusForHttpCode (statusCode: number): CheckStatus {
  if (statusCode >= 200 && statusCode <= 299) return 'passing'
  if (statusCode === 429) return 'warning'
  return 'critical'
}

export class HttpProbe implements CheckProbe {
  private readonly url: URL
  private readonly method: string
  private readonly headers: OutgoingHttpHeaders
  private readonly body: string
  private readonly tlsSkipVerify: boolean
  private readonly tlsServerName: string | undefined

  constructor (init: HttpProbeInit) {
    this.url = new URL(init.url)
    this.method = (init.method ?? '') === '' ? 'GET' : (init.method as string).toUpperCase()
    this.body = init.body ?? ''
    this.tlsSkipVerify = init.tlsSkipVerify ?? false
    this.tlsServerName = init.tlsServerName === '' ? undefined : init.tlsServerName
    const headers: OutgoingHttpHeaders = {}
    const given = new Set<string>()
    for (const [name, values] of Object.entries(init.header ?? {})) {
      headers[name] = values.length === 1 ? values[0] : values
      given.add(name.toLowerCase())
    }
    if (!given.has('user-agent')) headers['User-Agent'] = 'Consul Health Check'
    if (!given.has('accept')) headers.Accept = 'text/plain, text/*, */*'
    this.headers = headers
  }

  async check (signal: AbortSignal): Promise<CheckResult> {
    const label = `HTTP ${this.method} ${this.url.href}`
    let url = this.url
    let method = this.method
    let body = this.body
    try {
      for (let redirects = 0; ; redirects++) {
        const answer = await this.exchange(url, method, body, signal)
        if (answer.location === undefined) {
          return { status: statusForHttpCode(answer.statusCode), output: `${label}: ${answer.statusCode} ${answer.statusMessage} Output: ${answer.output}` }
        }
        if (redirects === MAX_REDIRECTS) throw new Error(`stopped after ${MAX_REDIRECTS} redirects`)
        url = new URL(answer.location, url)
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`redirect to unsupported URL ${url.href}`)
        // As Go's client: 301/302/303 turn into a GET without a body; 307/308 repeat the request.
        if (answer.statusCode <= 303 && method !== 'HEAD') {
          method = 'GET'
          body = ''
        }
      }
    } catch (error) {
      return { status: 'critical', output: `${label}: ${signal.aborted ? (signal.reason as Error).message : (error as Error).message}` }
    }
  }

  /** One request; a redirect answer carries its Location and no output. */
  private exchange (url: URL, method: string, body: string, signal: AbortSignal): Promise<Exchange> {
    return new Promise<Exchange>((resolve, reject) => {
      const transport = url.protocol === 'https:' ? https : http
      const request = transport.request(url, {
        method,
        headers: this.headers,
        agent: false,
        signal,
        rejectUnauthorized: !this.tlsSkipVerify,
        servername: this.tlsServerName,
      }, (response) => {
        const statusCode = response.statusCode ?? 0
        const statusMessage = response.statusMessage ?? ''
        const location = response.headers.location
        if (REDIRECT_CODES.has(statusCode) && location !== undefined) {
          response.resume()
          response.on('end', () => resolve({ statusCode, statusMessage, location, output: '' }))
          response.on('error', reject)
          return
        }
        const output = new OutputBuffer()
        response.on('data', (chunk: Buffer) => output.write(chunk))
        response.on('error', reject)
        response.on('end', () => resolve({ statusCode, statusMessage, output: output.toString() }))
      })
      request.on('error', reject)
      request.end(body === '' ? undefined : body)
    })
  }
}
