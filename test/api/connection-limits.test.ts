import t from 'tap'
import { EventEmitter } from 'node:events'
import { createServer, connect } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import {
  DEFAULT_LISTENER_LIMITS, GUARD_LOG_INTERVAL_MS, InvalidConnectionLimitsError, ListenerGuard, guardServer, withOverrides
} from '../../api/connection-limits.ts'
import type { ConnectionLimits, HandshakeKind } from '../../api/connection-limits.ts'
import { ManualClock } from '../fixtures/manual-clock.ts'

class FakeSocket extends EventEmitter {
  bytesRead = 0
  bytesWritten = 0
  destroyed = false
  readonly remoteAddress: string
  readonly remotePort: number
  constructor (remoteAddress: string, remotePort: number) {
    super()
    this.remoteAddress = remoteAddress
    this.remotePort = remotePort
  }

  destroy (): void {
    if (this.destroyed) return
    this.destroyed = true
    // A real socket emits 'close' on a later tick; the guard must not depend on it.
    queueMicrotask(() => this.emit('close'))
  }
}

const LIMITS: ConnectionLimits = { maxConnections: 4, maxConnectionsPerSource: 2, handshakeTimeoutMs: 1000, idleTimeoutMs: 8000 }

function setup (handshake: HandshakeKind = 'first-byte', limits: ConnectionLimits = LIMITS): { guard: ListenerGuard, clock: ManualClock, logs: Array<Record<string, unknown>>, events: string[] } {
  const clock = new ManualClock(0)
  const logs: Array<Record<string, unknown>> = []
  const events: string[] = []
  const guard = new ListenerGuard({
    listener: 'test', limits, handshake, clock,
    log: { warn: (fields) => { logs.push(fields) } },
    onEvent: (event) => { events.push(event) }
  })
  return { guard, clock, logs, events }
}

let port = 40000
const socketFrom = (address: string): FakeSocket => new FakeSocket(address, port++)

t.test('the listener cap refuses connections beyond it and frees a slot when one closes', async (t) => {
  const { guard, events } = setup()
  const sockets = ['10.0.0.1', '10.0.0.1', '10.0.0.2', '10.0.0.2', '10.0.0.3'].map(socketFrom)
  t.same(sockets.map((socket) => guard.admit(socket)), [true, true, true, true, false])
  t.ok(sockets[4].destroyed, 'the refused socket is destroyed at once')
  t.same(events, ['listener-cap'])
  sockets[0].destroy()
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(guard.admit(socketFrom('10.0.0.3')), 'a slot is free after a close')
  t.match(guard.stats(), { active: 4, peakActive: 4, refusedListenerCap: 1, refusedSourceCap: 0 })
})

t.test('the per-source cap refuses one address without touching the others', async (t) => {
  const { guard } = setup()
  t.ok(guard.admit(socketFrom('10.0.0.1')))
  t.ok(guard.admit(socketFrom('10.0.0.1')))
  const third = socketFrom('10.0.0.1')
  t.notOk(guard.admit(third), 'a third connection from one address is refused')
  t.ok(third.destroyed)
  t.ok(guard.admit(socketFrom('10.0.0.2')), 'another address still gets in')
  t.match(guard.stats(), { active: 3, sources: 2, refusedSourceCap: 1 })
})

t.test('first-byte handshake: a silent connection is closed at the deadline, a talking one is kept', async (t) => {
  const { guard, clock, events } = setup('first-byte')
  const silent = socketFrom('10.0.0.1')
  const talking = socketFrom('10.0.0.2')
  guard.admit(silent)
  guard.admit(talking)
  talking.bytesRead = 1
  clock.advance(999)
  t.notOk(silent.destroyed, 'open before the deadline')
  clock.advance(1)
  t.ok(silent.destroyed, 'closed at the deadline')
  t.notOk(talking.destroyed, 'a connection that sent a byte is kept')
  t.same(events, ['handshake-timeout'])
  t.equal(guard.stats().active, 1, 'the slot is freed at once')
})

t.test('tls handshake: only a completed handshake stops the deadline (a trickled ClientHello does not)', async (t) => {
  const { guard, clock } = setup('tls')
  const trickling = socketFrom('10.0.0.1')
  const secured = socketFrom('10.0.0.2')
  guard.admit(trickling)
  guard.admit(secured)
  trickling.bytesRead = 3
  clock.advance(500)
  trickling.bytesRead = 7
  guard.handshakeCompleted(secured.remoteAddress, secured.remotePort)
  clock.advance(500)
  t.ok(trickling.destroyed, 'bytes without a completed handshake do not save it')
  t.notOk(secured.destroyed)
  t.equal(guard.stats().handshakeTimeouts, 1)
})

t.test('handshake kind none sets no deadline', async (t) => {
  const { guard, clock } = setup('none', { ...LIMITS, idleTimeoutMs: 0 })
  const socket = socketFrom('10.0.0.1')
  guard.admit(socket)
  t.equal(clock.pendingTimers, 0, 'no timer at all with no deadline and no idle timeout')
  clock.advance(60_000)
  t.notOk(socket.destroyed)
})

t.test('idle timeout: silent both ways for the timeout closes; any byte read or written resets it', async (t) => {
  const { guard, clock, events } = setup('none')
  const idle = socketFrom('10.0.0.1')
  const reading = socketFrom('10.0.0.2')
  const writing = socketFrom('10.0.0.3')
  for (const socket of [idle, reading, writing]) guard.admit(socket)
  for (let step = 0; step < 3; step++) {
    reading.bytesRead += 10
    writing.bytesWritten += 10
    clock.advance(2000)
  }
  t.notOk(idle.destroyed, 'open before the timeout')
  reading.bytesRead += 10
  writing.bytesWritten += 10
  clock.advance(2000)
  t.ok(idle.destroyed, 'closed once silent for the timeout')
  t.notOk(reading.destroyed)
  t.notOk(writing.destroyed)
  clock.advance(10_000)
  t.ok(reading.destroyed && writing.destroyed, 'closed once they go quiet')
  t.same(events, ['idle-timeout', 'idle-timeout', 'idle-timeout'])
  t.equal(clock.pendingTimers, 0, 'no sweep is scheduled while the listener has no connection')
})

t.test('refusals are logged at most once per interval, with counts', async (t) => {
  const { guard, clock, logs } = setup('none', { ...LIMITS, maxConnections: 1, idleTimeoutMs: 0 })
  guard.admit(socketFrom('10.0.0.1'))
  for (let index = 0; index < 50; index++) guard.admit(socketFrom('10.0.0.9'))
  t.equal(logs.length, 1, 'the first refusal is logged')
  t.match(logs[0], { listener: 'test', 'listener-cap': 1, lastSource: '10.0.0.9' })
  clock.advance(GUARD_LOG_INTERVAL_MS)
  guard.admit(socketFrom('10.0.0.9'))
  t.equal(logs.length, 2)
  t.match(logs[1], { 'listener-cap': 50 }, 'the next line carries every refusal since the last')
})

t.test('new limits apply at once; stop refuses everything', async (t) => {
  const { guard, clock } = setup('none')
  t.ok(guard.admit(socketFrom('10.0.0.1')))
  guard.setLimits({ ...LIMITS, maxConnections: 1 })
  t.notOk(guard.admit(socketFrom('10.0.0.2')))
  guard.stop()
  t.equal(clock.pendingTimers, 0, 'stop clears its timers')
  guard.setLimits({ ...LIMITS, maxConnections: 10 })
  t.notOk(guard.admit(socketFrom('10.0.0.2')), 'a stopped guard refuses')
})

t.test('bad limits are refused with a clear error and change nothing', async (t) => {
  const { guard } = setup()
  t.throws(() => { guard.setLimits({ ...LIMITS, maxConnections: 0 }) }, InvalidConnectionLimitsError)
  t.throws(() => { guard.setLimits({ ...LIMITS, maxConnectionsPerSource: 1.5 }) }, /maxConnectionsPerSource must be a positive integer/)
  t.throws(() => { guard.setLimits({ ...LIMITS, idleTimeoutMs: -1 }) }, /idleTimeoutMs must be a duration/)
  t.throws(() => { guard.setLimits({ ...LIMITS, handshakeTimeoutMs: Number.NaN }) }, /handshakeTimeoutMs/)
  t.same(guard.currentLimits, LIMITS, 'the limits in force are unchanged')
  t.same(withOverrides(DEFAULT_LISTENER_LIMITS.http, { maxConnectionsPerSource: 7 }), { ...DEFAULT_LISTENER_LIMITS.http, maxConnectionsPerSource: 7 })
})

t.test('guardServer: a real net.Server never sees refused connections', async (t) => {
  const clock = new ManualClock(0)
  const seen: Socket[] = []
  const server = createServer((socket) => { seen.push(socket); socket.on('error', () => {}) })
  const guard = guardServer(server, { listener: 'net', limits: { ...LIMITS, maxConnectionsPerSource: 3 }, handshake: 'first-byte', clock })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const { port } = server.address() as AddressInfo
  const clients: Socket[] = []
  const closed: Array<Promise<void>> = []
  for (let index = 0; index < 4; index++) {
    const client = connect(port, '127.0.0.1')
    client.on('error', () => {})
    closed.push(new Promise((resolve) => client.once('close', () => { resolve() })))
    clients.push(client)
    await new Promise((resolve) => client.once('connect', resolve))
  }
  await closed[3]
  t.equal(seen.length, 3, 'the server saw only the admitted connections')
  clients[0].write('x')
  await new Promise<void>((resolve) => { const poll = (): void => { if (seen[0].bytesRead > 0) resolve(); else setImmediate(poll) }; poll() })
  clock.advance(LIMITS.handshakeTimeoutMs)
  await Promise.all([closed[1], closed[2]])
  t.notOk(clients[0].destroyed, 'the client that spoke is still connected')
  t.match(guard.stats(), { active: 1, refusedSourceCap: 1, handshakeTimeouts: 2 })
  clients[0].destroy()
  await closed[0]
})
