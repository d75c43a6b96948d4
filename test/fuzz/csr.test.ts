// Properties of CSR parsing (what /mesh/ca/1.0.0 receives): any text is parsed or refused with a
// CaBadCsrError, never another exception; a request changed anywhere it is signed is refused, so an
// accepted request always names the key and identities its signer put in it; and the signing
// policy signs only the requester's own agent identity.
import t from 'tap'
import fc from 'fast-check'
import { createCsr, parseCsr, MAX_CSR_PEM_BYTES } from '../../ca/csr.ts'
import { fromPemAll, toPem } from '../../ca/der.ts'
import { CaBadCsrError } from '../../ca/errors.ts'
import { generateKey } from '../../ca/keys.ts'
import { createIssuer, createRoot } from '../../ca/profiles.ts'
import { signIntermediateRequest } from '../../agent/connect/sign-request.ts'
import { anyText, assertReached, fuzzParameters } from './fuzz.ts'
import { csrRegressions } from './regressions.ts'

const TRUST_DOMAIN = '11111111-2222-3333-4444-555555555555.consul'
const agentUri = (node: string): string => `spiffe://${TRUST_DOMAIN}/agent/client/dc/dc1/id/${node}`
const key = generateKey({ type: 'ec', bits: 256 })
const goodPem = createCsr({ privateKeyPem: key.privateKeyPem, commonName: 'agent-node-1', uris: [agentUri('node-1')] })
const goodDer = fromPemAll(goodPem, 'CERTIFICATE REQUEST')[0]

/** Parses, returning undefined for a CaBadCsrError and rethrowing anything else. */
function parseOrRefuse (pem: string): ReturnType<typeof parseCsr> | undefined {
  try {
    return parseCsr(pem)
  } catch (error) {
    if (error instanceof CaBadCsrError) return undefined
    throw error
  }
}

/** The good request's DER with bytes replaced, removed or inserted. */
const mutatedDer = fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), op: fc.constantFrom('set', 'delete', 'insert') }), { minLength: 1, maxLength: 3 })
  .map(edits => {
    let der = Buffer.from(goodDer)
    for (const edit of edits) {
      const at = edit.at % der.length
      if (edit.op === 'set') der[at] = edit.byte === der[at] ? der[at] ^ 1 : edit.byte
      else if (edit.op === 'delete') der = Buffer.concat([der.subarray(0, at), der.subarray(at + 1)])
      else der = Buffer.concat([der.subarray(0, at), Buffer.from([edit.byte]), der.subarray(at)])
    }
    return der
  })

const anyPem = fc.oneof(
  mutatedDer.map(der => toPem(der, 'CERTIFICATE REQUEST')),
  fc.uint8Array({ maxLength: 600 }).map(bytes => toPem(Buffer.from(bytes), 'CERTIFICATE REQUEST')),
  anyText(300),
  fc.constantFrom(goodPem + goodPem, goodPem.replace('REQUEST', 'REQUESTS'), 'x'.repeat(MAX_CSR_PEM_BYTES + 1), goodPem.slice(0, 200))
)

t.test('any text is parsed or refused with CaBadCsrError, and a changed request is never accepted', async t => {
  let refused = 0
  await fc.assert(fc.property(anyPem, pem => {
    const parsed = parseOrRefuse(pem)
    if (parsed === undefined) { refused++; return }
    // Accepted: only if every signed byte is the signer's (the self-signature still verifies).
    if (!parsed.spkiDer.equals(key.spkiDer)) throw new Error('accepted a request for a key its signer did not sign')
    if (JSON.stringify(parsed.uris) !== JSON.stringify([agentUri('node-1')])) throw new Error(`accepted a request for ${JSON.stringify(parsed.uris)}`)
  }), fuzzParameters(500, csrRegressions.map(pem => [pem] as [string])))
  assertReached(t, refused > 0, `${refused} generated inputs were refused`)
  t.ok(parseOrRefuse(goodPem) !== undefined, 'the unchanged request is accepted')
})

t.test('the signing policy signs only the requester\'s own agent identity', async t => {
  const root = createRoot({ trustDomain: TRUST_DOMAIN, keySpec: { type: 'ec', bits: 256 }, nowMs: Date.UTC(2026, 0, 1), ttlMs: 86_400_000 })
  const context = { issuer: createIssuer(root.certPem, root.privateKeyPem), trustDomain: TRUST_DOMAIN, datacenter: 'dc1', nowMs: Date.UTC(2026, 0, 1), intermediateTtlMs: 3_600_000, extraChainPems: [] }
  const requester = fc.oneof(fc.constantFrom('node-1', 'node-2'), anyText(20))
  const requests = fc.oneof(
    fc.record({
      uris: fc.array(fc.oneof(fc.constantFrom(agentUri('node-1'), agentUri('node-2'), agentUri('node-1/x'), `spiffe://${TRUST_DOMAIN}/ns/default/dc/dc1/svc/web`), anyText(40)), { maxLength: 2 }),
      requester,
    }),
    // Its own identity, as an honest agent asks.
    requester.map(name => ({ uris: [agentUri(name)], requester: name }))
  )
  let signed = 0
  await fc.assert(fc.property(requests, ({ uris, requester }) => {
    let pem: string
    try {
      pem = createCsr({ privateKeyPem: key.privateKeyPem, commonName: 'agent', uris })
    } catch {
      return // the generator asked for a SAN the encoder cannot express
    }
    let chain: string | undefined
    try {
      chain = signIntermediateRequest(pem, requester, context)
    } catch (error) {
      if (!(error instanceof CaBadCsrError)) throw error
    }
    const own = uris.length === 1 && uris[0] === agentUri(requester)
    if (chain !== undefined && !own) throw new Error(`signed ${JSON.stringify(uris)} for ${JSON.stringify(requester)}`)
    if (chain !== undefined) signed++
  }), fuzzParameters(150))
  assertReached(t, signed > 0, `${signed} requests for the requester's own identity were signed`)
})
