"""Pure functions from DNS observations to a verdict: outcome, hint code (shared/DNS.md),
the value seen, and the fix in words a customer can act on, with the host to type and the
exact value to paste. No I/O here: `dnscheck.check` gathers the observations."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dnscheck.cloudflare import all_cloudflare, is_cloudflare_nameserver
from dnscheck.lookup import Lookup, Status, normalise_name
from dnscheck.providers import describe_dns_host, dns_host_name
from dnscheck.records import ExpectedRecord, Outcome, RecordResult, Summary

# --- observations ---------------------------------------------------------------------


@dataclass(frozen=True)
class CnameObservation:
    public: Lookup  # CNAME at the name
    authoritative: Lookup | None = None  # CNAME at the name, asked of the zone's servers
    doubled: Lookup | None = None  # CNAME at <name>.<zone>
    addresses: tuple[Lookup, ...] = ()  # A and AAAA at the name
    others: tuple[Lookup, ...] = ()  # TXT and MX at the name
    zone_nameservers: tuple[str, ...] = ()
    sibling_targets: frozenset[str] = frozenset()  # targets of our other records in the set
    negative_ttl: int | None = None  # the zone's SOA minimum


@dataclass(frozen=True)
class TxtObservation:
    public: Lookup  # TXT at the name
    authoritative: Lookup | None = None
    doubled: Lookup | None = None  # TXT at <name>.<zone>
    parent: Lookup | None = None  # TXT one label up (token at the apex instead of the label)
    cname: Lookup | None = None  # CNAME at the name
    negative_ttl: int | None = None


@dataclass(frozen=True)
class SpfEvaluation:
    """The recursive walk of an SPF record (RFC 7208 4.6.4)."""

    lookups: int = 0  # terms that cause DNS lookups: include a mx ptr exists redirect
    void_lookups: int = 0  # of those, lookups that found nothing (NXDOMAIN or no data)
    broken_includes: tuple[str, ...] = ()  # `include:`/`redirect=` terms without one SPF record
    loops: tuple[str, ...] = ()  # terms that lead back to a record already on the path
    transient: bool = False  # some lookup failed: the counts are a lower bound


@dataclass(frozen=True)
class DmarcObservation:
    public: Lookup  # TXT at _dmarc.<domain>
    apex: Lookup | None = None  # TXT at <domain>: a DMARC record put there by mistake
    organizational: Lookup | None = None  # TXT at _dmarc.<registrable domain>


@dataclass(frozen=True)
class MxObservation:
    public: Lookup  # MX at the MAIL FROM host
    cname: Lookup | None = None  # CNAME at the MAIL FROM host
    authoritative: Lookup | None = None


@dataclass(frozen=True)
class AddressObservation:
    a: Lookup
    aaaa: Lookup | None = None
    zone_nameservers: tuple[str, ...] = ()
    target_addresses: frozenset[str] = field(default_factory=frozenset)  # our target's A/AAAA


# --- shared pieces --------------------------------------------------------------------


def _result(
    record: ExpectedRecord,
    outcome: Outcome,
    hint: str | None,
    fix: str,
    seen: str | None = None,
    suggested: str | None = None,
    detail: str = "",
    absent_at_source: bool = False,
) -> RecordResult:
    return RecordResult(record, outcome, hint, fix, seen, suggested, detail, absent_at_source)


def _missing_at_source(authoritative: Lookup | None) -> bool:
    return authoritative is not None and authoritative.absent


def _ok(record: ExpectedRecord, seen: str | None) -> RecordResult:
    return _result(record, Outcome.OK, None, "Nothing to do: the record is correct.", seen)


def _add_fix(record: ExpectedRecord) -> str:
    return f"Add a {record.type} record with host `{record.host}` and value `{record.value}`."


def _dns_error(record: ExpectedRecord, lookup: Lookup) -> RecordResult:
    what = {
        Status.SERVFAIL: "failed (SERVFAIL)",
        Status.REFUSED: "refused to answer (REFUSED)",
        Status.TIMEOUT: "did not answer in time",
    }.get(lookup.status, "could not be reached")
    return _result(
        record,
        Outcome.ERROR,
        "dns_error",
        f"DNS for `{record.name}` {what}. This is often a broken DNSSEC setup (a DS record at "
        "the registrar that no longer matches) or nameservers that do not serve the domain. "
        "Check both; we keep retrying and change nothing until DNS answers.",
        detail=lookup.detail,
    )


def _propagating(
    record: ExpectedRecord, seen: str | None, wait_seconds: int | None, *, stale: bool = False
) -> RecordResult:
    """The zone's servers publish the right record; resolvers still hold an older answer
    (a cached miss for the negative TTL, or the old value for its TTL)."""
    wait = f"within {_duration(wait_seconds)}" if wait_seconds else "within the cache time"
    remembered = "the old value" if stale else "it as missing"
    return _result(
        record,
        Outcome.MISSING,
        "propagating",
        f"The record is published at your DNS host. Resolvers that asked before still remember "
        f"{remembered}; that clears {wait}. Nothing to change.",
        seen,
    )


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 7200:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds / 3600)} hours"


def _doubled_fix(record: ExpectedRecord) -> str:
    return (
        f"Your DNS provider adds `{record.zone}` to the host by itself, so the record was "
        f"created at `{record.name}.{record.zone}`. Edit it and enter the host as "
        f"`{record.host}` only."
    )


def _present(lookups: tuple[Lookup, ...]) -> list[Lookup]:
    return [lookup for lookup in lookups if lookup.found]


# --- CNAME: DKIM (SES), return path, storefront routing ------------------------------


def classify_cname(record: ExpectedRecord, obs: CnameObservation) -> RecordResult:
    public = obs.public
    if public.is_transient:
        return _dns_error(record, public)
    seen_publicly = _judge_cname(record, public.values, obs) if public.found else None
    if seen_publicly is not None and seen_publicly.ok:
        return seen_publicly

    # What the zone's own servers hold decides first: the customer may have fixed it already.
    authoritative = obs.authoritative
    if authoritative is not None and authoritative.found:
        at_source = _judge_cname(record, authoritative.values, obs)
        if at_source.ok:
            if seen_publicly is not None:
                return _propagating(record, public.values[0], public.ttl, stale=True)
            return _propagating(record, authoritative.values[0], obs.negative_ttl)
        if seen_publicly is None:
            return at_source
    if seen_publicly is not None:
        return seen_publicly

    if obs.doubled is not None and obs.doubled.found:
        return _result(
            record, Outcome.MISSING, "doubled_name", _doubled_fix(record), obs.doubled.values[0]
        )

    addresses = [v for lookup in _present(obs.addresses) for v in lookup.values]
    if public.status == Status.NODATA and all_cloudflare(addresses):
        cloudflare_ns = any(is_cloudflare_nameserver(ns) for ns in obs.zone_nameservers)
        return _result(
            record,
            Outcome.MISMATCH,
            "cloudflare_proxy",
            f"The record at `{record.host}` is proxied by Cloudflare (orange cloud), which "
            "hides the CNAME behind Cloudflare's own addresses. In Cloudflare's DNS page set "
            f'its proxy status to "DNS only" (grey cloud); the value stays `{record.value}`.',
            ", ".join(addresses),
            detail="zone served by Cloudflare" if cloudflare_ns else "",
        )

    present = _present((*obs.addresses, *obs.others))
    if present:
        types = " and ".join(sorted({lookup.rdtype for lookup in present}))
        seen = "; ".join(f"{lookup.rdtype} {', '.join(lookup.values)}" for lookup in present)
        return _result(
            record,
            Outcome.MISMATCH,
            "wrong_type",
            f"There is a {types} record at `{record.host}` where a CNAME belongs. Delete it, "
            f"then add a CNAME record with host `{record.host}` and value `{record.value}`.",
            seen,
        )
    return _result(
        record,
        Outcome.MISSING,
        "not_found",
        _add_fix(record),
        detail=authoritative.detail if authoritative is not None else "",
        absent_at_source=_missing_at_source(authoritative),
    )


def _judge_cname(
    record: ExpectedRecord, values: tuple[str, ...], obs: CnameObservation
) -> RecordResult:
    expected = normalise_name(record.value)
    if len(values) > 1:
        return _result(
            record,
            Outcome.MISMATCH,
            "cname_conflict",
            f"There are {len(values)} CNAME records at `{record.host}`; a name may have only "
            f"one. Keep the one with value `{record.value}` and delete the others.",
            ", ".join(values),
        )
    value = values[0]
    if value == expected:
        return _ok(record, value)
    if record.zone and value == f"{expected}.{record.zone}":
        return _result(
            record,
            Outcome.MISMATCH,
            "target_zone_appended",
            f"Your DNS provider appended `{record.zone}` to the value, so it points to "
            f"`{value}`. Re-enter the value as `{expected}.` with a trailing dot, which tells "
            "the provider the name is complete.",
            value,
        )
    if value in obs.sibling_targets:
        fix = (
            f"`{record.host}` points to `{value}`, the value of another of these records: "
            f"the records are swapped. Change this one's value to `{record.value}`."
        )
    else:
        fix = f"`{record.host}` points to `{value}`. Change the value to `{record.value}`."
    return _result(record, Outcome.MISMATCH, "wrong_target", fix, value)


# --- TXT ownership token (storefront) -----------------------------------------------


def _unquote(value: str) -> str:
    return value.strip().strip("\"'").strip()


def _token_verdict(record: ExpectedRecord, values: tuple[str, ...]) -> RecordResult | None:
    """The verdict on the TXT values at the name, or None when nothing there is ours."""
    prefix, _, token = record.value.partition("=")
    expected = record.value.lower()
    for value in values:
        if value.strip().lower() == expected:
            return _ok(record, value)
    for value in values:
        bare = _unquote(value).lower()
        if bare == expected:
            return _result(
                record,
                Outcome.MISMATCH,
                "token_format",
                f"The value at `{record.host}` includes quote marks as part of the text. "
                f"Your DNS provider adds quotes itself: enter the value as `{record.value}` "
                "without them.",
                value,
            )
        if bare == token.lower():
            return _result(
                record,
                Outcome.MISMATCH,
                "token_format",
                f"The value at `{record.host}` is the bare token. Enter it with its prefix: "
                f"`{record.value}`.",
                value,
            )
    for value in values:
        if _unquote(value).lower().startswith(prefix.lower() + "="):
            return _result(
                record,
                Outcome.MISMATCH,
                "token_mismatch",
                f"`{record.host}` holds an old token (`{value}`), from before the domain was "
                f"changed or re-added. Replace the value with `{record.value}`.",
                value,
            )
    return None


def _txt_verdict_source_first(
    record: ExpectedRecord,
    obs: TxtObservation,
    verdict: Callable[[ExpectedRecord, tuple[str, ...]], RecordResult | None],
) -> RecordResult | None:
    """The verdict on what the public view shows, unless the zone's own servers already
    hold the right value (then: propagating, as a cached miss or a cached old value).
    None when neither view shows anything of ours."""
    public = obs.public
    values = public.values if public.found else ()
    seen_publicly = verdict(record, values)
    if seen_publicly is not None and seen_publicly.ok:
        return seen_publicly
    authoritative = obs.authoritative
    if authoritative is not None and authoritative.found:
        at_source = verdict(record, authoritative.values)
        if at_source is not None and at_source.ok:
            wait = public.ttl if values else obs.negative_ttl
            return _propagating(record, at_source.seen_value, wait, stale=bool(values))
        if seen_publicly is None:
            return at_source
    return seen_publicly


def classify_txt_token(record: ExpectedRecord, obs: TxtObservation) -> RecordResult:
    """`record.value` is `<prefix>=<token>`, published at `record.name`."""
    _, _, token = record.value.partition("=")
    expected = record.value.lower()
    public = obs.public
    if public.is_transient:
        return _dns_error(record, public)
    values = public.values if public.found else ()
    authoritative = obs.authoritative
    judged = _txt_verdict_source_first(record, obs, _token_verdict)
    if judged is not None:
        return judged
    if obs.doubled is not None and any(_unquote(v).lower() == expected for v in obs.doubled.values):
        return _result(
            record, Outcome.MISSING, "doubled_name", _doubled_fix(record), obs.doubled.values[0]
        )
    if obs.parent is not None and any(
        _unquote(v).lower() in (expected, token.lower()) for v in obs.parent.values
    ):
        parent_name = record.name.split(".", 1)[1]
        return _result(
            record,
            Outcome.MISSING,
            "token_at_apex",
            f"The token is on `{parent_name}` itself. It belongs on the host `{record.host}`: "
            f"add a TXT record there with value `{record.value}` (you may delete the other).",
            next(v for v in obs.parent.values if token.lower() in v.lower()),
        )
    return _result(
        record,
        Outcome.MISSING,
        "token_missing",
        _add_fix(record),
        ", ".join(values) if values else None,
        absent_at_source=_missing_at_source(authoritative),
    )


def _squash(value: str) -> str:
    return "".join(value.split()).lower()


def _value_verdict(record: ExpectedRecord, values: tuple[str, ...]) -> RecordResult | None:
    wanted = _squash(record.value)
    for value in values:
        if _squash(value) == wanted:
            return _ok(record, value)
    for value in values:
        if _squash(_unquote(value)) == wanted:
            return _result(
                record,
                Outcome.MISMATCH,
                "literal_quotes",
                f"The value at `{record.host}` has quote marks inside its text. Enter it "
                f"without them: `{record.value}`.",
                value,
            )
    for value in values:
        seen = _squash(_unquote(value))
        if len(seen) >= 16 and wanted.startswith(seen):
            return _result(
                record,
                Outcome.MISMATCH,
                "value_truncated",
                f"The value at `{record.host}` was cut short: it has {len(seen)} of the "
                f"{len(wanted)} characters. Paste the whole value `{record.value}`; if your "
                "DNS panel limits length, it may need the value split into quoted parts of "
                "at most 255 characters.",
                value,
            )
    prefix = record.value.split(";", 1)[0].strip().lower()
    for value in values:
        if value.strip().lower().startswith(prefix):
            return _result(
                record,
                Outcome.MISMATCH,
                "wrong_value",
                f"The {record.purpose.upper()} record at `{record.host}` has another value "
                f"(an old key, or one cut short when pasted). Replace it with `{record.value}`.",
                value,
            )
    return None


def classify_txt_value(record: ExpectedRecord, obs: TxtObservation) -> RecordResult:
    """A TXT record whose whole value we publish (our own DKIM key), compared without the
    spaces and string splits that panels add or drop."""
    public = obs.public
    if public.is_transient:
        return _dns_error(record, public)
    values = public.values if public.found else ()
    authoritative = obs.authoritative
    judged = _txt_verdict_source_first(record, obs, _value_verdict)
    if judged is not None:
        return judged
    wanted = _squash(record.value)
    if obs.doubled is not None and any(_squash(v) == wanted for v in obs.doubled.values):
        return _result(
            record, Outcome.MISSING, "doubled_name", _doubled_fix(record), obs.doubled.values[0]
        )
    if obs.cname is not None and obs.cname.found:
        return _result(
            record,
            Outcome.MISMATCH,
            "wrong_type",
            f"`{record.host}` is a CNAME (to `{obs.cname.values[0]}`) where a TXT record "
            f"belongs. Delete it and add a TXT record with value `{record.value}`.",
            obs.cname.values[0],
        )
    return _result(
        record,
        Outcome.MISSING,
        "not_found",
        _add_fix(record),
        ", ".join(values) or None,
        absent_at_source=_missing_at_source(authoritative),
    )


# --- SPF ---------------------------------------------------------------------------------

SPF_LOOKUP_LIMIT = 10
SPF_VOID_LIMIT = 2
_DOMAIN_SPEC = r"[A-Za-z0-9_%{}.\-/+=]+"  # domains, with macros (RFC 7208 7)
SPF_TERM = re.compile(
    r"^(?:v=spf1"
    r"|[+\-~?]?(?:all"
    rf"|include:{_DOMAIN_SPEC}"
    rf"|(?:a|mx)(?::{_DOMAIN_SPEC})?(?:/\d{{1,3}})?(?://\d{{1,3}})?"
    rf"|ptr(?::{_DOMAIN_SPEC})?"
    r"|ip4:\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?"
    r"|ip6:[0-9A-Fa-f:.]+(?:/\d{1,3})?"
    rf"|exists:{_DOMAIN_SPEC})"
    rf"|[A-Za-z][A-Za-z0-9_.\-]*={_DOMAIN_SPEC}?)$",  # redirect=, exp=, unknown modifiers
    re.IGNORECASE,
)


def is_spf(value: str) -> bool:
    text = value.strip().lower()
    return text == "v=spf1" or text.startswith("v=spf1 ")


def spf_terms(record: str) -> list[str]:
    return record.split()[1:]


def _is_all(term: str) -> bool:
    return term.lower().lstrip("+-~?") == "all"


def spf_term_key(term: str) -> str:
    """A term as compared: `+` is the default qualifier, names ignore case and a final dot."""
    text = term.strip().lower()
    if text.startswith("+"):
        text = text[1:]
    return text.rstrip(".")


def spf_with_terms(existing: str, required: list[str]) -> str:
    """The existing record with the missing terms inserted before `all` or `redirect=`."""
    terms = spf_terms(existing)
    have = {spf_term_key(t) for t in terms}
    missing = [t for t in required if spf_term_key(t) not in have]
    cut = next(
        (i for i, t in enumerate(terms) if _is_all(t) or t.lower().startswith("redirect=")),
        len(terms),
    )
    return " ".join(["v=spf1", *terms[:cut], *missing, *terms[cut:]])


def merge_spf(records: list[str], required: list[str]) -> str:
    """One record from several: every mechanism once (a `redirect=X` becomes `include:X`,
    since next to an `all` a redirect is ignored), our terms, then the `all` of the first
    record that has one (default `~all`)."""
    merged: list[str] = []
    seen: set[str] = set()
    final_all = None
    for record in records:
        for term in spf_terms(record):
            if _is_all(term):
                final_all = final_all or term
                continue
            if term.lower().startswith("redirect="):
                term = "include:" + term.split("=", 1)[1]
            elif term.lower().startswith("exp="):
                continue  # one explanation at most, and it is optional
            if spf_term_key(term) not in seen:
                seen.add(spf_term_key(term))
                merged.append(term)
    for term in required:
        if spf_term_key(term) not in seen:
            seen.add(spf_term_key(term))
            merged.append(term)
    return " ".join(["v=spf1", *merged, final_all or "~all"])


def _split_without_space(strings: tuple[str, ...]) -> bool:
    """A value split into character-strings is joined with no separator (RFC 7208 3.3).
    When a panel split `... ip4:192.0.2.1 include:a.com` at the space, the joined record
    glues two terms into one invalid term, where joining with a space would be valid."""
    if len(strings) < 2:
        return False
    glued = "".join(strings).split()
    spaced = " ".join(strings).split()
    return (
        glued != spaced
        and any(not SPF_TERM.match(t) for t in glued)
        and all(SPF_TERM.match(t) for t in spaced)
    )


def classify_spf(
    record: ExpectedRecord, txt: Lookup, evaluation: SpfEvaluation | None = None
) -> RecordResult:
    """`record.value` is the record to publish when none exists (`v=spf1 include:X ~all`);
    its terms other than `all` are what an existing record must contain."""
    required = [t for t in spf_terms(record.value) if not _is_all(t)]
    if txt.is_transient:
        return _dns_error(record, txt)
    values = txt.values if txt.found else ()
    quoted = [v for v in values if is_spf(_unquote(v)) and not is_spf(v)]
    spf_records = [v for v in values if is_spf(v)]
    if quoted and not spf_records:
        fixed = _unquote(quoted[0])
        return _result(
            record,
            Outcome.MISMATCH,
            "literal_quotes",
            f"The SPF record at `{record.host}` has quote marks inside its text, so receivers "
            f"do not recognise it. Enter the value without them: `{fixed}`.",
            quoted[0],
            suggested=spf_with_terms(fixed, required),
        )
    if not spf_records:
        return _result(
            record, Outcome.MISSING, "spf_missing", _add_fix(record), suggested=record.value
        )
    if len(spf_records) > 1:
        merged = merge_spf(spf_records, required)
        return _result(
            record,
            Outcome.MISMATCH,
            "spf_multiple",
            f"`{record.host}` has {len(spf_records)} SPF records; with more than one, "
            "receivers treat SPF as a permanent error and every check fails. Delete them all "
            f"and publish this one record instead: `{merged}`.",
            " | ".join(spf_records),
            suggested=merged,
        )
    spf = spf_records[0]
    index = values.index(spf)
    strings = txt.txt_strings[index] if index < len(txt.txt_strings) else ()
    if _split_without_space(strings):
        joined = " ".join(" ".join(strings).split())
        return _result(
            record,
            Outcome.MISMATCH,
            "txt_split_no_space",
            f"The SPF record at `{record.host}` is split into parts that are joined without "
            "a space, so two terms run together. Re-enter it as one value, or end each part "
            f"with a space: `{spf_with_terms(joined, required)}`.",
            spf,
            suggested=spf_with_terms(joined, required),
        )
    present = {spf_term_key(t) for t in spf_terms(spf)}
    if any(spf_term_key(term) not in present for term in required):
        updated = spf_with_terms(spf, required)
        return _result(
            record,
            Outcome.MISMATCH,
            "spf_include_missing",
            f"Your SPF record at `{record.host}` does not include us. Do not add a second SPF "
            f"record; change the existing one to: `{updated}`.",
            spf,
            suggested=updated,
        )
    if evaluation is not None:
        if evaluation.loops:
            looped = ", ".join(f"`{t}`" for t in evaluation.loops)
            return _result(
                record,
                Outcome.MISMATCH,
                "spf_include_broken",
                f"Your SPF record's {looped} leads back to a record already being evaluated "
                "(an include loop). Receivers give up with a permanent error: remove the term "
                "that closes the loop.",
                spf,
            )
        if evaluation.broken_includes:
            broken = ", ".join(f"`{t}`" for t in evaluation.broken_includes)
            return _result(
                record,
                Outcome.MISMATCH,
                "spf_include_broken",
                f"Your SPF record's {broken} names a domain with no single SPF record of its "
                "own. Receivers treat that as a permanent error: remove that term (or fix the "
                "name).",
                spf,
            )
        if evaluation.lookups > SPF_LOOKUP_LIMIT:
            return _result(
                record,
                Outcome.MISMATCH,
                "spf_too_many_lookups",
                f"Your SPF record needs {evaluation.lookups} DNS lookups; the limit is "
                f"{SPF_LOOKUP_LIMIT} (RFC 7208 4.6.4), beyond which receivers treat SPF as a "
                "permanent error. Remove includes of services you no longer send through, or "
                "replace `a`/`mx` terms with `ip4:`/`ip6:` ranges.",
                spf,
            )
        if evaluation.void_lookups > SPF_VOID_LIMIT:
            return _result(
                record,
                Outcome.MISMATCH,
                "spf_void_lookups",
                f"{evaluation.void_lookups} terms of your SPF record name domains that do "
                f"not exist or have no records; more than {SPF_VOID_LIMIT} is a permanent "
                "error (RFC 7208 4.6.4). Remove the terms for those names.",
                spf,
            )
        if evaluation.transient:
            return _result(
                record,
                Outcome.ERROR,
                "dns_error",
                "Some names your SPF record includes did not answer (SERVFAIL or timeout), "
                "so it cannot be judged yet. We keep retrying; if it lasts, check those "
                "includes with their providers.",
                spf,
            )
    return _ok(record, spf)


# --- DMARC --------------------------------------------------------------------------------

DMARC_TAG = re.compile(r"^\s*([a-z]+)\s*=\s*(.*?)\s*$", re.IGNORECASE)
DMARC_POLICIES = {"none", "quarantine", "reject"}


def is_dmarc(value: str) -> bool:
    return value.strip().lower().replace(" ", "").startswith("v=dmarc1")


def dmarc_problems(value: str) -> list[str]:
    """What makes a DMARC record invalid (RFC 7489 6.3/6.4); empty when it is valid."""
    parts = [p for p in value.split(";") if p.strip()]
    tags: dict[str, str] = {}
    problems: list[str] = []
    for part in parts:
        match = DMARC_TAG.match(part)
        if not match:
            problems.append(f"`{part.strip()}` is not a tag=value pair")
            continue
        tags.setdefault(match.group(1).lower(), match.group(2))
    if not parts or parts[0].strip().replace(" ", "") != "v=DMARC1":
        problems.append("it must start with `v=DMARC1;` (exactly that case)")
    policy = tags.get("p")
    if policy is None:
        problems.append("the required `p=` tag is missing")
    elif policy.lower() not in DMARC_POLICIES:
        problems.append(f"`p={policy}` must be none, quarantine or reject")
    if "sp" in tags and tags["sp"].lower() not in DMARC_POLICIES:
        problems.append(f"`sp={tags['sp']}` must be none, quarantine or reject")
    if "pct" in tags and not (tags["pct"].isdigit() and 0 <= int(tags["pct"]) <= 100):
        problems.append(f"`pct={tags['pct']}` must be a number from 0 to 100")
    for uri_tag in ("rua", "ruf"):
        for uri in filter(None, (u.strip() for u in tags.get(uri_tag, "").split(","))):
            if not uri.lower().startswith("mailto:"):
                problems.append(f"`{uri_tag}` addresses must start with `mailto:`")
                break
    return problems


def dmarc_policy(value: str, tag: str = "p") -> str | None:
    for part in value.split(";"):
        match = DMARC_TAG.match(part)
        if match and match.group(1).lower() == tag:
            return match.group(2).lower()
    return None


def classify_dmarc(record: ExpectedRecord, obs: DmarcObservation) -> RecordResult:
    """`record.value` is the recommended record (`v=DMARC1; p=none; rua=mailto:...`) at
    `_dmarc.<domain>`. A policy inherited from the organizational domain counts, with its
    subdomain policy (`sp=`) when it has one."""
    public = obs.public
    if public.is_transient:
        return _dns_error(record, public)
    records = [v for v in (public.values if public.found else ()) if is_dmarc(_unquote(v))]
    if len(records) > 1:
        return _result(
            record,
            Outcome.MISMATCH,
            "dmarc_multiple",
            f"`{record.host}` has {len(records)} DMARC records; receivers ignore DMARC when "
            "there is more than one. Keep one and delete the rest.",
            " | ".join(records),
        )
    if records:
        if not is_dmarc(records[0]):
            return _result(
                record,
                Outcome.MISMATCH,
                "literal_quotes",
                f"The DMARC record at `{record.host}` has quote marks inside its text, so "
                f"receivers cannot read it. Enter the value without them: "
                f"`{_unquote(records[0])}`.",
                records[0],
            )
        return _judge_dmarc(record, records[0], inherited_from=None)
    organizational = obs.organizational
    if organizational is not None:
        if organizational.is_transient:
            return _dns_error(record, organizational)
        inherited = [v for v in organizational.values if is_dmarc(v)]
        if len(inherited) == 1 and not dmarc_problems(inherited[0]):
            return _judge_dmarc(record, inherited[0], inherited_from=organizational.name)
    apex = obs.apex
    if apex is not None and apex.found and any(is_dmarc(_unquote(v)) for v in apex.values):
        misplaced = next(v for v in apex.values if is_dmarc(_unquote(v)))
        return _result(
            record,
            Outcome.MISMATCH,
            "dmarc_at_apex",
            f"The DMARC record is on the domain itself, where receivers do not look. Move it "
            f"to the host `{record.host}` (same value), and delete it from the domain.",
            misplaced,
        )
    return _result(
        record,
        Outcome.MISSING,
        "dmarc_missing",
        f"Add a TXT record with host `{record.host}` and value `{record.value}`. It starts in "
        "monitoring mode (p=none): nothing is rejected while you read the reports.",
        suggested=record.value,
    )


def _judge_dmarc(record: ExpectedRecord, value: str, inherited_from: str | None) -> RecordResult:
    problems = dmarc_problems(value)
    if problems:
        return _result(
            record,
            Outcome.MISMATCH,
            "dmarc_syntax",
            f"The DMARC record at `{record.host}` is invalid: {'; '.join(problems)}. Replace "
            f"it with `{record.value}` or correct it.",
            value,
            suggested=record.value,
        )
    source = f" (inherited from {inherited_from})" if inherited_from else ""
    policy = dmarc_policy(value, tag="sp") if inherited_from else None
    policy = policy or dmarc_policy(value)
    if policy == "none":
        return _result(
            record,
            Outcome.OK,
            "dmarc_policy_none",
            f"DMARC is in monitoring mode{source}: receivers report but do not act on mail "
            "from this domain. When the reports show only your own mail, move to quarantine, "
            "then reject.",
            value,
        )
    return _result(record, Outcome.OK, None, f"Nothing to do{source}.", value)


# --- MX for a custom MAIL FROM host -------------------------------------------------------

SES_FEEDBACK_MX = re.compile(r"^\d+ feedback-smtp\.([a-z0-9-]+)\.amazonses\.com$")


def classify_mail_from_mx(record: ExpectedRecord, obs: MxObservation) -> RecordResult:
    """`record.value` is `10 feedback-smtp.<region>.amazonses.com` (or our own MX)."""
    public = obs.public
    if public.is_transient:
        return _dns_error(record, public)
    cname_target = public.via or (obs.cname.values[0] if obs.cname and obs.cname.found else None)
    if cname_target:
        return _result(
            record,
            Outcome.MISMATCH,
            "mailfrom_cname_conflict",
            f"`{record.host}` has a CNAME record (to `{cname_target}`), and a name with a CNAME "
            "can have no MX of its own. Choose a MAIL FROM host that is free, or delete the "
            f"CNAME, then add an MX record with value `{record.value}`.",
            cname_target,
        )
    expected_host = record.value.split()[-1].lower().rstrip(".")

    def has_ours(lookup: Lookup | None) -> bool:
        return bool(lookup and lookup.found and expected_host in _mx_hosts(lookup))

    if has_ours(public):
        return _ok(record, ", ".join(public.values))
    if has_ours(obs.authoritative):
        assert obs.authoritative is not None
        return _propagating(
            record, ", ".join(obs.authoritative.values), public.ttl, stale=public.found
        )
    if public.found:
        expected_region = SES_FEEDBACK_MX.match(record.value.lower())
        for value in public.values:
            region = SES_FEEDBACK_MX.match(value)
            if expected_region and region:
                return _result(
                    record,
                    Outcome.MISMATCH,
                    "mailfrom_mx_wrong_region",
                    f"The MX record at `{record.host}` points to SES in {region.group(1)}, but "
                    f"this domain now sends from {expected_region.group(1)}. Change its value "
                    f"to `{record.value}`.",
                    value,
                )
        return _result(
            record,
            Outcome.MISMATCH,
            "wrong_target",
            f"The MX record at `{record.host}` points elsewhere (`{', '.join(public.values)}`). "
            f"Change it to `{record.value}`: bounces to the MAIL FROM host must reach us.",
            ", ".join(public.values),
        )
    return _result(
        record,
        Outcome.MISSING,
        "mailfrom_mx_missing",
        f"Add an MX record with host `{record.host}`, priority "
        f"{record.value.split()[0]} and value `{expected_host}`.",
        absent_at_source=_missing_at_source(obs.authoritative),
    )


def _mx_hosts(lookup: Lookup) -> list[str]:
    return [v.split()[-1] for v in lookup.values]


# --- A/AAAA at an apex (storefront routing) ---------------------------------------------


def classify_apex_address(record: ExpectedRecord, obs: AddressObservation) -> RecordResult:
    """`record.value` is our address(es), space-separated. Addresses of our target count too
    (a provider that flattens an apex CNAME publishes them)."""
    if obs.a.is_transient:
        return _dns_error(record, obs.a)
    expected = set(record.value.split()) | set(obs.target_addresses)
    seen = [*obs.a.values, *(obs.aaaa.values if obs.aaaa and obs.aaaa.found else ())]
    if not seen:
        return _result(record, Outcome.MISSING, "not_found", _add_fix(record))
    if all(address in expected for address in seen):
        return _ok(record, ", ".join(seen))
    if all_cloudflare(seen):
        return _result(
            record,
            Outcome.MISMATCH,
            "cloudflare_proxy",
            f"`{record.host}` is proxied by Cloudflare (orange cloud), so visitors reach "
            "Cloudflare instead of us and the certificate cannot be issued. In Cloudflare's DNS "
            'page set the record\'s proxy status to "DNS only" (grey cloud).',
            ", ".join(seen),
        )
    stray = [address for address in seen if address not in expected]
    return _result(
        record,
        Outcome.MISMATCH,
        "wrong_target",
        f"`{record.host}` points to {', '.join(stray)}. Change the A record's value to "
        f"`{record.value}` and remove records with other addresses.",
        ", ".join(seen),
    )


# --- a set of records ---------------------------------------------------------------------


def domain_not_found(record: ExpectedRecord, registrable: str) -> RecordResult:
    return _result(
        record,
        Outcome.MISSING,
        "domain_not_found",
        f"The domain `{registrable}` does not exist in DNS: check its spelling, or that it is "
        "registered and not expired.",
    )


def summarise(
    results: list[RecordResult] | tuple[RecordResult, ...],
    *,
    zone_nameservers: tuple[str, ...] = (),
) -> Summary:
    """The verdict over a set of records. Transient failures never count as missing."""
    results = tuple(results)
    total = len(results)
    ok_count = sum(1 for r in results if r.ok)
    if ok_count == total:
        return Summary(Outcome.OK, None, "All records are in place.", ok_count, total, results)
    failing = [r for r in results if not r.ok]
    if any(r.hint == "domain_not_found" for r in failing):
        first = next(r for r in failing if r.hint == "domain_not_found")
        return Summary(Outcome.MISSING, "domain_not_found", first.fix, ok_count, total, results)
    if any(r.outcome == Outcome.ERROR for r in failing):
        return Summary(
            Outcome.ERROR,
            "dns_error",
            "DNS did not answer for some records; we will retry before judging them.",
            ok_count,
            total,
            results,
        )
    if ok_count:
        fixes = " ".join(f"{r.record.purpose} ({r.record.host}): {r.fix}" for r in failing)
        return Summary(
            Outcome.MISMATCH
            if any(r.outcome == Outcome.MISMATCH for r in failing)
            else Outcome.MISSING,
            "partial",
            f"{ok_count} of {total} records are correct. {fixes}",
            ok_count,
            total,
            results,
        )
    not_found_hints = {
        "not_found",
        "token_missing",
        "spf_missing",
        "dmarc_missing",
        "mailfrom_mx_missing",
    }
    if all(r.hint in not_found_hints and r.absent_at_source for r in failing) and zone_nameservers:
        host = describe_dns_host(zone_nameservers)
        provider = dns_host_name(zone_nameservers) or "that DNS host"
        return Summary(
            Outcome.MISSING,
            "wrong_dns_host",
            f"None of the records is at the servers that answer for your domain: {host}. "
            f"Add them at {provider}; records added anywhere else (at your registrar, or an "
            "old DNS host) have no effect.",
            ok_count,
            total,
            results,
        )
    first = failing[0]
    return Summary(first.outcome, first.hint, first.fix, ok_count, total, results)
