// The listen-and-close probe registration uses to find whether a sidecar port is free.

import t from 'tap'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { probeListenPort } from '../../../agent/local/port-probe.ts'

t.test('a port another server listens on is reported with the bind error; once closed it is free', async t => {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  t.equal(await probeListenPort('127.0.0.1', port), 'EADDRINUSE')
  await new Promise<void>(resolve => server.close(() => { resolve() }))
  t.equal(await probeListenPort('127.0.0.1', port), undefined)
  t.equal(await probeListenPort('127.0.0.1', port), undefined, 'the probe released the port it bound')
})
