// Test fixture: an in-memory DnsCatalogView (names matched case-insensitively, a version bumped on
// every change) and helpers to start a DnsServer on a free port and ask it raw questions.

import dgram from 'node:dgram'
import net from 'node:net'
import dnsPacket from 'dns-packet'
import type { Answer, Packet, Question } from 'dns-packet'
import type { DnsCatalogView, DnsNode, DnsServiceInstance } from '../../../agent/dns/view.ts'
import { DnsServer } from '../../../agent/dns/server.ts'
import type { DnsServerInit } from '../../../agent/dns/server.ts'

export interface FixtureService extends DnsServiceInstance {
  service: string
  /** Set on sidecars: the service they proxy for. */
  proxyFor?: string
}

export class MemoryView implements DnsCatalogView {
  datacenter = 'dc1'
  services: FixtureService[] = []
  nodes: DnsNode[] = []
  changes = 0

  version (): number { return this.changes }

  addNode (node: string, address: string, meta: Record<string, string> = {}): void {
    this.nodes.push({ node, address, datacenter: this.datacenter, meta })
    this.changes++
  }

  addService (service: string, node: string, fields: Partial<FixtureService> = {}): FixtureService {
    const host = this.nodes.find((candidate) => candidate.node === node)
    const instance: FixtureService = {
      service,
      node,
      nodeAddress: host?.address ?? '127.0.0.1',
      serviceAddress: '',
      port: 8080,
      tags: [],
      status: 'passing',
      datacenter: this.datacenter,
      nodeMeta: host?.meta ?? {},
      serviceMeta: {},
      ...fields
    }
    this.services.push(instance)
    this.changes++
    return instance
  }

  serviceInstances (service: string): DnsServiceInstance[] {
    return this.services.filter((instance) => instance.proxyFor === undefined && instance.service.toLowerCase() === service)
  }

  connectInstances (service: string): DnsServiceInstance[] {
    return this.services.filter((instance) => instance.proxyFor?.toLowerCase() === service)
  }

  node (name: string): DnsNode | undefined {
    return this.nodes.find((candidate) => candidate.node.toLowerCase() === name)
  }
}

/** A deterministic random source (mulberry32), so answer orders repeat from run to run. */
export function seededRandom (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let mixed = state
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1)
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61)
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296
  }
}

export interface Started {
  server: DnsServer
  port: number
}

export async function startServer (view: DnsCatalogView, init: Partial<DnsServerInit> = {}): Promise<Started> {
  const server = new DnsServer({ view, port: 0, random: seededRandom(1), ...init })
  const { udpPort } = await server.start()
  return { server, port: udpPort }
}

/** A decoded answer with the fields dns-packet sets on every decode (its types leave them optional). */
export interface Decoded {
  id: number
  rcode: string
  flag_qr: boolean
  flag_aa: boolean
  flag_tc: boolean
  flag_ra: boolean
  flag_rd: boolean
  questions: Question[]
  answers: Answer[]
  authorities: Answer[]
  additionals: Answer[]
}

export function decode (bytes: Buffer): Decoded {
  return dnsPacket.decode(bytes) as unknown as Decoded
}

let nextId = 1
export function query (name: string, type: string, extra: Partial<Packet> = {}): Packet {
  nextId = (nextId % 65535) + 1
  return { type: 'query', id: nextId, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as 'A', class: 'IN' }], ...extra }
}

/** Sends raw bytes over UDP and resolves with the first datagram back, or undefined after `waitMs`. */
export function udpExchange (port: number, bytes: Buffer, waitMs = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4')
    const timer = setTimeout(() => { socket.close(); resolve(undefined) }, waitMs)
    socket.on('message', (answer) => { clearTimeout(timer); socket.close(); resolve(answer) })
    socket.send(bytes, port, '127.0.0.1')
  })
}

export async function askUdp (port: number, packet: Packet): Promise<{ decoded: Decoded, bytes: Buffer }> {
  const bytes = await udpExchange(port, dnsPacket.encode(packet))
  if (bytes === undefined) throw new Error('no UDP answer')
  return { decoded: decode(bytes), bytes }
}

/** Sends several length-framed messages on one TCP connection and collects `expected` answers. */
export function askTcp (port: number, messages: Buffer[], expected = messages.length, waitMs = 2000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    const answers: Buffer[] = []
    let buffered = Buffer.alloc(0)
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`only ${answers.length} of ${expected} TCP answers`)) }, waitMs)
    socket.on('connect', () => {
      for (const message of messages) {
        const length = Buffer.alloc(2)
        length.writeUInt16BE(message.length)
        socket.write(Buffer.concat([length, message]))
      }
    })
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= 2 && buffered.length >= buffered.readUInt16BE(0) + 2) {
        answers.push(buffered.subarray(2, buffered.readUInt16BE(0) + 2))
        buffered = buffered.subarray(buffered.readUInt16BE(0) + 2)
      }
      if (answers.length >= expected) { clearTimeout(timer); socket.destroy(); resolve(answers) }
    })
    socket.on('error', (error) => { clearTimeout(timer); reject(error) })
  })
}
