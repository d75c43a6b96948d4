// How the sidecar manager words a listener failure for the sidecar's checks.

import t from 'tap'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { listenerFailure } from '../../../agent/connect/sidecars.ts'

t.test('a bind error names the address, port and code; other errors are not listener failures', async t => {
  const holder = createServer()
  await new Promise<void>(resolve => holder.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { holder.close() })
  const { port } = holder.address() as AddressInfo
  const second = createServer()
  const error = await new Promise<Error>(resolve => { second.once('error', resolve); second.listen(port, '127.0.0.1') })
  t.equal(listenerFailure(error), `listener on 127.0.0.1:${port}: EADDRINUSE`)
  t.equal(listenerFailure(Object.assign(new Error('listen EACCES'), { syscall: 'listen', code: 'EACCES', address: '::1', port: 80 })), 'listener on [::1]:80: EACCES')
  t.equal(listenerFailure(new Error('no leaf certificate yet')), undefined)
})
