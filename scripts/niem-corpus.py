#!/usr/bin/env python3
"""Writes Airlock's NIEM 6 validation corpus: tests/fixtures/niem/{valid,invalid}/.

Test tooling, not part of the product: the corpus is committed; run this again only to
change it. Documents are XML instances (`.xml`) or JSON-LD (`.jsonld`). Each invalid file
is named `<rule>__<what>.<ext>`, where <rule> is the rule of Airlock's validator
(host/src/validate/niem.rs) it breaks; `tests/tests/validate_niem.rs` checks that the
validator reports that rule, and that every valid file has no errors.

The XML verdicts are checked here against xmllint with the same schemas
(`xmllint --noout --nonet --schema host/standards/niem6.0/xsd/niem-core.xsd`): every valid
document must pass it and every `schema__` document must fail it, so the corpus cannot
encode a misreading of the XSD.
"""

import json
import os
import shutil
import subprocess
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "niem")
XSD = os.path.join(ROOT, "host", "standards", "niem6.0", "xsd", "niem-core.xsd")

NC = "https://docs.oasis-open.org/niemopen/ns/model/niem-core/6.0/"
STRUCTURES = "https://docs.oasis-open.org/niemopen/ns/model/structures/6.0/"
HEAD = f'<?xml version="1.0" encoding="UTF-8"?>\n'


def person(body, attrs=""):
    return f'{HEAD}<nc:Person xmlns:nc="{NC}" xmlns:structures="{STRUCTURES}"{attrs}>\n{body}</nc:Person>\n'


NAME = """  <nc:PersonName>
    <nc:PersonGivenName>Jane</nc:PersonGivenName>
    <nc:PersonMiddleName>Q</nc:PersonMiddleName>
    <nc:PersonSurName>Doe</nc:PersonSurName>
  </nc:PersonName>
"""
BIRTH = """  <nc:PersonBirthDate>
    <nc:Date>1980-04-01</nc:Date>
  </nc:PersonBirthDate>
"""
ORGANIZATION = f"""{HEAD}<nc:Organization xmlns:nc="{NC}" xmlns:structures="{STRUCTURES}" structures:id="O1">
  <nc:OrganizationIdentification>
    <nc:IdentificationID>ACME-42</nc:IdentificationID>
  </nc:OrganizationIdentification>
  <nc:OrganizationName>Acme Shipping</nc:OrganizationName>
</nc:Organization>
"""
ACTIVITY = f"""{HEAD}<nc:Activity xmlns:nc="{NC}">
  <nc:ActivityIdentification>
    <nc:IdentificationID>A-7</nc:IdentificationID>
  </nc:ActivityIdentification>
  <nc:ActivityDate>
    <nc:DateTime>2026-11-23T10:00:00Z</nc:DateTime>
  </nc:ActivityDate>
  <nc:ActivityDescriptionText>Vessel inspection</nc:ActivityDescriptionText>
  <nc:ActivityName>Inspection</nc:ActivityName>
</nc:Activity>
"""
ADDRESS = f"""{HEAD}<nc:Address xmlns:nc="{NC}">
  <nc:AddressFullText>1 Harbour Road, Portsmouth</nc:AddressFullText>
  <nc:AddressCityName>Portsmouth</nc:AddressCityName>
  <nc:AddressPostalCode>PO1 1AA</nc:AddressPostalCode>
</nc:Address>
"""
PERSON = person(BIRTH + NAME, ' structures:id="P1"')


def rep(doc, old, new):
    assert old in doc, f"mutation target missing: {old!r}"
    return doc.replace(old, new, 1)


def jsonld(obj, context=None):
    doc = {"@context": context if context is not None else {"nc": NC}}
    doc.update(obj)
    return json.dumps(doc, indent=1) + "\n"


JPERSON = {
    "nc:Person": {
        "@id": "#P1",
        "@type": "nc:PersonType",
        "nc:PersonName": {"nc:PersonGivenName": "Jane", "nc:PersonSurName": "Doe"},
        "nc:PersonBirthDate": {"nc:Date": "1980-04-01"},
    }
}

VALID = {
    "minimal-person.xml": person("  <nc:PersonName>\n    <nc:PersonGivenName>Jane</nc:PersonGivenName>\n  </nc:PersonName>\n"),
    "person-with-birth-date-and-id.xml": PERSON,
    "organization.xml": ORGANIZATION,
    "activity-with-date-time.xml": ACTIVITY,
    "address.xml": ADDRESS,
    "latin-1-encoding.xml": None,  # bytes, below
    "person-json-ld.jsonld": jsonld(JPERSON),
    "remote-context-url.jsonld": jsonld(JPERSON, "https://docs.oasis-open.org/niemopen/ns/model/niem-core/6.0/context.jsonld"),
    "graph-of-two.jsonld": jsonld({"@graph": [JPERSON, {"nc:Organization": {"nc:OrganizationName": "Acme"}}]}),
    "context-array-and-own-terms.jsonld": jsonld(
        {"label": "x", "nc:Item": {"nc:ItemName": "crate"}}, [{"nc": NC}, {"label": "http://example.org/label"}]
    ),
}

INVALID = {
    "schema__unknown-element.xml": rep(PERSON, "<nc:PersonGivenName>", "<nc:PersonNickName>Jo</nc:PersonNickName>\n    <nc:PersonGivenName>"),
    "schema__children-out-of-order.xml": person(NAME + BIRTH),
    "schema__date-not-a-date.xml": rep(PERSON, "1980-04-01", "1st April 1980"),
    "schema__date-time-not-a-date-time.xml": rep(ACTIVITY, "2026-11-23T10:00:00Z", "yesterday"),
    "schema__text-in-a-complex-element.xml": rep(PERSON, "  <nc:PersonName>", "  loose text\n  <nc:PersonName>"),
    "schema__duplicate-structures-id.xml": rep(
        ORGANIZATION, "<nc:OrganizationName>", '<nc:OrganizationName structures:id="O1">'
    ),
    "structures-ref__dangling-reference.xml": rep(
        PERSON, "  <nc:PersonName>", '  <nc:PersonCitizenship structures:ref="NOWHERE"/>\n  <nc:PersonName>'
    ),
    "structures-ref__reference-to-a-ref.xml": rep(
        PERSON, "  <nc:PersonName>", '  <nc:PersonCitizenship structures:ref="P1"/>\n  <nc:PersonCitizenship structures:ref="C2"/>\n  <nc:PersonName>'
    ),
    "schema__unknown-attribute.xml": rep(PERSON, ' structures:id="P1"', ' structures:id="P1" color="red"'),
    "schema__element-without-namespace.xml": rep(PERSON, "<nc:PersonGivenName>Jane</nc:PersonGivenName>", "<PersonGivenName>Jane</PersonGivenName>"),
    "schema__id-not-an-ncname.xml": rep(PERSON, 'structures:id="P1"', 'structures:id="1 P"'),
    "niem-namespace__domain-root.xml": f'{HEAD}<m:Vessel xmlns:m="https://docs.oasis-open.org/niemopen/ns/model/domains/maritime/6.0/"/>\n',
    "niem-namespace__not-niem.xml": f'{HEAD}<person><name>Jane</name></person>\n',
    "niem-version__niem-5-core.xml": PERSON.replace(NC, "http://release.niem.gov/niem/niem-core/5.0/").replace(
        STRUCTURES, "https://docs.oasis-open.org/niemopen/ns/model/structures/6.0/"
    ),
    "xml__unclosed-element.xml": rep(PERSON, "</nc:PersonSurName>", ""),
    "xml__undeclared-prefix.xml": rep(PERSON, "<nc:PersonGivenName>Jane", "<x:PersonGivenName>Jane"),
    "xml-dtd__internal-entity.xml": rep(PERSON, "<nc:Person ", '<!DOCTYPE nc:Person [<!ENTITY j "Jane">]>\n<nc:Person ').replace(">Jane<", ">&j;<"),
    "xml-dtd__external-dtd.xml": rep(PERSON, "<nc:Person ", '<!DOCTYPE nc:Person SYSTEM "http://127.0.0.1:9/niem.dtd">\n<nc:Person '),
    "encoding__unknown-encoding.xml": rep(PERSON, 'encoding="UTF-8"', 'encoding="X-NOPE"'),
    "json__truncated.jsonld": jsonld(JPERSON)[:-12],
    "json-ld-shape__array-at-top.jsonld": json.dumps([JPERSON]) + "\n",
    "context__missing.jsonld": json.dumps(JPERSON) + "\n",
    "context__nc-bound-to-niem-5.jsonld": jsonld(JPERSON, {"nc": "http://release.niem.gov/niem/niem-core/5.0/"}),
    "context__entry-a-number.jsonld": jsonld(JPERSON, [{"nc": NC}, 42]),
    "unknown-prefix__j-not-bound.jsonld": jsonld({"j:Arrest": {"nc:ActivityName": "x"}}),
    "unknown-property__nickname.jsonld": jsonld({"nc:Person": {"nc:PersonNickName": "Jo"}}),
    "unknown-property__deep-in-a-graph.jsonld": jsonld({"@graph": [JPERSON, {"nc:Organization": {"nc:OrganisationName": "Acme"}}]}),
    "unknown-type__misspelt-type.jsonld": jsonld({"nc:Person": {"@type": "nc:PersonnType", "nc:PersonName": {"nc:PersonGivenName": "J"}}}),
}

BYTES = {
    ("valid", "latin-1-encoding.xml"): rep(PERSON, 'encoding="UTF-8"', 'encoding="ISO-8859-1"').replace("Jane", "Jos\u00e9").encode("latin-1"),
    ("invalid", "encoding__invalid-utf-8.xml"): PERSON.replace("Jane", "Ja\udcffne").encode("utf-8", "surrogateescape"),
}


def xmllint_valid(data):
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        f.write(data)
        f.flush()
        done = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", XSD, f.name],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return done.returncode == 0


def main():
    for kind in ("valid", "invalid"):
        shutil.rmtree(os.path.join(OUT, kind), ignore_errors=True)
        os.makedirs(os.path.join(OUT, kind))
    docs = [("valid", k, v) for k, v in VALID.items() if v is not None]
    docs += [("invalid", k, v) for k, v in INVALID.items()]
    docs = [(kind, name, text.encode()) for kind, name, text in docs]
    docs += [(kind, name, data) for (kind, name), data in BYTES.items()]
    for kind, name, data in docs:
        if name.endswith(".xml") and (kind == "valid" or name.startswith("schema__")):
            verdict = xmllint_valid(data)
            assert verdict == (kind == "valid"), f"xmllint disagrees on {kind}/{name}"
        with open(os.path.join(OUT, kind, name), "wb") as f:
            f.write(data)
    print(f"{sum(k == 'valid' for k, _, _ in docs)} valid, {sum(k == 'invalid' for k, _, _ in docs)} invalid")


if __name__ == "__main__":
    main()
