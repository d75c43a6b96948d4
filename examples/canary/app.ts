// The canary demo's two tiny programs, one process each:
//
//   node examples/canary/app.ts web --version v1 --address 127.0.0.72 [--port 8080]
//     an HTTP server that answers every request with `web <version>` (the demo service);
//   node examples/canary/app.ts caller --address 127.0.0.71 --upstream 127.0.0.71:9191 [--port 8081] [--rate 100]
//     the caller: a control server (GET /stats, POST /start, POST /stop) and, once started, a
//     steady stream of GET requests at --rate per second to its sidecar's upstream listener,
//     counting the answers by the version in their body and every failure (a status other than
//     200, an answer that names no version, or no answer at all).
//
// Each logs one pino line `listening` with the port it got (port 0, the default, picks a free
// one), which run.ts reads. Each exits on SIGINT or SIGTERM and, with --exit-with-stdin, when its
// standard input closes: run.ts starts them so, with a pipe there, so that they do not outlive it.

import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseArgs } from 'node:util'
import { pino } from 'pino'

/** The answer of the caller's GET /stats. */
export interface CallerStats {
  /** Requests started. */
  sent: number
  /** Requests answered 200 by a version. */
  ok: number
  failed: number
  byVersion: Record<string, number>
  /** Every request numbered up to this one has finished (requests are numbered from 1 as they start). */
  settledThrough: number
  /** The first few failures, with their reason. */
  failures: string[]
}

const MAX_FAILURES_KEPT = 20
const REQUEST_TIMEOUT_MS = 10_000
/** Requests in flight at most; the pacer keeps the rate below this. */
const MAX_IN_FLIGHT = 16

function usage (message: string): never {
  process.stderr.write(`${message}\nusage: app.ts web --version V --address A [--port P]\n       app.ts caller --address A --upstream HOST:PORT [--port P] [--rate R]\n`)
  process.exit(2)
}

function portOf (value: string | undefined, flag: string): number {
  const port = Number(value ?? '0')
  if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`${flag} must be a port number from 0 to 65535, not ${String(value)}`)
  return port
}

function exitWith (close: () => void, withStdin: boolean | undefined): void {
  const done = (): void => { close(); process.exit(0) }
  process.once('SIGINT', done)
  process.once('SIGTERM', done)
  if (withStdin !== true) return
  process.stdin.on('end', done)
  process.stdin.on('error', done)
  process.stdin.resume()
}

async function listen (server: ReturnType<typeof createServer>, address: string, port: number, log: pino.Logger): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, address, () => { server.off('error', reject); resolve() })
  })
  log.info({ address, port: (server.address() as { port: number }).port }, 'listening')
}

async function web (args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { version: { type: 'string' }, address: { type: 'string' }, port: { type: 'string' }, 'exit-with-stdin': { type: 'boolean' } } })
  const version = values.version ?? usage('web needs --version')
  if (!/^[a-z0-9-]{1,63}$/.test(version)) usage(`--version must be a subset name (lower-case letters, digits, -), not ${version}`)
  const address = values.address ?? usage('web needs --address')
  const log = pino({ name: `canary-web-${version}` })
  const server = createServer((request, response) => {
    request.resume()
    response.setHeader('content-type', 'text/plain')
    response.end(`web ${version}\n`)
  })
  await listen(server, address, portOf(values.port, '--port'), log)
  exitWith(() => { server.close() }, values['exit-with-stdin'])
}

async function caller (args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { address: { type: 'string' }, upstream: { type: 'string' }, port: { type: 'string' }, rate: { type: 'string' }, 'exit-with-stdin': { type: 'boolean' } } })
  const address = values.address ?? usage('caller needs --address')
  const upstream = values.upstream ?? usage('caller needs --upstream HOST:PORT (its sidecar\'s listener for web)')
  if (!/^[^\s/:]+:\d{1,5}$/.test(upstream)) usage(`--upstream must be HOST:PORT, not ${upstream}`)
  const rate = Number(values.rate ?? '100')
  if (!Number.isFinite(rate) || rate < 1 || rate > 2000) usage(`--rate must be a number of requests per second from 1 to 2000, not ${String(values.rate)}`)
  const log = pino({ name: 'canary-caller' })

  const stats: CallerStats = { sent: 0, ok: 0, failed: 0, byVersion: {}, settledThrough: 0, failures: [] }
  const inFlight = new Set<number>()
  let running = false
  let timer: NodeJS.Timeout | undefined

  const fail = (seq: number, reason: string): void => {
    stats.failed++
    if (stats.failures.length < MAX_FAILURES_KEPT) stats.failures.push(`request ${seq}: ${reason}`)
    log.warn({ seq, reason }, 'request failed')
  }
  const send = async (seq: number): Promise<void> => {
    try {
      const response = await fetch(`http://${upstream}/canary/${seq}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      const body = await response.text()
      const version = /^web ([a-z0-9-]+)\n$/.exec(body)?.[1]
      if (response.status !== 200) fail(seq, `HTTP ${response.status} ${body.trim().slice(0, 200)}`)
      else if (version === undefined) fail(seq, `an answer that names no version: ${JSON.stringify(body.slice(0, 200))}`)
      else {
        stats.ok++
        stats.byVersion[version] = (stats.byVersion[version] ?? 0) + 1
      }
    } catch (error) {
      // fetch says only "fetch failed"; its cause says why (ECONNREFUSED, a reset, the timeout).
      const { message, cause } = error as Error & { cause?: unknown }
      fail(seq, cause instanceof Error ? `${message}: ${cause.message}` : message)
    } finally {
      inFlight.delete(seq)
      stats.settledThrough = inFlight.size === 0 ? stats.sent : Math.min(...inFlight) - 1
    }
  }
  // A steady pace: one request every 1000/rate ms, on a timer that catches up when it fires late,
  // never more than MAX_IN_FLIGHT at once (a slow mesh lowers the rate instead of piling up).
  const intervalMs = 1000 / rate
  let nextAt = 0
  const pump = (): void => {
    if (!running) return
    const now = performance.now()
    while (nextAt <= now && inFlight.size < MAX_IN_FLIGHT) {
      const seq = ++stats.sent
      inFlight.add(seq)
      void send(seq)
      nextAt += intervalMs
    }
    if (nextAt <= now) nextAt = now + intervalMs
    timer = setTimeout(pump, Math.max(1, nextAt - performance.now()))
  }

  const reply = (response: ServerResponse, status: number, body: unknown): void => {
    response.statusCode = status
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify(body) + '\n')
  }
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume()
    const route = `${request.method ?? ''} ${request.url ?? ''}`
    if (route === 'GET /stats') reply(response, 200, stats)
    else if (route === 'POST /start') {
      if (!running) {
        running = true
        nextAt = performance.now()
        pump()
        log.info({ upstream, rate }, 'request stream started')
      }
      reply(response, 200, stats)
    } else if (route === 'POST /stop') {
      running = false
      clearTimeout(timer)
      reply(response, 200, stats)
    } else reply(response, 404, { error: `no route ${route}: GET /stats, POST /start, POST /stop` })
  })
  await listen(server, address, portOf(values.port, '--port'), log)
  exitWith(() => { running = false; clearTimeout(timer); server.close() }, values['exit-with-stdin'])
}

const [role, ...rest] = process.argv.slice(2)
if (role === 'web') await web(rest)
else if (role === 'caller') await caller(rest)
else usage(`unknown role ${String(role)}`)
