// The agent's HTTP API server: fastify with Consul's error conventions. Each area registers its
// routes through a `registerXxxRoutes(app, deps)` function with narrow deps; this file only builds
// the server, maps errors to replies, and leaves composition to the agent.

import Fastify, { LogController } from 'fastify'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { jsonShapeProblem } from '../../api/guards.ts'
import { HttpError } from './errors.ts'
import { monotonicClock } from '../../api/clock.ts'
import type { Clock } from '../../api/clock.ts'
import { DEFAULT_LISTENER_LIMITS, guardServer } from '../../api/connection-limits.ts'
import type { ConnectionLimits } from '../../api/connection-limits.ts'

export interface HttpServerInit {
  log?: Logger
  /** Largest request body accepted, bytes. */
  bodyLimitBytes?: number
  /** Connection limits of the listener (config `limits.http_*`); default DEFAULT_LISTENER_LIMITS.http. */
  limits?: ConnectionLimits
  /** Timers of the handshake deadline and idle sweep; tests inject a manual clock. */
  clock?: Clock
}

/** The whole request (headers and body) must arrive within this; answering may take longer (blocking queries). */
export const REQUEST_RECEIVE_TIMEOUT_MS = 60_000
/** An idle keep-alive connection is closed after this (fastify's default, stated). */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000


export const DEFAULT_BODY_LIMIT_BYTES = 4 * 1024 * 1024
/**
 * Deepest nesting of a JSON body. JSON.parse itself has no depth limit (it does not recurse), but
 * structuredClone and JSON.stringify do and overflow the stack near 2,000 levels; a body is
 * refused at this depth before any route sees it. Registration fields kept opaque have their own,
 * tighter cap (agent/local/payload-fields.ts).
 */
export const BODY_MAX_DEPTH = 64

export function buildHttpServer (init: HttpServerInit = {}): FastifyInstance {
  const app = Fastify({
    loggerInstance: init.log?.child({ component: 'mesh:http' }),
    logController: new LogController({ disableRequestLogging: true }),
    // No route sets its own level; a request's logger without one follows the agent's level live
    // (fastify would pin it to the level the server was built with, past any reload).
    childLoggerFactory: (logger, bindings) => logger.child(bindings),
    bodyLimit: init.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    // Consul accepts `?pretty` and unknown query params; keep additional properties, coerce types.
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
    return503OnClosing: false,
    requestTimeout: REQUEST_RECEIVE_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  }) as unknown as FastifyInstance

  const log = init.log?.child({ component: 'mesh:http' })
  const guard = guardServer(app.server, {
    listener: 'http',
    limits: init.limits ?? DEFAULT_LISTENER_LIMITS.http,
    handshake: 'first-byte',
    clock: init.clock ?? monotonicClock,
    ...(log === undefined ? {} : { log }),
  })
  app.addHook('onClose', async () => { guard.stop() })

  // Consul's clients send PUT bodies without Content-Type, or with text/plain: parse them as JSON.
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = (body as string)
    if (text.trim() === '') { done(null, undefined); return }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (error) {
      done(new HttpError(400, 'MESH_ERR_HTTP_BAD_JSON', `Request decode failed: ${(error as Error).message}`), undefined)
      return
    }
    const problem = jsonShapeProblem(parsed, { maxDepth: BODY_MAX_DEPTH, maxValues: Number.POSITIVE_INFINITY })
    if (problem !== undefined) {
      done(new HttpError(400, 'MESH_ERR_HTTP_BAD_JSON', `Request decode failed: the body ${problem} (the cap is ${BODY_MAX_DEPTH})`), undefined)
      return
    }
    done(null, parsed)
  })

  app.setErrorHandler((error: Error & { statusCode?: number, validation?: unknown, code?: string }, request, reply) => {
    if (error instanceof HttpError) {
      reply.code(error.statusCode).type('text/plain; charset=utf-8').send(error.message)
      return
    }
    if (error.validation !== undefined) {
      reply.code(400).type('text/plain; charset=utf-8').send(`Request decode failed: ${error.message}`)
      return
    }
    const status = error.statusCode ?? 500
    if (status >= 500) request.log.error({ err: error, url: request.url }, 'request failed')
    reply.code(status).type('text/plain; charset=utf-8').send(error.message)
  })

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).type('text/plain; charset=utf-8').send(`no such endpoint: ${request.method} ${request.url.split('?')[0]}`)
  })

  return app
}
