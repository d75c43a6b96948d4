// gRPC check: calls grpc.health.v1.Health/Check on the target over HTTP/2 (h2c by default, TLS
// with GRPCUseTLS). The target is "host:port" or "host:port/service": the part after the slash is
// the service name asked about ("" asks about the server as a whole).
//
// Status rules (Consul's CheckGRPC): SERVING is passing; any other serving status, a non-zero
// grpc-status, a connection error or a timeout is critical. Output "gRPC check <target>: success"
// or the reason.

import http2 from 'node:http2'
import type { IncomingHttpHeaders } from 'node:http2'
import { splitHostPort } from './tcp-check.ts'
import {
  HEALTH_CHECK_PATH, MAX_RESPONSE_BYTES, SERVING, decodeHealthCheckResponse, encodeHealthCheckRequest, servingStatusName,
} from './grpc-health-codec.ts'
import type { CheckProbe, CheckResult } from './types.ts'

export const DEFAULT_GRPC_TIMEOUT_MS = 10_000

export interface GrpcProbeInit {
  target: string
  useTls?: boolean
  tlsSkipVerify?: boolean
  tlsServerName?: string
}

/** grpc-message is percent-encoded; a malformed one is shown as received rather than failing. */
function percentDecode (text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

export class GrpcProbe implements CheckProbe {
  readonly target: string
  private readonly authority: string
  private readonly service: string
  private readonly useTls: boolean
  private readonly tlsSkipVerify: boolean
  private readonly tlsServerName: string | undefined

  constructor (init: GrpcProbeInit) {
    this.target = init.target
    const slash = init.target.indexOf('/')
    this.authority = slash === -1 ? init.target : init.target.slice(0, slash)
    this.service = slash === -1 ? '' : init.target.slice(slash + 1)
    splitHostPort(this.authority)
    this.useTls = init.useTls ?? false
    this.tlsSkipVerify = init.tlsSkipVerify ?? false
    this.tlsServerName = init.tlsServerName === '' ? undefined : init.tlsServerName
  }

  check (signal: AbortSignal): Promise<CheckResult> {
    const label = `gRPC check ${this.target}`
    return new Promise<CheckResult>((resolve) => {
      let settled = false
      const session = http2.connect(`${this.useTls ? 'https' : 'http'}://${this.authority}`, {
        rejectUnauthorized: !this.tlsSkipVerify,
        servername: this.tlsServerName,
      })
      const finish = (result: CheckResult): void => {
        if (settled) return
        settled = true
        signal.removeEventListener('abort', onAbort)
        session.destroy()
        resolve(result)
      }
      const fail = (message: string): void => finish({ status: 'critical', output: `${label}: ${message}` })
      const onAbort = (): void => fail((signal.reason as Error).message)
      if (signal.aborted) { onAbort(); return }
      signal.addEventListener('abort', onAbort, { once: true })
      session.on('error', (error) => fail(error.message))

      const stream = session.request({
        ':method': 'POST',
        ':path': HEALTH_CHECK_PATH,
        'content-type': 'application/grpc',
        te: 'trailers',
      })
      let headers: IncomingHttpHeaders = {}
      let trailers: IncomingHttpHeaders = {}
      const chunks: Buffer[] = []
      let receivedBytes = 0
      stream.on('response', (received) => { headers = received })
      stream.on('trailers', (received) => { trailers = received })
      stream.on('data', (chunk: Buffer) => {
        receivedBytes += chunk.length
        if (receivedBytes > MAX_RESPONSE_BYTES) { fail('response too large for a health check'); return }
        chunks.push(chunk)
      })
      // A refused connection surfaces first as "pending stream canceled"; its cause says why.
      stream.on('error', (error: Error & { cause?: unknown }) => fail(error.cause instanceof Error ? error.cause.message : error.message))
      stream.on('end', () => {
        const httpStatus = Number(headers[':status'] ?? 0)
        if (httpStatus !== 200) { fail(`unexpected HTTP status ${httpStatus}`); return }
        // A "trailers-only" error response carries grpc-status in the headers.
        const grpcStatus = String(trailers['grpc-status'] ?? headers['grpc-status'] ?? '')
        if (grpcStatus !== '0') {
          const description = String(trailers['grpc-message'] ?? headers['grpc-message'] ?? '')
          fail(`rpc error: code = ${grpcStatus === '' ? 'missing' : grpcStatus} desc = ${percentDecode(description)}`)
          return
        }
        let status: number
        try {
          status = decodeHealthCheckResponse(Buffer.concat(chunks))
        } catch (error) {
          fail((error as Error).message)
          return
        }
        if (status === SERVING) finish({ status: 'passing', output: `${label}: success` })
        else fail(`gRPC ${this.target} serving status: ${servingStatusName(status)}`)
      })
      stream.end(encodeHealthCheckRequest(this.service))
    })
  }
}
