// Keep-alive connection pools: one plain HTTP agent to the local application and one mutual-TLS
// agent per upstream endpoint. Pooling the TLS connections is what makes the sidecar fast: a
// handshake costs more than a hundred proxied requests. The TLS agent verifies the chain against
// the roots and then that the server's URI SAN is exactly the endpoint's SPIFFE ID.

import { Agent as HttpAgent } from 'node:http'
import type { Agent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { createSecureContext } from 'node:tls'
import type { PeerCertificate, SecureContext } from 'node:tls'
import { UpstreamIdentityError } from './errors.ts'
import type { Endpoint, TlsMaterial } from './snapshot.ts'
import { uriSans } from './spiffe.ts'

/** Connections kept per destination; beyond this requests queue in the agent. */
const MAX_SOCKETS_PER_DESTINATION = 256

export function secureContextFor (tls: TlsMaterial): SecureContext {
  return createSecureContext({ cert: tls.certChainPem, key: tls.keyPem, ca: tls.rootsPem })
}

export function createAppAgent (): Agent {
  return new HttpAgent({
    keepAlive: true,
    maxSockets: MAX_SOCKETS_PER_DESTINATION,
    maxFreeSockets: MAX_SOCKETS_PER_DESTINATION,
    scheduling: 'lifo',
    noDelay: true
  } as ConstructorParameters<typeof HttpAgent>[0])
}

/** The SPIFFE check run after chain verification; any other URI SAN is an impostor. */
export function expectSpiffeId (expected: string): (host: string, certificate: PeerCertificate) => Error | undefined {
  return (_host, certificate) => {
    const uris = uriSans(certificate)
    if (uris.length === 1 && uris[0] === expected) return undefined
    return new UpstreamIdentityError(`server presented ${uris.join(', ') || 'no SPIFFE ID'}, expected ${expected}`)
  }
}

export function createEndpointAgent (endpoint: Endpoint, secureContext: SecureContext): Agent {
  return new HttpsAgent({
    keepAlive: true,
    maxSockets: MAX_SOCKETS_PER_DESTINATION,
    maxFreeSockets: MAX_SOCKETS_PER_DESTINATION,
    scheduling: 'lifo',
    secureContext,
    rejectUnauthorized: true,
    checkServerIdentity: expectSpiffeId(endpoint.spiffeId),
    ALPNProtocols: ['http/1.1'],
    noDelay: true
  } as ConstructorParameters<typeof HttpsAgent>[0])
}

/**
 * Stops reusing an agent's connections without cutting requests in progress: idle sockets
 * close now, busy ones close when their response is done.
 */
export function retireAgent (agent: Agent): void {
  agent.maxFreeSockets = 0
  closeIdleSockets(agent)
}

export function closeIdleSockets (agent: Agent): void {
  for (const sockets of Object.values(agent.freeSockets)) {
    for (const socket of sockets ?? []) socket.destroy()
  }
}

/** True once a retired agent has no connection left. */
export function agentIsIdle (agent: Agent): boolean {
  for (const sockets of Object.values(agent.sockets)) if (sockets !== undefined && sockets.length > 0) return false
  for (const sockets of Object.values(agent.freeSockets)) if (sockets !== undefined && sockets.length > 0) return false
  return true
}
