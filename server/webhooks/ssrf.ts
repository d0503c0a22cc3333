// The SSRF guard: an endpoint may not point into our own network. Deliveries
// keep the first bytes of the receiver's answer and the API lists them, so an
// endpoint on an internal address would let any API key read internal
// services (cloud metadata at 169.254.169.254, admin ports on 10.x). Checked
// when the URL is saved and again on every connection (DNS may change after
// the check). Live mode refuses every internal address; test mode allows
// loopback only, so developers can receive webhooks on their own machine.
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

const blocked = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8], // "this" network
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local (cloud metadata services live here)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 96], // unspecified, loopback (::1) and IPv4-compatible (IPv4-mapped ones are checked against the IPv4 list by BlockList itself)
  ["64:ff9b::", 96], // NAT64: reaches IPv4 addresses through a translator
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
] as const) {
  blocked.addSubnet(net, prefix, "ipv6");
}

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

/** The IPv4 address inside an IPv4-mapped IPv6 literal (`::ffff:10.0.0.1`), if it is one. */
function mappedIpv4(address: string): string | undefined {
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
}

/** Whether `address` (an IP literal) is loopback, private, link-local or otherwise internal. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family === 6) {
    const mapped = mappedIpv4(address);
    return mapped ? blocked.check(mapped, "ipv4") : blocked.check(address, "ipv6");
  }
  return true;
}

/** Whether `address` (an IP literal) is a loopback address (127.0.0.0/8, ::1). */
export function isLoopbackAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return loopback.check(address, "ipv4");
  if (family === 6) {
    const mapped = mappedIpv4(address);
    return mapped ? loopback.check(mapped, "ipv4") : loopback.check(address, "ipv6");
  }
  return false;
}

/** Whether an endpoint of this mode may not be sent to `address`: live refuses every internal address, test all but loopback. */
export function isRefusedAddress(address: string, livemode: boolean): boolean {
  return isInternalAddress(address) && (livemode || !isLoopbackAddress(address));
}

/** Resolves `hostname`; returns the first address an endpoint of this mode may not use, or undefined if none. */
export async function refusedAddressOf(hostname: string, livemode: boolean): Promise<string | undefined> {
  const host = hostname.replace(/^\[(.*)\]$/, "$1");
  const addresses = isIP(host) ? [{ address: host }] : await lookup(host, { all: true, verbatim: true });
  return addresses.find((a) => isRefusedAddress(a.address, livemode))?.address;
}
