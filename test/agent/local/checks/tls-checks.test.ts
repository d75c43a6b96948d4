import t from 'tap'
import https from 'node:https'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { HttpProbe } from '../../../../agent/local/checks/http-check.ts'
import { GrpcProbe } from '../../../../agent/local/checks/grpc-check.ts'
import { encodeHealthCheckResponse } from '../../../../agent/local/checks/grpc-health-codec.ts'
import { selfSignedCertificate } from './fixtures/self-signed.ts'

const certificate = selfSignedCertificate()
if (certificate === undefined) {
  t.test('TLS checks', { skip: 'openssl is not available to make a test certificate' }, async () => {})
} else {
  const { key, cert } = certificate

  t.test('HTTPS: an untrusted certificate is critical unless TLSSkipVerify; TLSServerName is the SNI sent', async t => {
    const serverNames: Array<string | false | null> = []
    const server = https.createServer({ key, cert }, (request, response) => {
      serverNames.push((request.socket as TLSSocket).servername)
      response.end('secure')
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`
    const strict = await new HttpProbe({ url }).check(new AbortController().signal)
    t.equal(strict.status, 'critical')
    t.match(strict.output, /self-signed certificate/)
    const skipped = await new HttpProbe({ url, tlsSkipVerify: true, tlsServerName: 'svc.internal' }).check(new AbortController().signal)
    t.same(skipped, { status: 'passing', output: `HTTP GET ${url}: 200 OK Output: secure` })
    t.same(serverNames, ['svc.internal'])
  })

  t.test('gRPC with GRPCUseTLS talks HTTP/2 over TLS', async t => {
    const server = http2.createSecureServer({ key, cert })
    server.on('stream', (stream) => {
      stream.on('data', () => {})
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true })
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }))
        stream.end(encodeHealthCheckResponse(1))
      })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
    const target = `127.0.0.1:${(server.address() as AddressInfo).port}`
    const strict = await new GrpcProbe({ target, useTls: true }).check(new AbortController().signal)
    t.equal(strict.status, 'critical')
    const skipped = await new GrpcProbe({ target, useTls: true, tlsSkipVerify: true }).check(new AbortController().signal)
    t.same(skipped, { status: 'passing', output: `gRPC check ${target}: success` })
    const plain = await new GrpcProbe({ target }).check(new AbortController().signal)
    t.equal(plain.status, 'critical', 'h2c against a TLS server fails')
  })
}
