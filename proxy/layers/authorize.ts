// L7 authorization: every request is checked against the intentions (through the snapshot's
// `authorize`, read per request so an update applies to the next request) with its method,
// path and headers. A deny ends the request with 403 and the intention's reason.

import { RequestDeniedError } from '../errors.ts'
import type { Cell, Layer } from '../handler.ts'
import type { Authorizer } from '../../api/authorizer.ts'

export interface AuthorizeInit {
  authorizer: Cell<Authorizer>
  onDeny?: (sourceService: string) => void
}

export function authorizeLayer (init: AuthorizeInit): Layer {
  return (next) => (request) => {
    const decision = init.authorizer.current({
      sourceSpiffeId: request.source.spiffeId,
      sourceService: request.source.service,
      http: { method: request.method, path: request.path, headers: request.headers }
    })
    if (!decision.allowed) {
      init.onDeny?.(request.source.service)
      return Promise.reject(new RequestDeniedError(`${request.source.service} may not call ${request.destination}: ${decision.reason}`))
    }
    return next(request)
  }
}
