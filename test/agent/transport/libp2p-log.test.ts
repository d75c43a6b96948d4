// libp2p's printf-style log calls reach pino formatted: no raw placeholders, the wrong-key warning
// names the address and the reason, once per remote host.
import t from 'tap'
import { multiaddr } from '@multiformats/multiaddr'
import { bridgeLibp2pLogger, formatLibp2pLog } from '../../../agent/transport/libp2p-log.ts'
import { captureLogger, LEVEL } from '../../fixtures/log-capture.ts'

t.test('directives are replaced by their arguments', async t => {
  const address = multiaddr('/ip4/127.0.0.91/tcp/8301')
  t.equal(formatLibp2pLog('failed to upgrade %s connection %s %a - %e', ['inbound', 'from', address, new Error('bad psk')]),
    'failed to upgrade inbound connection from /ip4/127.0.0.91/tcp/8301 - bad psk')
  t.equal(formatLibp2pLog('%d peers, 100%% of %j', [3, { a: 1 }]), '3 peers, 100% of {"a":1}')
  t.equal(formatLibp2pLog('missing %s and %s', ['one']), 'missing one and %s', 'a directive without an argument stays')
  t.equal(formatLibp2pLog('extra', ['x', 2]), 'extra x 2', 'extra arguments are appended')
  t.equal(formatLibp2pLog('bytes %b', [new Uint8Array([1, 255])]), 'bytes 01ff')
  t.equal(formatLibp2pLog('all failed %e', [new AggregateError([new Error('a'), new Error('b')], 'all')]), 'all failed all (a; b)')
  t.equal(formatLibp2pLog(new Error('direct'), []), 'direct', 'a logged error alone is its message')
})

t.test('the wrong-key warning is formatted, with address and reason fields, once per address', async t => {
  const { log, lines } = captureLogger('debug')
  const upgrader = bridgeLibp2pLogger(log).forComponent('libp2p:upgrader')
  const from91 = multiaddr('/ip4/127.0.0.91/tcp/40001')
  const error = new Error('Invalid nonce length')
  upgrader.error('failed to upgrade %s connection %s %a - %e', 'inbound', 'from', from91, error)
  upgrader.error('failed to upgrade %s connection %s %a - %e', 'inbound', 'from', from91, error)
  upgrader.error('failed to upgrade %s connection %s %a - %e', 'inbound', 'from', multiaddr('/ip4/127.0.0.91/tcp/40009'), error)
  upgrader.error('failed to upgrade %s connection %s %a - %e', 'inbound', 'from', multiaddr('/ip4/127.0.0.92/tcp/40002'), error)
  const warnings = lines.filter(line => line.level === LEVEL.warn)
  t.equal(warnings.length, 2, 'one warning per remote host, whatever its port')
  t.match(warnings[0], {
    msg: 'could not secure a connection: the peer may use another cluster key (--encrypt), or none',
    address: '/ip4/127.0.0.91/tcp/40001',
    reason: 'failed to upgrade inbound connection from /ip4/127.0.0.91/tcp/40001 - Invalid nonce length',
  })
  for (const line of lines) t.notMatch(JSON.stringify(line), /%[sae]/, 'no raw placeholder anywhere')

  upgrader.error('stream %s reset %e', 'yamux', new Error('reset'))
  t.match(lines.at(-1), { level: LEVEL.debug, libp2p: 'libp2p:upgrader', msg: 'stream yamux reset reset' }, 'other errors go to DEBUG, formatted')
})
