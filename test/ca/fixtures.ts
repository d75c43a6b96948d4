// A small CA hierarchy for the ca/ tests: root → intermediate → service and agent leaves, and a
// second root cross-signed by the first with its own intermediate and leaf. Built fresh per call.
import { generateKey } from '../../ca/keys.ts'
import type { KeySpec } from '../../ca/keys.ts'
import { createIssuer, createRoot, crossSignRoot, issueLeaf, signIntermediate } from '../../ca/profiles.ts'
import type { Issuer, IssuedLeaf } from '../../ca/profiles.ts'
import { agentSpiffeId, serviceSpiffeId } from '../../ca/spiffe.ts'

export const TRUST_DOMAIN = '11111111-2222-3333-4444-555555555555.consul'

export interface Hierarchy {
  rootPem: string
  root: Issuer
  intermediatePem: string
  intermediate: Issuer
  web: IssuedLeaf
  api: IssuedLeaf
  agent: IssuedLeaf
  /** Second root, its cross-signed certificate (issuer: first root), its intermediate and a leaf. */
  root2Pem: string
  crossPem: string
  intermediate2Pem: string
  db: IssuedLeaf
}

export function buildHierarchy (keySpec: KeySpec = { type: 'ec', bits: 256 }, nowMs = Date.now()): Hierarchy {
  const rootCreated = createRoot({ trustDomain: TRUST_DOMAIN, nowMs, keySpec })
  const root = createIssuer(rootCreated.certPem, rootCreated.privateKeyPem)
  const interKey = generateKey(keySpec)
  const intermediatePem = signIntermediate(root, { spkiDer: interKey.spkiDer, trustDomain: TRUST_DOMAIN, nowMs })
  const intermediate = createIssuer(intermediatePem, interKey.privateKeyPem)
  const leaf = (issuer: Issuer, spiffeId: string, commonName: string): IssuedLeaf => issueLeaf(issuer, { spiffeId, commonName, nowMs, keySpec })
  const root2Created = createRoot({ trustDomain: TRUST_DOMAIN, nowMs, keySpec })
  const root2 = createIssuer(root2Created.certPem, root2Created.privateKeyPem)
  const inter2Key = generateKey(keySpec)
  const intermediate2Pem = signIntermediate(root2, { spkiDer: inter2Key.spkiDer, trustDomain: TRUST_DOMAIN, nowMs })
  return {
    rootPem: rootCreated.certPem,
    root,
    intermediatePem,
    intermediate,
    web: leaf(intermediate, serviceSpiffeId(TRUST_DOMAIN, 'dc1', 'web'), 'web'),
    api: leaf(intermediate, serviceSpiffeId(TRUST_DOMAIN, 'dc1', 'api'), 'api'),
    agent: leaf(intermediate, agentSpiffeId(TRUST_DOMAIN, 'dc1', 'node-1'), 'node-1'),
    root2Pem: root2Created.certPem,
    crossPem: crossSignRoot(root, root2Created.certPem, TRUST_DOMAIN, nowMs),
    intermediate2Pem,
    db: leaf(createIssuer(intermediate2Pem, inter2Key.privateKeyPem), serviceSpiffeId(TRUST_DOMAIN, 'dc1', 'db'), 'db'),
  }
}
