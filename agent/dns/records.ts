// Encodes single resource records to wire bytes with dns-packet. Answers are assembled from these
// per-record buffers, so shuffling, truncating and trimming the additional section work on whole
// records without re-encoding anything (names are not compressed: each record stands alone).

import dnsPacket from 'dns-packet'
import type { Answer } from 'dns-packet'
import { isIPv4, isIPv6 } from 'node:net'
import { HEADER_SIZE_BYTES, OPT_FLAG_DO } from './wire.ts'

function encodeRecord (record: Answer): Buffer {
  // dns-packet exports no single-record encoder in its types: encode a packet holding only this
  // record and drop the 12-byte header.
  return dnsPacket.encode({ type: 'response', answers: [record] }).subarray(HEADER_SIZE_BYTES)
}

function aRecord (name: string, ttlS: number, address: string): Buffer {
  return encodeRecord({ type: 'A', name, ttl: ttlS, class: 'IN', data: address })
}

function aaaaRecord (name: string, ttlS: number, address: string): Buffer {
  return encodeRecord({ type: 'AAAA', name, ttl: ttlS, class: 'IN', data: address })
}

function cnameRecord (name: string, ttlS: number, target: string): Buffer {
  return encodeRecord({ type: 'CNAME', name, ttl: ttlS, class: 'IN', data: target })
}

export function srvRecord (name: string, ttlS: number, port: number, target: string): Buffer {
  return encodeRecord({ type: 'SRV', name, ttl: ttlS, class: 'IN', data: { priority: 1, weight: 1, port, target } })
}

export function txtRecord (name: string, ttlS: number, text: string): Buffer {
  return encodeRecord({ type: 'TXT', name, ttl: ttlS, class: 'IN', data: [text] })
}

/** Consul's SOA for its domain; the serial is the time of the answer in seconds, as Consul does. */
export interface SoaSettings {
  serial: number
  refreshS: number
  retryS: number
  expireS: number
  /** Negative-caching TTL, also the SOA record's own TTL (Consul's `soa.min_ttl`). */
  minTtlS: number
}

export function soaRecord (domain: string, soa: SoaSettings): Buffer {
  return encodeRecord({
    type: 'SOA',
    name: domain,
    ttl: soa.minTtlS,
    class: 'IN',
    data: {
      mname: `ns.${domain}`,
      rname: `hostmaster.${domain}`,
      serial: soa.serial >>> 0,
      refresh: soa.refreshS,
      retry: soa.retryS,
      expire: soa.expireS,
      minimum: soa.minTtlS
    }
  })
}

/** The OPT record of an answer: our UDP size, the DO bit echoed (RFC 3225), an extended rcode. */
export function optRecord (udpSizeBytes: number, dnssecOk: boolean, extendedRcodeHigh = 0): Buffer {
  return encodeRecord({
    type: 'OPT', name: '.', udpPayloadSize: udpSizeBytes, extendedRcode: extendedRcodeHigh, ednsVersion: 0, flags: dnssecOk ? OPT_FLAG_DO : 0, flag_do: dnssecOk, options: []
  })
}

/** A for IPv4, AAAA for IPv6, CNAME for anything else (a host name), like Consul. */
export function addressRecord (name: string, ttlS: number, address: string, wantV4: boolean, wantV6: boolean, wantCname: boolean): Buffer | undefined {
  if (isIPv4(address)) return wantV4 ? aRecord(name, ttlS, address) : undefined
  if (isIPv6(address)) return wantV6 ? aaaaRecord(name, ttlS, address) : undefined
  return wantCname && address !== '' ? cnameRecord(name, ttlS, address) : undefined
}

/** Consul's `<hex>.addr.<dc>.<domain>` label for an IP: 8 hex digits for IPv4, 32 for IPv6. */
export function addrLabel (address: string): string | undefined {
  if (isIPv4(address)) return address.split('.').map((octet) => Number(octet).toString(16).padStart(2, '0')).join('')
  if (isIPv6(address)) {
    const bytes = dnsPacket.encode({ type: 'response', answers: [{ type: 'AAAA', name: '.', data: address }] })
    return bytes.subarray(bytes.length - 16).toString('hex')
  }
  return undefined
}

/** The IP an `addr` label names, or undefined when it is not 8 or 32 hex digits. */
export function addressFromAddrLabel (label: string): string | undefined {
  if (!/^[0-9a-f]+$/.test(label)) return undefined
  if (label.length === 8) return [0, 2, 4, 6].map((index) => parseInt(label.slice(index, index + 2), 16)).join('.')
  if (label.length === 32) {
    const groups: string[] = []
    for (let index = 0; index < 32; index += 4) groups.push(label.slice(index, index + 4))
    return groups.join(':')
  }
  return undefined
}
