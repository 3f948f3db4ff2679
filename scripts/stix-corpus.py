#!/usr/bin/env python3
"""Writes Airlock's STIX 2.1 validation corpus: tests/fixtures/stix/{valid,invalid}/.

Test tooling, not part of the product: the corpus is committed; run this again only to
change it. Each invalid file is named `<rule>__<what>.json`, where <rule> is the rule
of Airlock's validator (host/src/validate/stix.rs) the document breaks; the test
`tests/tests/validate_stix.rs` checks that the validator reports exactly that rule
among its errors, and that every valid file has no errors. Documents are mutations of
a few valid base documents, one mutation per file, covering every rule.
"""

import copy
import json
import os
import shutil
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "stix")

T0 = "2016-04-06T20:03:48.000Z"
T1 = "2016-05-01T00:00:00.000Z"
IDENTITY = "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff"
MARKING = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"  # TLP:GREEN
INDICATOR = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
MALWARE = "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
CAMPAIGN = "campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3a"
REL = "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad"
SIGHTING = "sighting--ee20065d-2555-424f-ad9e-0f8fd45c7bb2"
OBSERVED = "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf"
IPV4 = "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"
FILE = "file--5a27d487-c542-5f97-a131-a8866b477b46"
EMAIL_ADDR = "email-addr--2d77a846-6264-5d51-b586-e43822ea1ea3"
EMAIL_MSG = "email-message--8c57a381-2a17-5e61-b754-5ef4e7f2b63a"
URL = "url--c1477287-23ac-5971-a010-5c287877fa60"
LOCATION = "location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64"
REPORT = "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3"
NOTE = "note--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"


def sdo(kind, ident, **props):
    o = {"type": kind, "spec_version": "2.1", "id": ident, "created": T0, "modified": T0}
    o.update(props)
    return o


def sco(kind, ident, **props):
    o = {"type": kind, "spec_version": "2.1", "id": ident}
    o.update(props)
    return o


def identity():
    return sdo("identity", IDENTITY, name="ACME CERT", identity_class="organization")


def indicator(**extra):
    return sdo(
        "indicator",
        INDICATOR,
        created_by_ref=IDENTITY,
        name="C2 address",
        indicator_types=["malicious-activity"],
        pattern="[ipv4-addr:value = '198.51.100.1']",
        pattern_type="stix",
        valid_from="2016-01-01T00:00:00Z",
        object_marking_refs=[MARKING],
        **extra,
    )


def malware():
    return sdo(
        "malware",
        MALWARE,
        name="Poison Ivy",
        malware_types=["remote-access-trojan"],
        is_family=True,
        sample_refs=[FILE],
    )


def relationship():
    return sdo(
        "relationship",
        REL,
        relationship_type="indicates",
        source_ref=INDICATOR,
        target_ref=MALWARE,
    )


def sighting():
    return sdo(
        "sighting",
        SIGHTING,
        sighting_of_ref=INDICATOR,
        observed_data_refs=[OBSERVED],
        where_sighted_refs=[IDENTITY, LOCATION],
        first_seen="2016-04-01T00:00:00Z",
        last_seen="2016-04-02T00:00:00Z",
        count=2,
    )


def observed():
    return sdo(
        "observed-data",
        OBSERVED,
        first_observed="2016-04-01T00:00:00Z",
        last_observed="2016-04-01T01:00:00Z",
        number_observed=3,
        object_refs=[IPV4, FILE],
    )


def location():
    return sdo("location", LOCATION, name="Head office", country="DE")


def campaign():
    return sdo(
        "campaign",
        CAMPAIGN,
        name="Green Group Attacks",
        first_seen="2016-01-01T00:00:00Z",
        last_seen="2016-03-01T00:00:00Z",
    )


def report():
    return sdo(
        "report",
        REPORT,
        name="Poison Ivy report",
        report_types=["threat-report"],
        published="2016-04-07T00:00:00Z",
        object_refs=[INDICATOR, MALWARE, REL],
    )


def note():
    return sdo("note", NOTE, content="Seen again this week.", object_refs=[MALWARE])


def email():
    return [
        sco("email-addr", EMAIL_ADDR, value="jdoe@example.com"),
        sco(
            "email-message",
            EMAIL_MSG,
            is_multipart=False,
            from_ref=EMAIL_ADDR,
            to_refs=[EMAIL_ADDR],
            subject="Invoice",
        ),
    ]


def scos():
    return [
        sco("ipv4-addr", IPV4, value="198.51.100.1"),
        sco(
            "file",
            FILE,
            name="invoice.pdf.exe",
            hashes={"SHA-256": "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"},
        ),
        sco("url", URL, value="http://bad.example.net/a.exe"),
    ]


def full_bundle():
    objects = [identity(), indicator(), malware(), relationship(), sighting(), observed(),
               location(), campaign(), report(), note()] + scos() + email()
    return {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
            "objects": objects}


def find(doc, ident):
    for o in doc["objects"]:
        if o["id"] == ident:
            return o
    raise KeyError(ident)


# Mutations of the full bundle: (rule, name, function(doc)). `None` rule: still valid.
def mutations():
    m = []

    def add(rule, name):
        def deco(f):
            m.append((rule, name, f))
            return f
        return deco

    # --- still valid (warnings at most) ---
    add(None, "custom-property")(lambda d: find(d, INDICATOR).update(x_acme_score=7))
    add(None, "unresolved-ref-is-a-warning")(
        lambda d: find(d, REPORT)["object_refs"].append("tool--d7b2c5a8-1e2a-4a2c-9c1e-2f3e4d5c6b7a"))
    add(None, "open-vocab-outside-suggestions")(
        lambda d: find(d, INDICATOR).update(indicator_types=["our-own-type"]))
    add(None, "sco-with-uuid4-id-is-a-warning")(
        lambda d: d["objects"].append(sco("domain-name", "domain-name--3a27d487-c542-4f97-a131-a8866b477b46", value="bad.example.net")))
    add(None, "granular-marking-on-an-existing-property")(
        lambda d: find(d, INDICATOR).update(granular_markings=[{"marking_ref": MARKING, "selectors": ["name", "indicator_types.[0]"]}]))
    add(None, "extension-definition")(
        lambda d: find(d, MALWARE).update(extensions={"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "property-extension", "rank": 5}}))
    add(None, "two-versions-of-one-object")(
        lambda d: d["objects"].append(dict(find(d, MALWARE), modified=T1)))
    add(None, "pattern-with-qualifiers")(
        lambda d: find(d, INDICATOR).update(pattern="([file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'] AND [url:value LIKE '%bad%']) WITHIN 300 SECONDS"))
    add(None, "pattern-type-not-stix-is-not-parsed")(
        lambda d: find(d, INDICATOR).update(pattern="alert tcp any any -> any any", pattern_type="snort"))
    add(None, "modified-equals-created")(lambda d: None)
    add(None, "valid-until-after-valid-from")(
        lambda d: find(d, INDICATOR).update(valid_until="2017-01-01T00:00:00Z"))
    add(None, "confidence-in-range")(lambda d: find(d, INDICATOR).update(confidence=85))
    add(None, "external-reference")(
        lambda d: find(d, MALWARE).update(external_references=[{"source_name": "capec", "external_id": "CAPEC-163"}]))
    add(None, "kill-chain-phases")(
        lambda d: find(d, INDICATOR).update(kill_chain_phases=[{"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "delivery"}]))
    add(None, "lang-and-labels")(lambda d: find(d, NOTE).update(lang="en", labels=["triage"]))

    # --- schema ---
    for kind, ident, prop in [
        ("indicator", INDICATOR, "pattern"),
        ("indicator", INDICATOR, "valid_from"),
        ("indicator", INDICATOR, "created"),
        ("indicator", INDICATOR, "spec_version"),
        ("malware", MALWARE, "is_family"),
        ("relationship", REL, "relationship_type"),
        ("relationship", REL, "target_ref"),
        ("sighting", SIGHTING, "sighting_of_ref"),
        ("observed-data", OBSERVED, "number_observed"),
        ("identity", IDENTITY, "name"),
        ("report", REPORT, "published"),
        ("note", NOTE, "content"),
        ("ipv4-addr", IPV4, "value"),
        ("url", URL, "value"),
        ("campaign", CAMPAIGN, "name"),
        ("location", LOCATION, "country"),
    ]:
        add("schema", f"{kind}-without-{prop}")(
            lambda d, i=ident, p=prop: find(d, i).pop(p))
    add("schema", "bundle-without-id")(lambda d: d.pop("id"))
    add("schema", "name-is-a-number")(lambda d: find(d, MALWARE).update(name=5))
    add("spec-version", "spec-version-2-0")(lambda d: find(d, INDICATOR).update(spec_version="2.0"))
    add("schema", "created-without-z")(lambda d: find(d, CAMPAIGN).update(created="2016-04-06T20:03:48.000+00:00"))
    add("schema", "created-with-a-space")(lambda d: find(d, CAMPAIGN).update(created="2016-04-06 20:03:48.000Z"))
    add("schema", "created-month-13")(lambda d: find(d, CAMPAIGN).update(created="2016-13-06T20:03:48.000Z"))
    add("schema", "confidence-over-100")(lambda d: find(d, INDICATOR).update(confidence=101))
    add("schema", "number-observed-zero")(lambda d: find(d, OBSERVED).update(number_observed=0))
    add("schema", "sighting-count-negative")(lambda d: find(d, SIGHTING).update(count=-1))
    add("schema", "md5-of-wrong-length")(lambda d: find(d, FILE).update(hashes={"MD5": "abc"}))
    add("schema", "sha256-not-hex")(lambda d: find(d, FILE).update(hashes={"SHA-256": "z" * 64}))
    add("schema", "object-marking-refs-not-a-list")(lambda d: find(d, INDICATOR).update(object_marking_refs=MARKING))
    add("schema", "labels-empty-list")(lambda d: find(d, NOTE).update(labels=[]))
    add("schema", "external-reference-without-source")(
        lambda d: find(d, MALWARE).update(external_references=[{"url": "http://example.com"}]))
    add(None, "kill-chain-phase-uppercase-is-only-a-should")(
        lambda d: find(d, INDICATOR).update(kill_chain_phases=[{"kill_chain_name": "LM", "phase_name": "Delivery"}]))
    add("schema", "ipv4-value-a-number")(lambda d: find(d, IPV4).update(value=3232235777))
    add("schema", "identity-class-a-list")(lambda d: find(d, IDENTITY).update(identity_class=["organization"]))
    add("schema", "bundle-objects-not-a-list")(lambda d: d.update(objects={"a": 1}))
    add("schema", "bundle-with-an-empty-objects-list")(lambda d: d.update(objects=[]))
    add("schema", "type-uppercase")(lambda d: find(d, NOTE).update(type="Note"))
    add("schema", "relationship-type-with-spaces")(lambda d: find(d, REL).update(relationship_type="Indicates Malware"))
    add("schema", "location-latitude-out-of-range")(lambda d: find(d, LOCATION).update(latitude=91.0, longitude=10.0))
    add("schema", "revoked-a-string")(lambda d: find(d, MALWARE).update(revoked="no"))
    add("schema", "granular-marking-without-selectors")(
        lambda d: find(d, INDICATOR).update(granular_markings=[{"marking_ref": MARKING}]))

    # --- ids ---
    for ident, wrong in [
        (INDICATOR, "malware"),
        (MALWARE, "tool"),
        (IPV4, "ipv6-addr"),
        (REL, "sighting"),
        (CAMPAIGN, "intrusion-set"),
    ]:
        def change(d, i=ident, w=wrong):
            o = find(d, i)
            o["id"] = w + "--" + i.split("--", 1)[1]
        add("id-type-mismatch", f"{ident.split('--')[0]}-with-a-{wrong}-id")(change)
    add("id-uuid", "uuid-too-short")(lambda d: find(d, NOTE).update(id="note--1234"))
    add("id-uuid", "uuid-wrong-variant")(
        lambda d: find(d, NOTE).update(id="note--0c7b5b88-8ff7-4a4d-ca9d-feb398cd0061"))
    add("id-uuid", "no-double-hyphen")(lambda d: find(d, NOTE).update(id="note-0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"))
    add("id-uuid", "uuid-without-hyphens")(lambda d: find(d, NOTE).update(id="note--0c7b5b888ff74a4daa9dfeb398cd0061"))

    # --- timestamps ---
    add("timestamp-order", "modified-before-created")(lambda d: find(d, MALWARE).update(modified="2016-04-06T20:03:47.999Z"))
    add("timestamp-order", "modified-a-year-early")(lambda d: find(d, IDENTITY).update(modified="2015-04-06T20:03:48.000Z"))
    add("timestamp-order", "valid-until-before-valid-from")(lambda d: find(d, INDICATOR).update(valid_until="2015-12-31T23:59:59Z"))
    add("timestamp-order", "valid-until-equals-valid-from")(lambda d: find(d, INDICATOR).update(valid_until="2016-01-01T00:00:00Z"))
    add("timestamp-order", "sighting-last-seen-before-first")(lambda d: find(d, SIGHTING).update(last_seen="2016-03-01T00:00:00Z"))
    add("timestamp-order", "campaign-last-seen-before-first")(lambda d: find(d, CAMPAIGN).update(last_seen="2015-03-01T00:00:00Z"))
    add("timestamp-order", "last-observed-before-first")(lambda d: find(d, OBSERVED).update(last_observed="2016-03-31T23:00:00Z"))

    # --- references ---
    for ident, prop, value, what in [
        (INDICATOR, "created_by_ref", MALWARE, "created-by-a-malware"),
        (MALWARE, "created_by_ref", LOCATION, "created-by-a-location"),
        (INDICATOR, "object_marking_refs", [IDENTITY], "marking-ref-to-identity"),
        (SIGHTING, "sighting_of_ref", IPV4, "sighting-of-an-sco"),
        (SIGHTING, "sighting_of_ref", REL, "sighting-of-a-relationship"),
        (SIGHTING, "observed_data_refs", [INDICATOR], "observed-data-refs-to-indicator"),
        (SIGHTING, "where_sighted_refs", [MALWARE], "sighted-at-a-malware"),
        (REL, "source_ref", MARKING, "relationship-from-a-marking"),
        (REL, "target_ref", SIGHTING, "relationship-to-a-sighting"),
        (MALWARE, "sample_refs", [IPV4], "malware-sample-an-ip"),
        (OBSERVED, "object_refs", [INDICATOR], "observed-data-of-an-sdo"),
        (EMAIL_MSG, "from_ref", URL, "email-from-a-url"),
        (EMAIL_MSG, "to_refs", [FILE], "email-to-a-file"),
    ]:
        add("ref-type", what)(lambda d, i=ident, p=prop, v=value: find(d, i).update({p: v}))
    add("ref-type", "granular-marking-ref-to-identity")(
        lambda d: find(d, INDICATOR).update(granular_markings=[{"marking_ref": IDENTITY, "selectors": ["name"]}]))
    for ident, prop, value, what in [
        (INDICATOR, "created_by_ref", "identity-f431f809", "created-by-not-an-id"),
        (REPORT, "object_refs", [INDICATOR, "not-an-id"], "report-ref-not-an-id"),
        (REL, "source_ref", "indicator--nope", "source-uuid-malformed"),
        (NOTE, "object_refs", ["malware--31b940d4"], "note-ref-uuid-truncated"),
    ]:
        add("ref-format", what)(lambda d, i=ident, p=prop, v=value: find(d, i).update({p: v}))

    # --- patterns ---
    for n, pattern in enumerate([
        "[ipv4-addr:value = '198.51.100.1'",
        "ipv4-addr:value = '198.51.100.1'",
        "[ipv4-addr:value '198.51.100.1']",
        "[ipv4-addr:value = ]",
        "[ipv4-addr = '198.51.100.1']",
        "[file:hashes.SHA-256 = 'abc']",
        "[file:name = 'unterminated]",
        "[file:size = 007]",
        "[file:name = 'a'] WITHIN -5 SECONDS",
        "[file:name = 'a'] REPEATS 5",
        "[file:name = 'a'] START t'2016-13-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
        "[artifact:payload_bin = b'abc']",
        "[file:name = 'a'] [file:name = 'b']",
        "[file:name = 'a'] AND",
        "[file:name = 'a' AND ]",
        "[]",
        "[file:name = 'a' OR]",
        "[file:name IN ('a', )]",
    ]):
        add("pattern-syntax", f"pattern-{n:02}")(
            lambda d, p=pattern: find(d, INDICATOR).update(pattern=p))

    # --- property names ---
    add("property-name", "uppercase-custom-property")(lambda d: find(d, INDICATOR).update(X_Score=1))
    add("property-name", "hyphen-in-property")(lambda d: find(d, MALWARE).update({"x-acme-rank": 1}))
    add("property-name", "two-character-property")(lambda d: find(d, NOTE).update(xy=1))
    add("property-name", "property-with-a-space")(lambda d: find(d, CAMPAIGN).update({"x acme": 1}))

    # --- granular markings ---
    add("granular-marking-selector", "selector-to-a-missing-property")(
        lambda d: find(d, INDICATOR).update(granular_markings=[{"marking_ref": MARKING, "selectors": ["description"]}]))
    add("granular-marking-selector", "selector-index-out-of-range")(
        lambda d: find(d, INDICATOR).update(granular_markings=[{"marking_ref": MARKING, "selectors": ["indicator_types.[3]"]}]))
    add("granular-marking-selector", "selector-into-a-string")(
        lambda d: find(d, INDICATOR).update(granular_markings=[{"marking_ref": MARKING, "selectors": ["name.first"]}]))

    # --- extensions ---
    add("extension-name", "definition-without-a-uuid")(
        lambda d: find(d, MALWARE).update(extensions={"extension-definition--d83fce45": {"extension_type": "property-extension"}}))

    # --- languages (RFC 5646) ---
    add(None, "lang-with-script-and-region")(lambda d: find(d, NOTE).update(lang="zh-Hant-TW"))
    add(None, "lang-with-private-use")(lambda d: find(d, NOTE).update(lang="de-CH-x-phonebk"))
    add(None, "granular-marking-with-lang-only")(
        lambda d: find(d, NOTE).update(lang="en", granular_markings=[{"lang": "de", "selectors": ["content"]}]))
    add("lang-tag", "lang-a-language-name")(lambda d: find(d, NOTE).update(lang="english"))
    add("lang-tag", "lang-with-an-underscore")(lambda d: find(d, NOTE).update(lang="en_US"))
    add("lang-tag", "lang-unknown-language")(lambda d: find(d, CAMPAIGN).update(lang="xx"))
    add("lang-tag", "lang-unknown-region")(lambda d: find(d, CAMPAIGN).update(lang="en-ZQ"))
    add("lang-tag", "granular-marking-lang-malformed")(
        lambda d: find(d, NOTE).update(granular_markings=[{"lang": "en--US", "selectors": ["content"]}]))

    # --- granular markings: a language or a marking ---
    add("granular-marking-lang-or-ref", "both-lang-and-marking-ref")(
        lambda d: find(d, NOTE).update(granular_markings=[{"lang": "en", "marking_ref": MARKING, "selectors": ["content"]}]))
    add("granular-marking-lang-or-ref", "neither-lang-nor-marking-ref")(
        lambda d: find(d, NOTE).update(granular_markings=[{"selectors": ["content"]}]))

    # --- circular markings ---
    STATEMENT = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"

    def statement(**extra):
        m = {"type": "marking-definition", "spec_version": "2.1", "id": STATEMENT, "created": T0,
             "definition_type": "statement", "definition": {"statement": "Copyright 2016, ACME"}}
        m.update(extra)
        return m
    add(None, "statement-marking")(lambda d: d["objects"].append(statement()))
    add("marking-circular-ref", "marking-marks-itself")(
        lambda d: d["objects"].append(statement(object_marking_refs=[STATEMENT])))
    add("marking-circular-ref", "marking-marks-itself-granularly")(
        lambda d: d["objects"].append(statement(granular_markings=[{"marking_ref": STATEMENT, "selectors": ["definition"]}])))

    # --- every "MUST be later than" ---
    add(None, "relationship-stop-after-start")(
        lambda d: find(d, REL).update(start_time="2016-01-01T00:00:00Z", stop_time="2016-02-01T00:00:00Z"))
    add("timestamp-order", "relationship-stop-before-start")(
        lambda d: find(d, REL).update(start_time="2016-02-01T00:00:00Z", stop_time="2016-01-01T00:00:00Z"))
    add("timestamp-order", "relationship-stop-equals-start")(
        lambda d: find(d, REL).update(start_time="2016-02-01T00:00:00Z", stop_time="2016-02-01T00:00:00Z"))
    TRAFFIC = "network-traffic--15a157a8-26e3-56e0-820b-0c2a8e553a2c"
    add(None, "network-traffic-end-after-start")(lambda d: d["objects"].append(
        sco("network-traffic", TRAFFIC, start="2016-01-01T00:00:00Z", end="2016-01-01T00:05:00Z",
            src_ref=IPV4, protocols=["tcp"])))
    add("timestamp-order", "network-traffic-end-before-start")(lambda d: d["objects"].append(
        sco("network-traffic", TRAFFIC, start="2016-01-01T00:05:00Z", end="2016-01-01T00:00:00Z",
            src_ref=IPV4, protocols=["tcp"])))
    add("timestamp", "created-february-30")(lambda d: find(d, CAMPAIGN).update(created="2016-02-30T20:03:48.000Z", modified="2016-04-06T20:03:48.000Z"))
    add("timestamp", "first-seen-hour-24")(lambda d: find(d, CAMPAIGN).update(first_seen="2016-03-01T24:00:00Z"))
    add(None, "leap-day")(lambda d: find(d, CAMPAIGN).update(first_seen="2016-02-29T12:00:00Z"))

    # --- pattern semantics ---
    add("pattern-qualifier", "within-twice")(
        lambda d: find(d, INDICATOR).update(pattern="[file:name = 'a'] WITHIN 5 SECONDS WITHIN 6 SECONDS"))
    add("pattern-qualifier", "repeats-twice")(
        lambda d: find(d, INDICATOR).update(pattern="[file:name = 'a'] REPEATS 2 TIMES REPEATS 3 TIMES"))
    add(None, "within-and-repeats-once-each")(
        lambda d: find(d, INDICATOR).update(pattern="[file:name = 'a'] REPEATS 2 TIMES WITHIN 60 SECONDS"))
    add("pattern-object-type-name", "capitalised-object-type")(
        lambda d: find(d, INDICATOR).update(pattern="[File:name = 'a']"))
    add("pattern-object-type-name", "object-type-with-underscore")(
        lambda d: find(d, INDICATOR).update(pattern="[domain_name:value = 'a.example']"))
    add("pattern-hash", "md5-too-short")(
        lambda d: find(d, INDICATOR).update(pattern="[file:hashes.MD5 = 'abc']"))
    add("pattern-hash", "sha256-not-hex")(
        lambda d: find(d, INDICATOR).update(pattern="[file:hashes.'SHA-256' = '" + "z" * 64 + "']"))
    add("pattern-hash", "sha1-of-an-md5-length")(
        lambda d: find(d, INDICATOR).update(pattern="[file:hashes.'SHA-1' = 'd41d8cd98f00b204e9800998ecf8427e']"))
    add(None, "hash-in-a-pattern-fits")(
        lambda d: find(d, INDICATOR).update(pattern="[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' OR file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']"))

    # --- SCO ids without ID contributing properties ---
    add("sco-id-uuid4", "email-message-without-contributing-properties-uuid5")(lambda d: d["objects"].append(
        sco("email-message", "email-message--8c57a381-2a17-5e61-b754-5ef4e7f2b63b", is_multipart=False)))
    add(None, "email-message-without-contributing-properties-uuid4")(lambda d: d["objects"].append(
        sco("email-message", "email-message--8c57a381-2a17-4e61-b754-5ef4e7f2b63b", is_multipart=False)))

    # --- bundle structure ---
    add(None, "same-object-twice-is-a-warning")(lambda d: d["objects"].append(copy.deepcopy(find(d, MALWARE))))
    add(None, "same-indicator-twice-is-a-warning")(lambda d: d["objects"].append(copy.deepcopy(find(d, INDICATOR))))
    add("not-an-object", "a-number-among-objects")(lambda d: d["objects"].append(42))
    add("nested-bundle", "a-bundle-inside-a-bundle")(
        lambda d: d["objects"].append({"type": "bundle", "id": "bundle--0a9d3e5c-1b2a-4c3d-8e9f-0a1b2c3d4e5f", "objects": []}))
    return m


# Mutations of single objects (not bundled).
def more_scos():
    """Every other cyber-observable type, valid, with an id of its own type."""
    u = lambda n: f"{n:08x}-c542-5f97-a131-a8866b477b46"
    return [
        sco("domain-name", "domain-name--" + u(1), value="bad.example.net", resolves_to_refs=[IPV4]),
        sco("mac-addr", "mac-addr--" + u(2), value="d2:fb:49:24:37:18"),
        sco("mutex", "mutex--" + u(3), name="__CLEANSWEEP__"),
        sco("autonomous-system", "autonomous-system--" + u(4), number=15139, name="Slime Industries"),
        sco("software", "software--" + u(5), name="Word", vendor="Microsoft", version="2002"),
        sco("user-account", "user-account--" + u(6), user_id="1001", account_login="jdoe"),
        sco("directory", "directory--" + u(7), path="C:\\Windows\\System32", contains_refs=[FILE]),
        sco("windows-registry-key", "windows-registry-key--" + u(8), key="HKEY_LOCAL_MACHINE\\System\\Foo\\Bar"),
        sco("x509-certificate", "x509-certificate--" + u(9), issuer="C=ZA, O=Thawte", serial_number="02:08:87:83"),
        sco("artifact", "artifact--" + u(10), mime_type="application/zip", url="https://example.com/a.zip",
            hashes={"SHA-256": "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"}),
        sco("network-traffic", "network-traffic--" + u(11), src_ref=IPV4, dst_ref="domain-name--" + u(1),
            protocols=["ipv4", "tcp"], dst_port=443),
        sco("process", "process--0000000c-c542-4f97-a131-a8866b477b46", pid=1221, command_line="./gedit-bin --new-window", image_ref=FILE),
        sco("ipv6-addr", "ipv6-addr--" + u(13), value="2001:db8::1"),
        sco("email-addr", "email-addr--" + u(14), value="a@example.org", belongs_to_ref="user-account--" + u(6)),
    ]


def single_objects():
    out = []
    for o in more_scos():
        out.append((None, f"single-{o['type']}", o))
    scos_by_type = {o["type"]: o for o in more_scos()}
    for kind, prop, value, rule, what in [
        ("network-traffic", "src_ref", URL, "ref-type", "traffic-from-a-url"),
        ("network-traffic", "protocols", None, "schema", "traffic-without-protocols"),
        ("network-traffic", "dst_port", 70000, "schema", "traffic-port-over-65535"),
        ("process", "image_ref", URL, "ref-type", "process-image-a-url"),
        ("process", "pid", "1221", "schema", "process-pid-a-string"),
        ("process", "id", "process--" + "0000000c-c542-5f97-a131-a8866b477b46", "sco-id-uuid4", "process-with-a-uuid5-id"),
        ("directory", "contains_refs", [URL], "ref-type", "directory-contains-a-url"),
        ("directory", "path", None, "schema", "directory-without-path"),
        ("domain-name", "resolves_to_refs", [URL], "ref-type", "domain-resolves-to-a-url"),
        ("mutex", "name", None, "schema", "mutex-without-name"),
        ("autonomous-system", "number", "AS15139", "schema", "as-number-a-string"),
        ("email-addr", "belongs_to_ref", FILE, "ref-type", "email-addr-belongs-to-a-file"),
        ("artifact", "payload_bin", "aGVsbG8=", "schema", "artifact-with-url-and-payload"),
        ("software", "name", None, "schema", "software-without-name"),
        ("user-account", "is_service_account", "yes", "schema", "user-account-flag-a-string"),
        ("ipv6-addr", "id", "ipv4-addr--0000000d-c542-5f97-a131-a8866b477b46", "id-type-mismatch", "ipv6-with-ipv4-id"),
        ("x509-certificate", "hashes", {"MD5": "123"}, "schema", "certificate-md5-too-short"),
    ]:
        o = copy.deepcopy(scos_by_type[kind])
        if value is None:
            o.pop(prop)
        else:
            o[prop] = value
        out.append((rule, what, o))
    out.append((None, "single-indicator", indicator()))
    out.append((None, "single-malware", malware()))
    out.append((None, "single-ipv4", scos()[0]))
    bad = indicator(); bad["modified"] = "2016-04-06T20:03:47.000Z"
    out.append(("timestamp-order", "single-indicator-modified-before-created", bad))
    bad = indicator(); bad["pattern"] = "[file:name = 'a'"
    out.append(("pattern-syntax", "single-indicator-unclosed-pattern", bad))
    bad = malware(); bad["id"] = "tool--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
    out.append(("id-type-mismatch", "single-malware-with-tool-id", bad))
    bad = relationship(); bad["source_ref"] = MARKING
    out.append(("ref-type", "single-relationship-from-marking", bad))
    bad = malware(); bad.pop("name"); bad.pop("is_family")
    out.append(("schema", "single-malware-without-is-family", bad))
    return out


def main():
    base = full_bundle()
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for sub in ("valid", "invalid"):
        os.makedirs(os.path.join(OUT, sub))
    count = 0

    def write(rule, name, doc):
        nonlocal count
        sub = "valid" if rule is None else "invalid"
        fname = name if rule is None else f"{rule}__{name}"
        with open(os.path.join(OUT, sub, fname + ".json"), "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        count += 1

    write(None, "full-bundle", base)
    for rule, name, mutate in mutations():
        doc = copy.deepcopy(base)
        mutate(doc)
        write(rule, name, doc)
    for rule, name, doc in single_objects():
        write(rule, name, doc)
    # RFC 8259 §8.1: a byte order mark before the text may be ignored (it is).
    with open(os.path.join(OUT, "valid", "byte-order-mark.json"), "wb") as f:
        f.write(b"\xef\xbb\xbf" + json.dumps(base, indent=2).encode() + b"\n")
    count += 1
    # Not JSON at all.
    with open(os.path.join(OUT, "invalid", "json__truncated.json"), "w") as f:
        f.write(json.dumps(base)[:200])
    count += 1
    print(f"wrote {count} documents to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
