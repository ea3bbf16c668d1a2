"""dnscheck: the DNS knowledge of Domainkeeper, in plain Python (no Django).

- names: normalise and validate what users type, registrable domain, relative host.
- lookup: the result type of one DNS question (evidence apart from transient failure).
- resolver: the one seam that asks DNS: public view (resolvers or DoH) and the zone's own
  authoritative servers, concurrently and with timeouts.
- classify: pure functions from observations to an outcome, a hint and the fix to show.
- check: expected records in, classified results out, many at once.
"""
