// TCP check: a round opens a connection to host:port and closes it at once.
// Status rules (Consul's CheckTCP): connected is passing; refused, unreachable or timed out is
// critical. Output "TCP connect <addr>: Success" or the connection error.

import net from 'node:net'
import type { CheckProbe, CheckResult } from './types.ts'

export const DEFAULT_TCP_TIMEOUT_MS = 10_000

/** Splits "host:port" or "[v6]:port"; throws on anything else. */
export function splitHostPort (address: string): { host: string, port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address)
  const port = match === null ? NaN : Number(match[3])
  if (match === null || port < 1 || port > 65535) throw new Error(`address "${address}" is not host:port`)
  return { host: match[1] ?? match[2], port }
}

export class TcpProbe implements CheckProbe {
  readonly address: string
  private readonly host: string
  private readonly port: number

  constructor (address: string) {
    this.address = address
    const { host, port } = splitHostPort(address)
    this.host = host
    this.port = port
  }

  check (signal: AbortSignal): Promise<CheckResult> {
    const label = `TCP connect ${this.address}`
    return new Promise<CheckResult>((resolve) => {
      const socket = net.connect({ host: this.host, port: this.port, signal })
      socket.once('connect', () => {
        socket.destroy()
        resolve({ status: 'passing', output: `${label}: Success` })
      })
      socket.once('error', (error) => {
        socket.destroy()
        const message = signal.aborted ? (signal.reason as Error).message : error.message
        resolve({ status: 'critical', output: `${label}: ${message}` })
      })
    })
  }
}
