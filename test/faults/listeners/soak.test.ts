// Soak: a steady rate of requests through a sidecar pair (web → api on one agent, 127.0.0.131) with
// 1,000 idle mutual-TLS connections held open on api's sidecar beside it (from 127.0.0.132–135; the
// sidecar's HTTP keep-alive timeout closes a connection that never sends a request after 60 s, and
// the holder opens it again, so the pool stays at 1,000 and reconnects 1,000 times a minute).
// RSS and open file descriptors are sampled from /proc/<pid> and must stay flat; no request may
// fail. The holder resumes TLS 1.3 sessions as client pools do; MESH_SOAK_RESUME=0 makes it do a
// full handshake every time, which on node 24.21 costs the server memory that node itself keeps
// (docs/reliability.md, "Listeners"). MESH_SOAK_SECONDS sets the duration (default 60 s;
// docs/reliability.md has 10-minute runs:
// `MESH_SOAK_SECONDS=600 npx tap --timeout=900 test/faults/listeners/soak.test.ts`).

import t from 'tap'
import { Cluster } from '../../e2e/harness.ts'
import { SOAK_HOSTS, Flood, callUpstream, sampleProcess, startMeshPair } from './support.ts'
import type { ProcessSample } from './support.ts'

const SOAK_SECONDS = Number(process.env.MESH_SOAK_SECONDS ?? 60)
const RATE_PER_SECOND = 50
const IDLE_CONNECTIONS = 1000
const SAMPLE_EVERY_MS = 5000
const RESUME = (process.env.MESH_SOAK_RESUME ?? '1') !== '0'

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

t.test(`soak for ${SOAK_SECONDS} s at ${RATE_PER_SECOND} requests/s with ${IDLE_CONNECTIONS} idle connections beside`, { timeout: (SOAK_SECONDS + 180) * 1000 }, async (t) => {
  if (!Number.isFinite(SOAK_SECONDS) || SOAK_SECONDS < 20) throw new Error(`MESH_SOAK_SECONDS must be a number of seconds ≥ 20, got ${process.env.MESH_SOAK_SECONDS}`)
  const cluster = new Cluster()
  const idle = new Flood(SOAK_HOSTS)
  let pair: Awaited<ReturnType<typeof startMeshPair>> | undefined
  t.teardown(async () => {
    await idle.destroy()
    pair?.app.close()
    await cluster.cleanup()
  })
  // Default limits: the soak runs the agent as it ships.
  pair = await startMeshPair(cluster, SOAK_HOSTS, {}, 'soak')
  const pid = pair.agent.process.pid!
  const sources = SOAK_HOSTS.sources.slice(0, 4)
  idle.resumeSessions = RESUME
  await idle.hold(pair.inboundPort, sources, IDLE_CONNECTIONS / sources.length, 'tls', pair.leaf)
  t.equal(idle.connections.filter((connection) => connection.secured).length, IDLE_CONNECTIONS, `${IDLE_CONNECTIONS} idle mutual-TLS connections are open`)

  const samples: Array<ProcessSample & { atS: number }> = []
  const failures: string[] = []
  let sent = 0
  const startMs = Date.now()
  const endMs = startMs + SOAK_SECONDS * 1000
  let nextSampleMs = startMs
  while (Date.now() < endMs) {
    const slotMs = startMs + sent * (1000 / RATE_PER_SECOND)
    if (slotMs > Date.now()) await new Promise((resolve) => setTimeout(resolve, slotMs - Date.now()))
    sent++
    const status = await callUpstream(pair)
    if (status !== 200) failures.push(`${status} at ${Math.round((Date.now() - startMs) / 1000)} s`)
    if (Date.now() >= nextSampleMs) {
      samples.push({ ...sampleProcess(pid), atS: Math.round((Date.now() - startMs) / 1000) })
      nextSampleMs += SAMPLE_EVERY_MS
    }
  }
  const rateReached = sent / SOAK_SECONDS
  const quarter = Math.max(1, Math.floor(samples.length / 4))
  const early = samples.slice(0, quarter)
  const late = samples.slice(-quarter)
  const rss = { early: median(early.map((sample) => sample.rssMb)), late: median(late.map((sample) => sample.rssMb)), max: Math.max(...samples.map((sample) => sample.rssMb)) }
  const fds = { early: median(early.map((sample) => sample.fds)), late: median(late.map((sample) => sample.fds)), max: Math.max(...samples.map((sample) => sample.fds)) }
  t.comment(`${idle.reopened} idle connections reopened after the agent closed them, ${idle.resumed} of all handshakes resumed a session (resuming: ${RESUME})`)
  t.comment(`${sent} requests in ${SOAK_SECONDS} s (${rateReached.toFixed(1)}/s); RSS median ${rss.early} MB in the first quarter, ${rss.late} MB in the last, max ${rss.max} MB; fds ${fds.early} → ${fds.late}, max ${fds.max}`)
  t.comment(`samples (s: MB/fds): ${samples.map((sample) => `${sample.atS}: ${sample.rssMb}/${sample.fds}`).join(', ')}`)
  t.same(failures, [], `no request failed (${sent} sent)`)
  t.ok(rateReached >= RATE_PER_SECOND * 0.9, `the steady rate was kept (${rateReached.toFixed(1)} of ${RATE_PER_SECOND}/s)`)
  t.ok(rss.late <= rss.early * 1.1, `RSS flat: last quarter ${rss.late} MB within 10 % of the first quarter's ${rss.early} MB`)
  t.ok(fds.late <= fds.early + 10, `open fds flat: ${fds.early} → ${fds.late}`)
  t.ok(median(samples.map((sample) => sample.fds)) >= IDLE_CONNECTIONS, `the ${IDLE_CONNECTIONS} idle connections were held open (median ${median(samples.map((sample) => sample.fds))} fds)`)
  t.equal(idle.openCount, IDLE_CONNECTIONS, `the pool of idle connections is full at the end (${idle.openCount})`)
  if (RESUME && idle.reopened > 0) t.ok(idle.resumed > 0, `reopened connections resumed their sessions (${idle.resumed})`)
})
