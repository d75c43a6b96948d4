import t from 'tap'
import { DEFAULT_HTTP_ADDR, parseHostPort, parsePort, resolveHttpAddr } from '../../cli/addresses.ts'
import { parseDurationText } from '../../cli/duration.ts'
import { UsageError } from '../../cli/errors.ts'

t.test('the agent address: flag, then MESH_HTTP_ADDR, then http://127.0.0.1:8500', async t => {
  t.equal(resolveHttpAddr(undefined, undefined), 'http://127.0.0.1:8500')
  t.equal(DEFAULT_HTTP_ADDR, 'http://127.0.0.1:8500')
  t.equal(resolveHttpAddr(undefined, '  '), DEFAULT_HTTP_ADDR, 'an empty variable is unset')
  t.equal(resolveHttpAddr(undefined, '10.0.0.1:8500'), 'http://10.0.0.1:8500')
  t.equal(resolveHttpAddr('agent.local:9500', '10.0.0.1:8500'), 'http://agent.local:9500')
  t.equal(resolveHttpAddr('https://agent.local/', undefined), 'https://agent.local')
  t.equal(resolveHttpAddr('[::1]:8500', undefined), 'http://[::1]:8500')
  t.throws(() => resolveHttpAddr('http://a:8500/?x=1', undefined), UsageError)
  t.throws(() => resolveHttpAddr(undefined, 'unix:///tmp/sock'), /MESH_HTTP_ADDR must use http or https/)
})

t.test('HOST[:PORT] parsing, IPv6 in brackets', async t => {
  t.same(parseHostPort('10.0.0.1', 'x'), { host: '10.0.0.1', port: undefined })
  t.same(parseHostPort('10.0.0.1:8301', 'x'), { host: '10.0.0.1', port: 8301 })
  t.same(parseHostPort('[::1]:8301', 'x'), { host: '::1', port: 8301 })
  t.same(parseHostPort('::1', 'x'), { host: '::1', port: undefined })
  t.same(parseHostPort('node-1.example:8301', 'x'), { host: 'node-1.example', port: 8301 })
  t.throws(() => parseHostPort('node-1.example', 'x', { ipOnly: true }), /x must be an IP address/)
  t.throws(() => parseHostPort('10.0.0.1', 'x', { portRequired: true }), /HOST:PORT/)
  t.throws(() => parseHostPort('10.0.0.1:70000', 'x'), /between 1 and 65535/)
  t.throws(() => parseHostPort('bad host:1', 'x'), UsageError)
  t.throws(() => parseHostPort('[nope]:1', 'x'), /invalid IPv6/)
})

t.test('ports: range, zero and -1 only where allowed', async t => {
  t.equal(parsePort('8500', 'p'), 8500)
  t.equal(parsePort('0', 'p', { allowZero: true }), 0)
  t.equal(parsePort('-1', 'p', { allowDisabled: true }), -1)
  t.throws(() => parsePort('0', 'p'), /between 1 and 65535/)
  t.throws(() => parsePort('-1', 'p', { allowZero: true }), /between 0 and 65535/)
  t.throws(() => parsePort('85O0', 'p'), UsageError)
  t.throws(() => parsePort('1e3', 'p'), UsageError)
})

t.test('durations: Go syntax with a unit, longer than zero', async t => {
  for (const good of ['10s', '1m30s', '500ms', '1.5h', '72h']) t.equal(parseDurationText(good, 'd'), good)
  for (const bad of ['10', 's', '10 s', '-5s', '1d', '0s', '']) t.throws(() => parseDurationText(bad, 'd'), UsageError, bad)
})
