import { UNPARSABLE_CLIENT, clientAddressGroup } from './client-address';

describe('clientAddressGroup', () => {
  it('counts every address of one IPv6 /64 as one client, and the next /64 as another', () => {
    const group = clientAddressGroup('2001:db8:aa:bb:1:2:3:4', 64);
    expect(group).toBe('2001:db8:aa:bb::/64');
    expect(clientAddressGroup('2001:db8:aa:bb:ffff:ffff:ffff:ffff', 64)).toBe(group);
    expect(clientAddressGroup('2001:db8:aa:bb::1', 64)).toBe(group);
    expect(clientAddressGroup('2001:db8:aa:bc::1', 64)).toBe('2001:db8:aa:bc::/64');
  });

  it('reads compressed, expanded, upper-case and zero-padded spellings as the same address', () => {
    const spellings = [
      '2001:db8::7',
      '2001:DB8::7',
      '2001:0db8:0000:0000:0000:0000:0000:0007',
      '2001:db8:0:0:0:0:0:7',
      '2001:db8::0:7',
    ];
    const groups = spellings.map((address) => clientAddressGroup(address, 128));
    expect(new Set(groups)).toEqual(new Set(['2001:db8::7/128']));
  });

  it('groups by /48, /56, /64 and /128 as configured', () => {
    const address = '2001:db8:1234:5678:9abc:def0:1234:5678';
    expect(clientAddressGroup(address, 48)).toBe('2001:db8:1234::/48');
    expect(clientAddressGroup(address, 56)).toBe('2001:db8:1234:5600::/56');
    expect(clientAddressGroup(address, 64)).toBe('2001:db8:1234:5678::/64');
    expect(clientAddressGroup(address, 128)).toBe('2001:db8:1234:5678:9abc:def0:1234:5678/128');
    // A /56 boundary inside a group: 0x56ff and 0x5600 are one /56, 0x5700 is the next.
    expect(clientAddressGroup('2001:db8:1234:56ff::1', 56)).toBe('2001:db8:1234:5600::/56');
    expect(clientAddressGroup('2001:db8:1234:5700::1', 56)).toBe('2001:db8:1234:5700::/56');
  });

  it('drops the zone id: fe80::1%eth0 is the same client as fe80::1', () => {
    expect(clientAddressGroup('fe80::1%eth0', 64)).toBe('fe80::/64');
    expect(clientAddressGroup('fe80::1%2', 128)).toBe(clientAddressGroup('fe80::1', 128));
  });

  it('maps IPv4-mapped IPv6 to the IPv4 address, in dotted and in hex form', () => {
    expect(clientAddressGroup('::ffff:203.0.113.9', 64)).toBe('203.0.113.9');
    expect(clientAddressGroup('::FFFF:203.0.113.9', 128)).toBe('203.0.113.9');
    expect(clientAddressGroup('::ffff:cb00:7109', 64)).toBe('203.0.113.9');
    expect(clientAddressGroup('0:0:0:0:0:ffff:cb00:7109', 56)).toBe('203.0.113.9');
  });

  it('keeps an IPv4 address whole, or groups it when an IPv4 prefix is asked for', () => {
    expect(clientAddressGroup('198.51.100.7', 64)).toBe('198.51.100.7');
    expect(clientAddressGroup('198.51.100.7', 64, 24)).toBe('198.51.100.0/24');
    expect(clientAddressGroup('::ffff:198.51.100.200', 64, 24)).toBe('198.51.100.0/24');
    expect(clientAddressGroup('198.51.100.7', 64, 32)).toBe('198.51.100.7');
  });

  it('does not mistake other addresses with a dotted tail for mapped IPv4', () => {
    // NAT64 and IPv4-compatible forms are IPv6 clients of their own.
    expect(clientAddressGroup('64:ff9b::192.0.2.1', 128)).toBe('64:ff9b::c000:201/128');
    expect(clientAddressGroup('::192.0.2.1', 64)).toBe('::/64');
    expect(clientAddressGroup('::ffff:0:192.0.2.1', 128)).toBe('::ffff:0:c000:201/128');
  });

  it('writes the group in RFC 5952 form: the longest zero run compressed, the first of equals', () => {
    expect(clientAddressGroup('2001:0:0:1:0:0:0:1', 128)).toBe('2001:0:0:1::1/128');
    expect(clientAddressGroup('2001:0:0:1:1:0:0:1', 128)).toBe('2001::1:1:0:0:1/128');
    expect(clientAddressGroup('2001:db8:0:1:1:1:1:1', 128)).toBe('2001:db8:0:1:1:1:1:1/128');
    expect(clientAddressGroup('::1', 64)).toBe('::/64');
    expect(clientAddressGroup('::', 128)).toBe('::/128');
  });

  it('drops a port a proxy appended: every connection of one address is one client', () => {
    expect(clientAddressGroup('198.51.100.7:4444', 64)).toBe('198.51.100.7');
    expect(clientAddressGroup('198.51.100.7:40001', 64)).toBe('198.51.100.7');
    expect(clientAddressGroup('[2001:db8:1:2::7]:443', 64)).toBe('2001:db8:1:2::/64');
    expect(clientAddressGroup('[::1]', 128)).toBe('::1/128');
  });

  it('counts every value that is not an IP address as one and the same client', () => {
    for (const value of ['', 'unknown', 'not-an-ip-1', 'not-an-ip-2', '01.2.3.4', '1.2.3.4:x']) {
      expect(clientAddressGroup(value, 64)).toBe(UNPARSABLE_CLIENT);
    }
  });

  it('is idempotent: a group is its own group', () => {
    for (const address of ['2001:db8::1', '::ffff:10.0.0.1', '10.0.0.1']) {
      const group = clientAddressGroup(address, 64);
      expect(clientAddressGroup(group, 64)).toBe(group);
    }
  });
});
