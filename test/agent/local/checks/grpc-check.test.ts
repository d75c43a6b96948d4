import t from 'tap'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { GrpcProbe } from '../../../../agent/local/checks/grpc-check.ts'
import {
  HEALTH_CHECK_PATH, decodeHealthCheckResponse, encodeHealthCheckRequest, encodeHealthCheckResponse,
} from '../../../../agent/local/checks/grpc-health-codec.ts'
import { closedPort } from './fixtures/ports.ts'

t.test('codec: request frames carry the service name as protobuf field 1', async t => {
  t.same([...encodeHealthCheckRequest('')], [0, 0, 0, 0, 0])
  t.same([...encodeHealthCheckRequest('web')], [0, 0, 0, 0, 5, 0x0a, 3, 0x77, 0x65, 0x62])
  const long = 'x'.repeat(200)
  const framed = encodeHealthCheckRequest(long)
  t.same([...framed.subarray(5, 8)], [0x0a, 0xc8, 0x01], 'length 200 is a two-byte varint')
})

t.test('codec: response status decodes, unknown fields are skipped, absent status is UNKNOWN', async t => {
  t.equal(decodeHealthCheckResponse(encodeHealthCheckResponse(1)), 1)
  t.equal(decodeHealthCheckResponse(encodeHealthCheckResponse(2)), 2)
  t.equal(decodeHealthCheckResponse(encodeHealthCheckResponse(0)), 0)
  const withExtra = Buffer.from([0, 0, 0, 0, 7, 0x12, 2, 0x61, 0x62, 0x08, 0x01, 0x18])
  withExtra.writeUInt32BE(6, 1)
  t.equal(decodeHealthCheckResponse(withExtra.subarray(0, 11)), 1)
  t.throws(() => decodeHealthCheckResponse(Buffer.from([0, 0, 0])), /no complete gRPC frame/)
  t.throws(() => decodeHealthCheckResponse(Buffer.from([1, 0, 0, 0, 0])), /compressed/)
  t.throws(() => decodeHealthCheckResponse(Buffer.from([0, 0, 0, 0, 9, 0x08])), /truncated/)
})

/** An h2c gRPC health server: answers each service from the table, records what was asked. */
async function healthServer (t: Test, statusByService: Record<string, number>, grpcError?: { code: string, message: string }) {
  const asked: string[] = []
  const server = http2.createServer()
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => {
      t.equal(headers[':path'], HEALTH_CHECK_PATH)
      t.equal(headers['content-type'], 'application/grpc')
      const body = Buffer.concat(chunks)
      const message = body.subarray(5)
      const service = message.length === 0 ? '' : message.subarray(2).toString('utf8')
      asked.push(service)
      if (grpcError !== undefined) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': grpcError.code, 'grpc-message': encodeURIComponent(grpcError.message) }, { endStream: true })
        return
      }
      const status = statusByService[service]
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true })
      stream.on('wantTrailers', () => stream.sendTrailers(status === undefined ? { 'grpc-status': '5', 'grpc-message': 'unknown service' } : { 'grpc-status': '0' }))
      stream.end(status === undefined ? undefined : encodeHealthCheckResponse(status))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, asked }
}

t.test('SERVING is passing; the service name after the slash is what is asked', async t => {
  const { address, asked } = await healthServer(t, { '': 1, web: 1 })
  t.same(await new GrpcProbe({ target: address }).check(new AbortController().signal),
    { status: 'passing', output: `gRPC check ${address}: success` })
  t.same(await new GrpcProbe({ target: `${address}/web` }).check(new AbortController().signal),
    { status: 'passing', output: `gRPC check ${address}/web: success` })
  t.same(asked, ['', 'web'])
})

t.test('NOT_SERVING is critical and named', async t => {
  const { address } = await healthServer(t, { web: 2 })
  t.same(await new GrpcProbe({ target: `${address}/web` }).check(new AbortController().signal),
    { status: 'critical', output: `gRPC check ${address}/web: gRPC ${address}/web serving status: NOT_SERVING` })
})

t.test('a gRPC error status is critical with its code and message', async t => {
  const { address } = await healthServer(t, {})
  const result = await new GrpcProbe({ target: `${address}/nope` }).check(new AbortController().signal)
  t.same(result, { status: 'critical', output: `gRPC check ${address}/nope: rpc error: code = 5 desc = unknown service` })
  const { address: failing } = await healthServer(t, {}, { code: '14', message: 'shutting down' })
  const trailersOnly = await new GrpcProbe({ target: failing }).check(new AbortController().signal)
  t.same(trailersOnly, { status: 'critical', output: `gRPC check ${failing}: rpc error: code = 14 desc = shutting down` })
})

t.test('a closed port is critical', async t => {
  const target = `127.0.0.1:${await closedPort()}`
  const result = await new GrpcProbe({ target }).check(new AbortController().signal)
  t.equal(result.status, 'critical')
  t.match(result.output, `gRPC check ${target}: connect ECONNREFUSED`)
})

t.test('an aborted round is critical with the reason', async t => {
  const server = http2.createServer()
  server.on('stream', () => {})
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const target = `127.0.0.1:${(server.address() as AddressInfo).port}`
  const controller = new AbortController()
  const pending = new GrpcProbe({ target }).check(controller.signal)
  controller.abort(new Error('check timed out after 10000ms'))
  t.same(await pending, { status: 'critical', output: `gRPC check ${target}: check timed out after 10000ms` })
})

t.test('a target without host:port is refused at construction', async t => {
  t.throws(() => new GrpcProbe({ target: 'no-port/web' }), /not host:port/)
})
