// Tells the local application who called, in the headers Envoy uses: X-Forwarded-Client-Cert
// `By=<own SPIFFE ID>;URI=<caller SPIFFE ID>` and `x-mesh-source: <service>`. The forwarder
// writes these over any value the caller sent, so a caller cannot claim another identity.

import { setHeader } from '../handler.ts'
import type { Cell, Layer } from '../handler.ts'

export function identityHeadersLayer (ownSpiffeId: Cell<string>): Layer {
  return (next) => (request) => {
    setHeader(request, 'x-forwarded-client-cert', `By=${ownSpiffeId.current};URI=${request.source.spiffeId}`)
    setHeader(request, 'x-mesh-source', request.source.service)
    return next(request)
  }
}
