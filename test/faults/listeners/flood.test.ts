// Connection floods against every listener of a real agent (a child process on 127.0.0.101; flood
// sources 127.0.0.102–108): the sidecar's public mTLS listener, the HTTP API, DNS over TCP and
// libp2p's TCP listener. Short limits come from the config file's `limits` block so the deadlines
// pass in seconds. Asserted: per-source and per-listener caps refuse exactly what is beyond them;
// silent and trickling connections are closed at the handshake deadline, not before; the API, DNS
// and a request through the sidecar pair keep working during the flood; and after three rounds of
// fully handshaken TLS floods the agent's RSS comes back within 20 % of its level before them.

import t from 'tap'
import { Cluster, http, waitFor } from '../../e2e/harness.ts'
import { FLOOD_HOSTS, Flood, callUpstream, dnsOverTcp, sampleProcess, startMeshPair } from './support.ts'

const PER_SOURCE = 100
const PER_LISTENER = 400
const HANDSHAKE_MS = 3000
const IDLE_MS = 4000
const TLS_SOURCES = 3
const LIMITS = Object.fromEntries(['proxy', 'http', 'dns', 'rpc'].flatMap((kind) => [
  [`${kind}_max_conns`, PER_LISTENER],
  [`${kind}_max_conns_per_client`, PER_SOURCE],
  [`${kind}_handshake_timeout`, `${HANDSHAKE_MS}ms`],
  [`${kind}_idle_timeout`, `${IDLE_MS}ms`],
]))

t.test('listener floods: caps hold, deadlines close, the agent keeps serving, memory comes back', async (t) => {
  const cluster = new Cluster()
  const floods: Flood[] = []
  let pair: Awaited<ReturnType<typeof startMeshPair>> | undefined
  t.teardown(async () => {
    for (const flood of floods) await flood.destroy()
    pair?.app.close()
    await cluster.cleanup()
  })
  pair = await startMeshPair(cluster, FLOOD_HOSTS, LIMITS, 'flood')
  const pid = pair.agent.process.pid!
  const serving = async (): Promise<{ api: number, dns: number, sidecar: number }> => ({
    api: (await http(pair!.agent, 'GET', '/v1/agent/self').catch(() => ({ status: 0 }))).status,
    dns: await dnsOverTcp(pair!, 'flood.node.consul'),
    sidecar: await callUpstream(pair!),
  })
  t.same(await serving(), { api: 200, dns: 1, sidecar: 200 }, 'before the flood: API, DNS over TCP and the sidecar pair answer')
  // "Before" is an agent that has served mutual TLS at all: the first handshakes compile and load
  // code once (TLS, HTTP/1.1 paths), which is not memory a flood holds.
  const warmUp = new Flood(FLOOD_HOSTS)
  floods.push(warmUp)
  await warmUp.open(pair.inboundPort, FLOOD_HOSTS.sources.slice(0, 1), 20, 'tls', pair.leaf)
  await warmUp.destroy()
  const before = sampleProcess(pid)
  // A steady request loop through web → api for the whole test: none may fail.
  const loop = { sent: 0, failed: [] as string[], stop: false, phase: 'per-source floods' }
  const looping = (async () => {
    while (!loop.stop) {
      loop.sent++
      const status = await callUpstream(pair!)
      if (status !== 200) loop.failed.push(`${status} during ${loop.phase}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()

  // Round 1: two sources each open 20 more idle connections than their cap, a third trickles a ClientHello.
  const listeners = { sidecar: pair.inboundPort, api: pair.httpPort, dns: pair.dnsPort, gossip: pair.gossipPort }
  const idle: Record<string, Flood> = {}
  const trickle: Record<string, Flood> = {}
  await Promise.all(Object.entries(listeners).map(async ([name, port]) => {
    idle[name] = new Flood(FLOOD_HOSTS)
    trickle[name] = new Flood(FLOOD_HOSTS)
    floods.push(idle[name], trickle[name])
    await Promise.all([idle[name].open(port, FLOOD_HOSTS.sources.slice(0, 2), PER_SOURCE + 20, 'idle'), trickle[name].open(port, FLOOD_HOSTS.sources.slice(2, 3), 50, 'trickle')])
  }))
  for (const name of ['sidecar', 'api', 'dns']) {
    await waitFor(`${name}: the connections over the per-source cap to be refused`, async () => idle[name].closed.length >= 40, 2000, 20)
    t.equal(idle[name].closed.length, 40, `${name}: exactly the 2 × 20 connections over the per-source cap are refused`)
    t.ok(idle[name].closed.every((connection) => connection.closedMs! - connection.openedMs < HANDSHAKE_MS), `${name}: refused at once, not at the deadline`)
  }
  const during = sampleProcess(pid)
  t.same(await serving(), { api: 200, dns: 1, sidecar: 200 }, 'during the flood: API, DNS over TCP and the sidecar pair still answer')
  t.ok(during.fds >= before.fds + 3 * 2 * PER_SOURCE, `the agent holds the admitted connections (${during.fds} fds, ${before.fds} before)`)

  for (const name of Object.keys(listeners)) {
    await waitFor(`${name}: the deadlines to close every flood connection`, async () => idle[name].openCount === 0 && trickle[name].openCount === 0, 20_000, 50)
    const kept = FLOOD_HOSTS.sources.slice(0, 2).map((source) => idle[name].keptFrom(source, HANDSHAKE_MS - 100))
    if (name === 'gossip') {
      // libp2p admits at most 64 connections in their upgrade at once (maxIncomingPendingConnections) and closes the rest itself.
      t.ok(kept.every((count) => count <= PER_SOURCE) && kept[0] + kept[1] > 0, `gossip: at most ${PER_SOURCE} per source kept until the deadline (${kept.join(' + ')})`)
    } else {
      t.same(kept, [PER_SOURCE, PER_SOURCE], `${name}: each source's ${PER_SOURCE} admitted silent connections were kept until the handshake deadline`)
    }
    const late = idle[name].connections.filter((connection) => connection.closedMs! - connection.openedMs > HANDSHAKE_MS + IDLE_MS + 2000).length
    t.equal(late, 0, `${name}: no silent connection outlived the handshake deadline by more than the idle timeout`)
  }
  t.ok(trickle.sidecar.connections.every((connection) => connection.closedMs! - connection.openedMs >= HANDSHAKE_MS - 100 && connection.closedMs! - connection.openedMs < HANDSHAKE_MS + 3000),
    'a trickled ClientHello does not extend the TLS handshake deadline')
  await waitFor('the agent to let go of the flood\'s file descriptors', async () => sampleProcess(pid).fds <= before.fds + 5, 10_000)

  loop.phase = 'listener-cap flood'
  // Round 2: five sources, each within its cap, together over the listener cap of the sidecar.
  const overCap = new Flood(FLOOD_HOSTS)
  floods.push(overCap)
  await overCap.open(pair.inboundPort, FLOOD_HOSTS.sources.slice(0, 5), PER_SOURCE, 'idle')
  await waitFor('connections over the listener cap to be refused', async () => overCap.closed.length >= 5 * PER_SOURCE - PER_LISTENER, 2000, 20)
  // The pair's own keep-alive connection (web's sidecar → api's) holds one slot, two at most.
  const refused = overCap.closed.length
  t.ok(refused >= 5 * PER_SOURCE - PER_LISTENER + 1 && refused <= 5 * PER_SOURCE - PER_LISTENER + 2,
    `the connections over the listener cap are refused, no more (${refused}: ${5 * PER_SOURCE} opened, cap ${PER_LISTENER} with the pair's own connection in it)`)
  t.same(await serving(), { api: 200, dns: 1, sidecar: 200 }, 'with the sidecar listener full, the pair still answers over its kept connections, and so do API and DNS')
  await overCap.destroy()

  // Rounds 3–5: fully handshaken mutual-TLS connections (three sources at their cap), closed by the idle timeout.
  loop.phase = 'TLS floods'
  const samples: number[] = []
  for (let round = 0; round < 3; round++) {
    const flood = new Flood(FLOOD_HOSTS)
    floods.push(flood)
    await flood.open(pair.inboundPort, FLOOD_HOSTS.sources.slice(0, TLS_SOURCES), PER_SOURCE, 'tls', pair.leaf)
    const secured = flood.connections.filter((connection) => connection.secured).length
    const peak = sampleProcess(pid)
    await waitFor(`round ${round + 1}: the idle timeout to close every handshaken connection`, async () => flood.openCount === 0, IDLE_MS * 2 + 10_000, 50)
    t.equal(secured, TLS_SOURCES * PER_SOURCE, `round ${round + 1}: ${secured} mutual-TLS connections completed`)
    const settled = await waitFor(`round ${round + 1}: RSS to come back within 20 % of ${before.rssMb} MB`, async () => {
      const sample = sampleProcess(pid)
      return sample.rssMb <= before.rssMb * 1.2 ? sample : undefined
    }, 30_000, 250).catch(() => sampleProcess(pid))
    samples.push(settled.rssMb)
    t.comment(`round ${round + 1}: RSS ${before.rssMb} MB before, ${peak.rssMb} MB with ${secured} connections open, ${settled.rssMb} MB after; fds ${before.fds} → ${peak.fds} → ${settled.fds}`)
  }
  t.ok(samples.every((rssMb) => rssMb <= before.rssMb * 1.2), `RSS after each round (${samples.join(', ')} MB) within 20 % of before (${before.rssMb} MB)`)
  t.same(await serving(), { api: 200, dns: 1, sidecar: 200 }, 'after the floods everything answers')
  loop.stop = true
  await looping
  t.same(loop.failed, [], `no request through the sidecar pair failed during the floods (${loop.sent} sent)`)
})
