// The agent's DNS interface (Consul's): UDP and TCP on one port, answers from a DnsCatalogView.
//
// Fast path: a query's header, question and OPT record are read by hand (wire.ts); the prepared
// answer for its question bytes comes from a cache that is dropped whenever the view's `version()`
// changes; the answer's bytes are assembled from pre-encoded records with only the id, flags, order
// and size limit applied per query (response.ts). A cache miss runs the lookup (lookup.ts) and
// encodes its records once. Names outside our domains go to the recursors, or get REFUSED.

import dgram from 'node:dgram'
import net from 'node:net'
import pino from 'pino'
import type { Logger } from 'pino'
import type { DnsCatalogView } from './view.ts'
import { AnswerCache, VARIANTS_PER_SIZE, variantKey } from './cache.ts'
import type { CachedQuestion } from './cache.ts'
import { DnsBindError, InvalidDnsConfigError, MalformedQueryError } from './errors.ts'
import { lookup, serviceTtlFor } from './lookup.ts'
import type { LookupSettings, PreparedAnswer } from './lookup.ts'
import { optRecord } from './records.ts'
import type { SoaSettings } from './records.ts'
import { forwardQuery, parseRecursor } from './recursor.ts'
import type { RecursorAddress } from './recursor.ts'
import { assembleAnswer } from './response.ts'
import { TcpDnsListener } from './tcp.ts'
import { DEFAULT_LISTENER_LIMITS, validateConnectionLimits } from '../../api/connection-limits.ts'
import type { ConnectionLimits } from '../../api/connection-limits.ts'
import {
  CLASS_ANY, CLASS_IN, CLASSIC_UDP_SIZE_BYTES, EXTENDED_RCODE_BADVERS, FLAG_CD, FLAG_RD, HEADER_SIZE_BYTES, headerOnlyAnswer, questionName, RCODE_FORMERR,
  RCODE_NOERROR, RCODE_NOTIMP, RCODE_REFUSED, RCODE_SERVFAIL, readQuery
} from './wire.ts'
import type { ParsedQuery } from './wire.ts'

export interface DnsServerInit {
  view: DnsCatalogView
  /** Address both sockets bind to. Default 127.0.0.1. */
  bindAddress?: string
  /** UDP and TCP port; 0 picks a free port for both. Default 8600. */
  port?: number
  /** Default 'consul'. */
  domain?: string
  /** A second domain answered like the first (Consul's `alt_domain`). */
  altDomain?: string
  /** TTL of node records. Default 0, like Consul: clients always ask again. */
  nodeTtlS?: number
  /** TTL of service records without an override. Default 0, like Consul. */
  serviceTtlS?: number
  /** Consul's `service_ttl`: per service name, `prefix*` patterns, and `*`. */
  serviceTtlOverrides?: Record<string, number>
  /** Answer only with passing instances (Consul's `only_passing`); critical ones are never answered. */
  onlyPassing?: boolean
  /** Upstream resolvers for names outside our domains, "ip" or "ip:port"; none means REFUSED. */
  recursors?: string[]
  /** How long each recursor gets before the next is tried. Default 2000, Consul's `recursor_timeout`. */
  recursorTimeoutMs?: number
  /** Most answer records in a UDP answer (Consul's `udp_answer_limit`); default no limit but size. */
  udpAnswerLimit?: number
  /** Largest UDP answer whatever EDNS0 size a client offers. Default 4096 (RFC 6891's suggestion). */
  maxUdpSizeBytes?: number
  /** Concurrent TCP connections; more are refused. Default 512 (DEFAULT_LISTENER_LIMITS.dnsTcp). */
  maxTcpConnections?: number
  /** Concurrent TCP connections from one client address; more are refused. Default 64. */
  maxTcpConnectionsPerClient?: number
  /** A TCP connection must send its first byte within this. Default 5000; 0 disables. */
  tcpHandshakeTimeoutMs?: number
  /** A TCP connection silent this long is closed. Default 10000 (RFC 7766 suggests seconds). */
  tcpIdleTimeoutMs?: number
  /** Questions being forwarded at once; more get SERVFAIL rather than piling up. Default 256. */
  maxForwardsInFlight?: number
  /** SOA timers (Consul's `soa` block). Defaults: refresh 3600, retry 600, expire 86400, min_ttl 0. */
  soa?: Partial<Omit<SoaSettings, 'serial'>>
  log?: Logger
  /** Orders answer records; injectable for tests. Default Math.random. */
  random?: () => number
  /** Clock for the SOA serial (seconds). Default Date.now. */
  nowMs?: () => number
}

export interface DnsServerAddress {
  udpPort: number
  tcpPort: number
}

/** Questions cached at most; past that the cache starts over, so random names cannot grow it. */
const MAX_CACHED_ANSWERS = 10_000
/** Bytes of encoded answers cached at most (question case variants could otherwise multiply them). */
const MAX_CACHED_BYTES = 32 * 1024 * 1024
/** EDNS0 sizes answers are cut to (1232: DNS flag day 2020; 1452: Ethernet less IPv6 and UDP). */
const UDP_SIZE_STEPS_BYTES = [512, 1024, 1232, 1452, 2048, 4096]
const BIND_ATTEMPTS = 10
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
/** Cached for names outside our domains when recursors are configured. */
const FORWARD: PreparedAnswer = { rcode: RCODE_NOERROR, answers: [], extra: [], authority: [] }
const REFUSED: PreparedAnswer = { rcode: RCODE_REFUSED, answers: [], extra: [], authority: [] }
const BADVERS: PreparedAnswer = { rcode: EXTENDED_RCODE_BADVERS & 0xf, answers: [], extra: [], authority: [] }

/**
 * Answers go back to the IP a query came from, never to a name: this lookup hands the literal
 * straight back, sparing dgram's default dns.lookup and its extra tick on every send.
 */
function literalAddressLookup (family: 4 | 6): NonNullable<dgram.SocketOptions['lookup']> {
  return (address, _options, callback) => callback(null, address, family)
}

function nonNegative (value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new InvalidDnsConfigError(`${name} must be a non-negative number, got ${value}`)
  return value
}

export class DnsServer {
  private view: DnsCatalogView
  private readonly bindAddress: string
  private readonly port: number
  private readonly recursors: RecursorAddress[]
  private readonly recursorTimeoutMs: number
  private readonly udpAnswerLimit: number
  private readonly maxUdpSizeBytes: number
  private readonly tcpLimits: ConnectionLimits
  private readonly maxForwardsInFlight: number
  private readonly settings: Omit<LookupSettings, 'soa'>
  private readonly soaTimers: Omit<SoaSettings, 'serial'>
  private readonly log: Logger
  private readonly random: () => number
  private readonly nowMs: () => number
  private readonly optPlain: Buffer
  private readonly optDnssecOk: Buffer
  private readonly cache = new AnswerCache(MAX_CACHED_ANSWERS, MAX_CACHED_BYTES)
  private cacheVersion = Number.NaN
  private forwardsInFlight = 0
  private udp: dgram.Socket | undefined
  private tcp: TcpDnsListener | undefined

  constructor (init: DnsServerInit) {
    this.view = init.view
    this.bindAddress = init.bindAddress ?? '127.0.0.1'
    this.port = init.port ?? 8600
    if (!Number.isInteger(this.port) || this.port < 0 || this.port > 65535) throw new InvalidDnsConfigError(`port must be 0-65535, got ${this.port}`)
    const domain = (init.domain ?? 'consul').toLowerCase().replace(/^\.+|\.+$/g, '')
    const domains = [domain]
    if (init.altDomain !== undefined) domains.push(init.altDomain.toLowerCase().replace(/^\.+|\.+$/g, ''))
    if (domains.some((name) => name === '')) throw new InvalidDnsConfigError('domain and altDomain must not be empty')
    // Longest first, so an alt domain under the domain (or the reverse) matches the closer one.
    domains.sort((first, second) => second.length - first.length)
    const serviceTtlS = nonNegative(init.serviceTtlS ?? 0, 'serviceTtlS')
    const overrides = { ...init.serviceTtlOverrides }
    for (const [name, ttlS] of Object.entries(overrides)) nonNegative(ttlS, `serviceTtlOverrides[${name}]`)
    this.settings = {
      domains,
      nodeTtlS: nonNegative(init.nodeTtlS ?? 0, 'nodeTtlS'),
      serviceTtlS: (service) => serviceTtlFor(service, overrides, serviceTtlS),
      onlyPassing: init.onlyPassing ?? false
    }
    this.soaTimers = { refreshS: 3600, retryS: 600, expireS: 86400, minTtlS: 0, ...init.soa }
    this.recursors = (init.recursors ?? []).map(parseRecursor)
    this.recursorTimeoutMs = nonNegative(init.recursorTimeoutMs ?? 2000, 'recursorTimeoutMs')
    this.udpAnswerLimit = init.udpAnswerLimit === undefined || init.udpAnswerLimit <= 0 ? Infinity : init.udpAnswerLimit
    this.maxUdpSizeBytes = Math.max(CLASSIC_UDP_SIZE_BYTES, Math.min(65535, init.maxUdpSizeBytes ?? 4096))
    const defaults = DEFAULT_LISTENER_LIMITS.dnsTcp
    this.tcpLimits = {
      maxConnections: init.maxTcpConnections ?? defaults.maxConnections,
      maxConnectionsPerSource: init.maxTcpConnectionsPerClient ?? defaults.maxConnectionsPerSource,
      handshakeTimeoutMs: init.tcpHandshakeTimeoutMs ?? defaults.handshakeTimeoutMs,
      idleTimeoutMs: init.tcpIdleTimeoutMs ?? defaults.idleTimeoutMs
    }
    try {
      validateConnectionLimits(this.tcpLimits, 'DNS over TCP')
    } catch (error) {
      throw new InvalidDnsConfigError((error as Error).message)
    }
    this.maxForwardsInFlight = init.maxForwardsInFlight ?? 256
    this.log = (init.log ?? pino({ level: 'silent' })).child({ component: 'mesh:dns' })
    this.random = init.random ?? Math.random
    this.nowMs = init.nowMs ?? Date.now
    this.optPlain = optRecord(this.maxUdpSizeBytes, false)
    this.optDnssecOk = optRecord(this.maxUdpSizeBytes, true)
  }

  /** Binds UDP and TCP on the same port (with port 0, retried until a port is free for both). */
  async start (): Promise<DnsServerAddress> {
    if (this.udp !== undefined) throw new DnsBindError('DNS server already started')
    for (let attempt = 1; ; attempt++) {
      const family = net.isIPv6(this.bindAddress) ? 6 : 4
      const udp = dgram.createSocket({
        type: family === 6 ? 'udp6' : 'udp4',
        recvBufferSize: SOCKET_BUFFER_BYTES,
        sendBufferSize: SOCKET_BUFFER_BYTES,
        lookup: literalAddressLookup(family)
      })
      let udpPort: number
      try {
        udpPort = await new Promise<number>((resolve, reject) => {
          udp.once('error', reject)
          udp.bind({ port: this.port, address: this.bindAddress, exclusive: true }, () => {
            udp.off('error', reject)
            resolve(udp.address().port)
          })
        })
      } catch (error) {
        udp.close()
        throw new DnsBindError(`cannot bind UDP ${this.bindAddress}:${this.port}: ${(error as Error).message}`, { cause: error })
      }
      const tcp = new TcpDnsListener({
        limits: this.tcpLimits,
        log: this.log,
        maxPendingPerConnection: 16,
        onMessage: (message) => this.answer(message, true),
        onError: (error) => this.log.warn({ err: error }, 'DNS TCP error')
      })
      try {
        await tcp.listen(udpPort, this.bindAddress)
      } catch (error) {
        udp.close()
        if (this.port === 0 && (error as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < BIND_ATTEMPTS) continue
        throw new DnsBindError(`cannot bind TCP ${this.bindAddress}:${udpPort}: ${(error as Error).message}`, { cause: error })
      }
      udp.on('error', (error) => this.log.warn({ err: error }, 'DNS UDP error'))
      udp.on('message', (packet, from) => this.onDatagram(udp, packet, from))
      this.udp = udp
      this.tcp = tcp
      this.log.info({ address: this.bindAddress, port: udpPort }, 'DNS server listening')
      return { udpPort, tcpPort: udpPort }
    }
  }

  async stop (): Promise<void> {
    const udp = this.udp
    const tcp = this.tcp
    this.udp = undefined
    this.tcp = undefined
    if (udp !== undefined) await new Promise<void>((resolve) => udp.close(() => resolve()))
    if (tcp !== undefined) await tcp.close()
  }

  /** Answers from another view from the next query on. */
  setView (view: DnsCatalogView): void {
    this.view = view
    this.cache.clear()
    this.cacheVersion = Number.NaN
  }

  private onDatagram (udp: dgram.Socket, packet: Buffer, from: dgram.RemoteInfo): void {
    const answer = this.answer(packet, false)
    if (answer instanceof Promise) {
      answer.then((forwarded) => {
        if (forwarded !== undefined && this.udp === udp) udp.send(forwarded, from.port, from.address)
      }, (error: Error) => this.log.error({ err: error }, 'DNS forward failed'))
    } else if (answer !== undefined) {
      udp.send(answer, from.port, from.address)
    }
  }

  /** The answer to one DNS message, or undefined to send nothing. Never throws. */
  answer (packet: Buffer, overTcp: boolean): Buffer | undefined | Promise<Buffer | undefined> {
    const query = readQuery(packet)
    if (query.kind === 'drop') return undefined
    if (query.kind === 'malformed') {
      this.log.debug({ err: new MalformedQueryError(query.reason) }, 'answering FORMERR')
      return headerOnlyAnswer(query.id, query.flags, RCODE_FORMERR)
    }
    if (query.kind === 'notimp') return headerOnlyAnswer(query.id, query.flags, RCODE_NOTIMP)
    try {
      if (query.hasEdns && query.ednsVersion !== 0) {
        const badvers = optRecord(this.maxUdpSizeBytes, query.dnssecOk, EXTENDED_RCODE_BADVERS >> 4)
        return this.assemble(packet, query, BADVERS, overTcp, badvers, this.random, query.id, query.flags)
      }
      if (query.qclass !== CLASS_IN && query.qclass !== CLASS_ANY) {
        // CHAOS (version.bind and friends) or HESIOD: we hold no records outside the Internet class.
        return this.assemble(packet, query, REFUSED, overTcp, query.hasEdns ? this.optPlain : undefined, this.random, query.id, query.flags)
      }
      const entry = this.entryFor(packet, query)
      if (entry.prepared === FORWARD) return this.forward(packet, query, overTcp)
      return this.fromVariants(packet, query, entry, overTcp)
    } catch (error) {
      this.log.error({ err: error }, 'DNS lookup failed')
      return headerOnlyAnswer(query.id, query.flags, RCODE_SERVFAIL)
    }
  }

  /** The cached entry for this question, or a fresh one (cached when the view has a version). */
  private entryFor (packet: Buffer, query: ParsedQuery): CachedQuestion {
    const version = this.view.version?.()
    if (version !== undefined) {
      if (version !== this.cacheVersion) {
        this.cache.clear()
        this.cacheVersion = version
      }
      const cached = this.cache.get(packet, HEADER_SIZE_BYTES, query.questionEnd)
      if (cached !== undefined) return cached
    }
    const soa = { ...this.soaTimers, serial: Math.floor(this.nowMs() / 1000) }
    const prepared = lookup(this.view, { ...this.settings, soa }, questionName(packet, query.questionEnd), query.qtype) ??
      (this.recursors.length > 0 ? FORWARD : REFUSED)
    const entry: CachedQuestion = { prepared, variants: new Map() }
    if (version !== undefined) this.cache.set(packet, HEADER_SIZE_BYTES, query.questionEnd, entry)
    return entry
  }

  /** Picks one of the entry's encoded answers for this transport and size, copies it, patches it. */
  private fromVariants (packet: Buffer, query: ParsedQuery, entry: CachedQuestion, overTcp: boolean): Buffer {
    const optFlavor = query.hasEdns ? (query.dnssecOk ? 2 : 1) : 0
    const maxSizeBytes = this.maxSizeFor(query, overTcp)
    const key = variantKey(maxSizeBytes, optFlavor, overTcp)
    let variants = entry.variants.get(key)
    if (variants === undefined) {
      const opt = optFlavor === 0 ? undefined : optFlavor === 2 ? this.optDnssecOk : this.optPlain
      // Several orders only pay off for entries that stay cached (the view has a version).
      let count = 1
      const orderable = this.view.version === undefined ? 1 : entry.prepared.answers.length
      for (let factor = 2; factor <= orderable && count < VARIANTS_PER_SIZE; factor++) count *= factor
      variants = []
      for (let index = 0; index < Math.min(count, VARIANTS_PER_SIZE); index++) {
        variants.push(this.assemble(packet, query, entry.prepared, overTcp, opt, this.random, 0, 0))
      }
      entry.variants.set(key, variants)
      if (this.view.version !== undefined) this.cache.account(variants.reduce((sum, variant) => sum + variant.length, 0))
    }
    const chosen = variants.length === 1 ? variants[0]! : variants[Math.floor(this.random() * variants.length)]!
    const out = Buffer.allocUnsafe(chosen.length)
    chosen.copy(out, 0)
    out[0] = query.id >> 8
    out[1] = query.id & 0xff
    out[2] = out[2]! | ((query.flags & FLAG_RD) >> 8)
    out[3] = out[3]! | (query.flags & FLAG_CD)
    return out
  }

  /**
   * The size an answer must fit: the offered EDNS0 size rounded down to one of a few steps, so that
   * clients cannot make the cache hold an answer per distinct size (65,000 of them).
   */
  private maxSizeFor (query: ParsedQuery, overTcp: boolean): number {
    if (overTcp) return 65535
    if (!query.hasEdns) return CLASSIC_UDP_SIZE_BYTES
    const offeredBytes = Math.min(query.ednsUdpSizeBytes, this.maxUdpSizeBytes)
    let sizeBytes = CLASSIC_UDP_SIZE_BYTES
    for (const step of UDP_SIZE_STEPS_BYTES) if (step <= offeredBytes) sizeBytes = step
    return offeredBytes === this.maxUdpSizeBytes ? offeredBytes : sizeBytes
  }

  private assemble (packet: Buffer, query: ParsedQuery, prepared: PreparedAnswer, overTcp: boolean, opt: Buffer | undefined,
    random: () => number, id: number, requestFlags: number): Buffer {
    return assembleAnswer(prepared, {
      packet,
      questionEnd: query.questionEnd,
      id,
      requestFlags,
      maxSizeBytes: this.maxSizeFor(query, overTcp),
      answerLimit: overTcp ? Infinity : this.udpAnswerLimit,
      opt,
      recursionAvailable: this.recursors.length > 0,
      random
    })
  }

  private async forward (packet: Buffer, query: ParsedQuery, overTcp: boolean): Promise<Buffer> {
    if (this.forwardsInFlight >= this.maxForwardsInFlight) return headerOnlyAnswer(query.id, query.flags, RCODE_SERVFAIL)
    this.forwardsInFlight++
    try {
      return await forwardQuery(packet, this.recursors, {
        timeoutMs: this.recursorTimeoutMs,
        clientOverTcp: overTcp,
        onFailure: (error) => this.log.warn({ err: error }, 'recursor failed')
      })
    } catch (error) {
      this.log.warn({ err: error }, 'answering SERVFAIL')
      return headerOnlyAnswer(query.id, query.flags, RCODE_SERVFAIL)
    } finally {
      this.forwardsInFlight--
    }
  }
}
