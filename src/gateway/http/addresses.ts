// Which IP addresses an image fetch may connect to: only public ones. Addresses are parsed to
// bytes, never matched as text, because the same host has many spellings (::ffff:7f00:1 is
// 127.0.0.1; so are 64:ff9b::7f00:1 through NAT64 and 2002:7f00:1:: through 6to4). Every IPv6
// form that embeds an IPv4 address is unwrapped and the IPv4 address judged; the rest is the
// IANA special-purpose registries (RFC 6890 and its updates) plus multicast and reserved space.
import { isIP } from 'node:net';

type Block = [bytes: number[], prefix: number, why: string];

// IPv4 special-purpose blocks (IANA registry) and multicast / reserved space.
const V4_BLOCKS: Block[] = [
  [[0, 0, 0, 0], 8, 'this network'],
  [[10, 0, 0, 0], 8, 'private'],
  [[100, 64, 0, 0], 10, 'shared (carrier-grade NAT)'],
  [[127, 0, 0, 0], 8, 'loopback'],
  [[169, 254, 0, 0], 16, 'link-local'],
  [[172, 16, 0, 0], 12, 'private'],
  [[192, 0, 0, 0], 24, 'IETF protocol assignments'],
  [[192, 0, 2, 0], 24, 'documentation'],
  [[192, 88, 99, 0], 24, '6to4 relay anycast'],
  [[192, 168, 0, 0], 16, 'private'],
  [[198, 18, 0, 0], 15, 'benchmarking'],
  [[198, 51, 100, 0], 24, 'documentation'],
  [[203, 0, 113, 0], 24, 'documentation'],
  [[224, 0, 0, 0], 4, 'multicast'],
  [[240, 0, 0, 0], 4, 'reserved (incl. broadcast)'],
];

// IPv6 blocks judged as IPv6 (the IPv4-embedding ones are unwrapped before these).
const V6_BLOCKS: Block[] = [
  // Local-use NAT64 (RFC 8215): with prefixes shorter than /96 the IPv4 address sits elsewhere
  // in the address (RFC 6052), so the whole block is refused rather than unwrapped.
  [[0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48, 'local-use NAT64'],
  [[0x01, 0x00, 0, 0, 0, 0, 0, 0], 64, 'discard-only'],
  [[0x20, 0x01, 0x0d, 0xb8], 32, 'documentation'],
  [[0x20, 0x01, 0x00, 0x00], 23, 'IETF protocol assignments (Teredo, ORCHID, ...)'],
  [[0xfc], 7, 'unique local'],
  [[0xfe, 0x80], 10, 'link-local'],
  [[0xfe, 0xc0], 10, 'site-local'],
  [[0xff], 8, 'multicast'],
];

function inBlock(bytes: number[], [net, prefix]: Block): boolean {
  for (let bit = 0; bit < prefix; bit++) {
    const i = bit >> 3,
      mask = 0x80 >> (bit & 7);
    if ((bytes[i] & mask) !== ((net[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** The 4 bytes of a dotted-quad IPv4 address (node:net's strict form), or null. */
function v4Bytes(ip: string): number[] | null {
  if (isIP(ip) !== 4) return null;
  return ip.split('.').map(Number);
}

/** The 16 bytes of an IPv6 address (with :: and a trailing dotted quad), or null. */
export function v6Bytes(ip: string): number[] | null {
  const addr = ip.replace(/%.*$/, ''); // a zone (fe80::1%eth0) does not change the address
  if (isIP(addr) !== 6) return null;
  let head = addr,
    tail = '';
  const dbl = addr.indexOf('::');
  if (dbl >= 0) {
    head = addr.slice(0, dbl);
    tail = addr.slice(dbl + 2);
  }
  const groups = (part: string): number[] => {
    if (!part) return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      const q = v4Bytes(g);
      if (q) out.push((q[0] << 8) | q[1], (q[2] << 8) | q[3]);
      else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = groups(head),
    t = groups(tail);
  const words = dbl >= 0 ? [...h, ...new Array(8 - h.length - t.length).fill(0), ...t] : h;
  if (words.length !== 8) return null;
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

const zeros = (b: number[], from: number, to: number) => b.slice(from, to).every((x) => x === 0);

/** The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4), or null. */
function embeddedV4(b: number[]): number[] | null {
  if (zeros(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) return b.slice(12); // ::ffff:0:0/96 IPv4-mapped
  if (zeros(b, 0, 12)) return b.slice(12); // ::/96 IPv4-compatible (:: and ::1 land in 0/8 and 0.0.0.1 -> this network)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
    if (zeros(b, 4, 12)) return b.slice(12); // 64:ff9b::/96 NAT64
  }
  if (b[0] === 0x20 && b[1] === 0x02) return b.slice(2, 6); // 2002::/16 6to4
  return null;
}

/** Why an address is not public ('loopback', 'private', ...), or null when it is public. */
export function nonPublicReason(ip: string): string | null {
  const v4 = v4Bytes(ip);
  if (v4) return V4_BLOCKS.find((blk) => inBlock(v4, blk))?.[2] ?? null;
  const v6 = v6Bytes(ip);
  if (!v6) return 'not an IP address';
  if (v6.every((x, i) => x === (i === 15 ? 1 : 0))) return 'loopback';
  if (v6.every((x) => x === 0)) return 'unspecified';
  const inner = embeddedV4(v6);
  if (inner) {
    const why = V4_BLOCKS.find((blk) => inBlock(inner, blk))?.[2];
    return why ? `${why}, embedded in IPv6` : null;
  }
  const why = V6_BLOCKS.find((blk) => inBlock(v6, blk))?.[2];
  if (why) return why;
  // Only 2000::/3 is global unicast; everything else left (e.g. ::ffff:0:7f00:1) is not public.
  return (v6[0] & 0xe0) === 0x20 ? null : 'not global unicast';
}

/** True for addresses that are not on the public internet. */
export const isNonPublicAddress = (ip: string): boolean => nonPublicReason(ip) !== null;
