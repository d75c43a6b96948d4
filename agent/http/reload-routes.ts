// `PUT /v1/agent/reload`, Consul's endpoint behind `consul reload`: the agent loads its config files
// again and applies what a reload can (agent/reload.ts). 200 with what changed (mesh's addition to
// Consul's empty body); an invalid config, or a change that could not be applied, answers 500 with
// the problem as plain text, as Consul answers a failed reload.

import type { FastifyInstance } from 'fastify'
import type { ReloadSummary } from '../../api/reload.ts'

export interface ReloadRouteDeps {
  /** Runs one reload; rejects with an error naming the problem. */
  reload (): Promise<ReloadSummary>
}

export function registerReloadRoutes (app: FastifyInstance, deps: ReloadRouteDeps): void {
  app.put('/v1/agent/reload', async (_request, reply) => {
    try {
      return await deps.reload()
    } catch (error) {
      // Answered here rather than by the server's handler: the agent already logged it as the reload's failure.
      reply.code(500).type('text/plain; charset=utf-8')
      return (error as Error).message
    }
  })
}
