// HTTP check: one request per round to the configured URL.
//
// Status rules (Consul's CheckHTTP): any 2xx is passing, 429 Too Many Requests is warning (the
// service is up but shedding load), any other status, a connection error or a timeout is critical.
// Output: "HTTP GET <url>: 200 OK Output: <body>", the body capped at 4 KiB (its tail kept).
// Header values are arrays (a header may repeat); User-Agent and Accept default as Consul's.
// Keep-alive is off: a check must see the service as a new client does, not through a pooled socket.

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

  check (signal: AbortSignal): Promise<CheckResult> {
    const label = `HTTP ${this.method} ${this.url.href}`
    const failed = (error: Error): CheckResult =>
      ({ status: 'critical', output: `${label}: ${signal.aborted ? (signal.reason as Error).message : error.message}` })
    return new Promise<CheckResult>((resolve) => {
      const transport = this.url.protocol === 'https:' ? https : http
      const request = transport.request(this.url, {
        method: this.method,
        headers: this.headers,
        agent: false,
        signal,
        rejectUnauthorized: !this.tlsSkipVerify,
        servername: this.tlsServerName,
      }, (response) => {
        const output = new OutputBuffer()
        response.on('data', (chunk: Buffer) => output.write(chunk))
        response.on('error', (error) => resolve(failed(error)))
        response.on('end', () => {
          const code = response.statusCode ?? 0
          resolve({
            status: statusForHttpCode(code),
            output: `${label}: ${code} ${response.statusMessage ?? ''} Output: ${output.toString()}`,
          })
        })
      })
      request.on('error', (error) => resolve(failed(error)))
      request.end(this.body === '' ? undefined : this.body)
    })
  }
}
