// DNS over TCP under backpressure: a client that sends many queries and reads nothing makes every
// answer's write report a full buffer; the connection keeps one drain listener (no
// MaxListenersExceededWarning), stops reading and answering (so its write buffer stays within
// its high-water mark plus one answer, instead of holding every answer), and delivers every answer once the client reads.
import net from 'node:net'
import t from 'tap'
import { TcpDnsListener } from '../../../agent/dns/tcp.ts'

const HOST = '127.0.0.91'
const QUERIES = 200
const ANSWER_BYTES = 60_000

async function until (what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setImmediate(resolve))
  }
}

t.test('many answers to a client that does not read: one drain listener, no warning, all answers delivered', async t => {
  const warnings: Error[] = []
  const onWarning = (warning: Error): void => { warnings.push(warning) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })

  let answered = 0
  const listener = new TcpDnsListener({
    limits: { maxConnections: 4, maxConnectionsPerSource: 4, handshakeTimeoutMs: 0, idleTimeoutMs: 30_000 },
    maxPendingPerConnection: 16,
    onMessage: (message) => { answered++; return Buffer.alloc(ANSWER_BYTES, message[0]) },
    onError: (error) => { throw error },
  })
  const port = await listener.listen(0, HOST)
  t.teardown(() => listener.close())

  const client = net.connect({ port, host: HOST })
  t.teardown(() => { client.destroy() })
  await new Promise<void>((resolve, reject) => { client.once('connect', resolve); client.once('error', reject) })
  client.pause()
  const frames = Buffer.concat(Array.from({ length: QUERIES }, (_, i) => Buffer.from([0, 1, i])))
  client.write(frames)

  await until('the server to wait for the client to read', () => listener.sockets.size === 1 && [...listener.sockets][0].writableNeedDrain)
  const [serverSide] = listener.sockets
  // Give the server every chance to go on answering (it must not) and warnings a tick to arrive.
  for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve))
  t.ok(answered < QUERIES, `the server stopped answering while the client does not read (${answered} of ${QUERIES})`)
  const bound = serverSide.writableHighWaterMark + ANSWER_BYTES + 2
  t.ok(serverSide.writableLength <= bound, `the write buffer holds at most its high-water mark plus one answer (${serverSide.writableLength} ≤ ${bound} bytes)`)
  t.equal(serverSide.listenerCount('drain'), 1, 'one drain listener, not one per answer')

  let received = 0
  client.on('data', (chunk: Buffer) => { received += chunk.length })
  client.resume()
  await until('every answer to arrive', () => received === QUERIES * (ANSWER_BYTES + 2))
  t.same(warnings.filter(warning => warning.name === 'MaxListenersExceededWarning'), [], 'no MaxListenersExceededWarning')
  t.equal(answered, QUERIES, 'every query was answered once the client read')
  t.equal(serverSide.listenerCount('drain'), 1, 'still one after draining')
})
