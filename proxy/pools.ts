// Keep-alive connection pools (Http1Pool, client.ts): one plain pool to the local application and
// one mutual-TLS pool per upstream endpoint. Pooling the TLS connections is what makes the sidecar
// fast: a handshake costs more than a hundred proxied requests. The hand-written client is the
// proxy's only one, used rather than undici's Pool or node:http's client because it costs less
// CPU per request (docs/benchmarks/proxy.md). The TLS pool verifies the chain against the roots and then that
// the server's URI SAN is exactly the endpoint's SPIFFE ID.

import { createSecureContext } from 'node:tls'
import type { PeerCertificate, SecureContext } from 'node:tls'
import { Http1Pool } from './client.ts'
import { UpstreamIdentityError } from './errors.ts'
import type { Endpoint, TlsMaterial } from './snapshot.ts'
import { uriSans } from './peer-identity.ts'

/** Connections kept per destination; beyond this requests queue in the pool. */
const MAX_CONNECTIONS_PER_DESTINATION = 256

export function secureContextFor (tls: TlsMaterial): SecureContext {
  return createSecureContext({ cert: tls.certChainPem, key: tls.keyPem, ca: tls.rootsPem })
}

export function createAppPool (address: string, port: number): Http1Pool {
  return new Http1Pool({ host: address, port, connections: MAX_CONNECTIONS_PER_DESTINATION })
}

/** The SPIFFE check run after chain verification; any other URI SAN is an impostor. */
export function expectSpiffeId (expected: string): (host: string, certificate: PeerCertificate) => Error | undefined {
  return (_host, certificate) => {
    const uris = uriSans(certificate)
    if (uris.length === 1 && uris[0] === expected) return undefined
    return new UpstreamIdentityError(`server presented ${uris.join(', ') || 'no SPIFFE ID'}, expected ${expected}`)
  }
}

export function createEndpointPool (endpoint: Endpoint, secureContext: SecureContext): Http1Pool {
  return new Http1Pool({
    host: endpoint.address,
    port: endpoint.port,
    connections: MAX_CONNECTIONS_PER_DESTINATION,
    tls: { secureContext, checkServerIdentity: expectSpiffeId(endpoint.spiffeId) }
  })
}

/**
 * Stops using a pool without cutting requests in progress: close() lets running and
 * queued requests finish, then closes the connections.
 */
export function retirePool (pool: Http1Pool): Promise<void> {
  return pool.close().catch(() => {})
}
