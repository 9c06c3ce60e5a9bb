import { isIP } from 'node:net';
import { FerryOptionsError } from './errors.ts';

/** A UDP address: host (an IP literal) and port. */
export interface UdpAddress {
  host: string;
  port: number;
}

/** The core's address key for `host:port` (`[v6]:port` for IPv6), as the `Endpoint` stores it. */
export function formatAddress(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parses `host:port` or `[v6]:port` (as made by {@link formatAddress}); throws {@link FerryOptionsError}. */
export function parseAddress(address: string): UdpAddress {
  let host: string;
  let portText: string;
  if (address.startsWith('[')) {
    const end = address.indexOf(']:');
    host = address.slice(1, end);
    portText = address.slice(end + 2);
    if (end < 0) host = '';
  } else {
    const colon = address.lastIndexOf(':');
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
    if (colon < 0) host = '';
  }
  const port = Number(portText);
  if (host === '' || !Number.isInteger(port) || port < 1 || port > 65_535 || portText === '') {
    throw new FerryOptionsError('invalid-address', `not a host:port address: '${address}'`);
  }
  return { host, port };
}
