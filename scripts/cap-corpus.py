#!/usr/bin/env python3
"""Writes Airlock's CAP 1.2 validation corpus: tests/fixtures/cap/{valid,invalid}/.

Test tooling, not part of the product: the corpus is committed; run this again only to
change it. Each invalid file is named `<rule>__<what>.xml`, where <rule> is the rule of
Airlock's validator (host/src/validate/cap.rs) the document breaks; the test
`tests/tests/validate_cap.rs` checks that the validator reports that rule among its
errors, and that every valid file has no errors. Documents are mutations of one rich
valid alert, one mutation per file, covering every rule. `scripts/cap-agreement.py`
compares the schema verdicts with xmllint's.
"""

import os
import shutil

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "cap")

BASE = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>AIRLOCK-2026-0001</identifier>
  <sender>alerts@civil-protection.example</sender>
  <sent>2026-11-23T10:00:00-00:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <source>Flood desk</source>
  <scope>Public</scope>
  <code>IPAWSv1.0</code>
  <note>Written for Airlock's validation corpus.</note>
  <incidents>flood-2026-11</incidents>
  <info>
    <language>en-GB</language>
    <category>Met</category>
    <category>Safety</category>
    <event>River flood</event>
    <responseType>Evacuate</responseType>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <audience>Residents of the valley</audience>
    <eventCode><valueName>SAME</valueName><value>FLW</value></eventCode>
    <effective>2026-11-23T10:00:00-00:00</effective>
    <onset>2026-11-23T12:00:00-00:00</onset>
    <expires>2026-11-24T10:00:00-00:00</expires>
    <senderName>Civil Protection</senderName>
    <headline>River Aire expected to overtop its banks</headline>
    <description>Levels are rising 20 cm an hour &amp; more rain is due.</description>
    <instruction>Move people and pets to higher ground.</instruction>
    <web>https://alerts.example/flood/0001</web>
    <contact>+44 113 000 0000</contact>
    <parameter><valueName>WMOHEADER</valueName><value>WWUK01</value></parameter>
    <resource>
      <resourceDesc>Flood map</resourceDesc>
      <mimeType>image/png</mimeType>
      <size>1024</size>
      <uri>https://alerts.example/flood/0001.png</uri>
      <digest>da39a3ee5e6b4b0d3255bfef95601890afd80709</digest>
    </resource>
    <area>
      <areaDesc>Lower Aire valley</areaDesc>
      <polygon>53.8,-1.6 53.9,-1.5 53.8,-1.4 53.8,-1.6</polygon>
      <circle>53.8,-1.55 5.0</circle>
      <geocode><valueName>UGC</valueName><value>UKZ001</value></geocode>
      <altitude>0</altitude>
      <ceiling>500</ceiling>
    </area>
  </info>
</alert>
"""


def rep(doc, old, new, count=1):
    """Replaces `old` (which must occur) by `new`."""
    assert old in doc, f"mutation target missing: {old!r}"
    return doc.replace(old, new, count)


def drop(doc, element):
    """Removes the first `<element>…</element>` line."""
    start = doc.index(f"<{element}>")
    end = doc.index(f"</{element}>", start) + len(f"</{element}>")
    line_start = doc.rindex("\n", 0, start) + 1
    return doc[:line_start] + doc[end + 1 :]


SIGNATURE = (
    '  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/>'
    "<SignatureValue>AAAA</SignatureValue></Signature>\n</alert>"
)

VALID = {
    "rich-alert": BASE,
    "minimal-alert": """<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>M-1</identifier><sender>s@example</sender><sent>2026-01-01T00:00:00+00:00</sent><status>Test</status><msgType>Alert</msgType><scope>Public</scope></alert>""",
    "update-with-references": rep(
        rep(BASE, "<msgType>Alert</msgType>", "<msgType>Update</msgType>"),
        "<incidents>",
        "<references>alerts@civil-protection.example,AIRLOCK-2026-0000,2026-11-23T09:00:00-00:00 "
        "alerts@civil-protection.example,AIRLOCK-2026-000X,2026-11-23T09:30:00+01:00</references>\n  <incidents>",
    ),
    "cancel-with-reference": rep(
        rep(BASE, "<msgType>Alert</msgType>", "<msgType>Cancel</msgType>"),
        "<incidents>",
        "<references>alerts@civil-protection.example,AIRLOCK-2026-0000,2026-11-23T09:00:00-00:00</references>\n  <incidents>",
    ),
    "restricted-with-restriction": rep(
        BASE, "<scope>Public</scope>", "<scope>Restricted</scope>\n  <restriction>Emergency services only</restriction>"
    ),
    "private-with-quoted-addresses": rep(
        BASE, "<scope>Public</scope>", '<scope>Private</scope>\n  <addresses>ops@example "Duty Officer" fire@example</addresses>'
    ),
    "several-infos-and-areas": rep(
        BASE,
        "  </info>\n</alert>",
        "  </info>\n  <info><language>fr-FR</language><category>Met</category><event>Crue</event>"
        "<urgency>Expected</urgency><severity>Moderate</severity><certainty>Possible</certainty>"
        "<area><areaDesc>Aval</areaDesc><circle>53.7,-1.5 0</circle></area>"
        "<area><areaDesc>Amont</areaDesc><geocode><valueName>UGC</valueName><value>UKZ002</value></geocode></area></info>\n</alert>",
    ),
    "xmldsig-signature": rep(BASE, "</alert>", SIGNATURE.split("\n</alert>")[0] + "\n</alert>"),
    "prefixed-namespace": BASE.replace("<", "<cap:").replace("<cap:/", "</cap:").replace("<cap:?xml", "<?xml").replace(
        'cap:alert xmlns=', "cap:alert xmlns:cap="
    ),
    "comments-and-cdata": rep(
        rep(BASE, "<description>", "<!-- a comment --><description>"),
        "Levels are rising 20 cm an hour &amp; more rain is due.",
        "<![CDATA[Levels are rising 20 cm an hour & more <rain> is due.]]>",
    ),
    "offsets-at-the-extremes": rep(
        rep(BASE, "2026-11-23T10:00:00-00:00</sent>", "2026-11-23T23:59:59+14:00</sent>"),
        "<expires>2026-11-24T10:00:00-00:00</expires>",
        "<expires>2026-11-24T10:00:00-12:00</expires>",
    ),
    "polygon-on-the-antimeridian": rep(
        BASE,
        "<polygon>53.8,-1.6 53.9,-1.5 53.8,-1.4 53.8,-1.6</polygon>",
        "<polygon>-16.5,179.5 -16.0,180 -17.0,-180 -17.5,-179.5 -16.5,179.5</polygon>\n      <polygon>90,0 89,10 89,-10 90,0</polygon>",
    ),
    "resource-inline-base64": rep(
        BASE,
        "<digest>",
        "<derefUri>iVBORw0K\n        GgoAAAA=</derefUri>\n      <digest>",
    ),
    "decimal-altitudes": rep(rep(BASE, "<altitude>0</altitude>", "<altitude>-12.5</altitude>"), "<ceiling>500</ceiling>", "<ceiling>+1200.75</ceiling>"),
    "all-response-types": rep(
        BASE,
        "<responseType>Evacuate</responseType>",
        "".join(f"<responseType>{t}</responseType>" for t in
                ["Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"]),
    ),
}

VALID_BYTES = {
    "latin-1-encoding": rep(BASE, 'encoding="UTF-8"', 'encoding="ISO-8859-1"')
    .replace("Civil Protection</senderName>", "Protection civile d\u00e9partementale</senderName>")
    .encode("latin-1"),
    "utf-16-with-bom": b"\xff\xfe" + rep(BASE, 'encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-le"),
    "utf-8-with-bom": b"\xef\xbb\xbf" + BASE.encode(),
}

INVALID = {
    # The XSD (rule `schema`).
    "schema__missing-identifier": drop(BASE, "identifier"),
    "schema__missing-sender": drop(BASE, "sender"),
    "schema__missing-sent": drop(BASE, "sent"),
    "schema__missing-scope": drop(BASE, "scope"),
    "schema__status-not-in-the-list": rep(BASE, "<status>Actual</status>", "<status>Real</status>"),
    "schema__msgtype-not-in-the-list": rep(BASE, "<msgType>Alert</msgType>", "<msgType>Warning</msgType>"),
    "schema__scope-not-in-the-list": rep(BASE, "<scope>Public</scope>", "<scope>Everyone</scope>"),
    "schema__elements-out-of-order": rep(
        BASE, "<status>Actual</status>\n  <msgType>Alert</msgType>", "<msgType>Alert</msgType>\n  <status>Actual</status>"
    ),
    "schema__unknown-element": rep(BASE, "<note>", "<priority>high</priority>\n  <note>"),
    "schema__sent-in-utc-with-z": rep(BASE, "2026-11-23T10:00:00-00:00</sent>", "2026-11-23T10:00:00Z</sent>"),
    "schema__sent-with-fractional-seconds": rep(BASE, "2026-11-23T10:00:00-00:00</sent>", "2026-11-23T10:00:00.5-00:00</sent>"),
    "schema__sent-without-offset": rep(BASE, "2026-11-23T10:00:00-00:00</sent>", "2026-11-23T10:00:00</sent>"),
    "schema__sent-on-february-30": rep(BASE, "2026-11-23T10:00:00-00:00</sent>", "2026-02-30T10:00:00-00:00</sent>"),
    "schema__expires-at-hour-25": rep(BASE, "<expires>2026-11-24T10:00:00-00:00", "<expires>2026-11-24T25:00:00-00:00"),
    "schema__info-without-category": rep(rep(BASE, "    <category>Met</category>\n", ""), "    <category>Safety</category>\n", ""),
    "schema__category-not-in-the-list": rep(BASE, "<category>Met</category>", "<category>Weather</category>"),
    "schema__info-without-event": drop(BASE, "event"),
    "schema__urgency-not-in-the-list": rep(BASE, "<urgency>Immediate</urgency>", "<urgency>Now</urgency>"),
    "schema__severity-not-in-the-list": rep(BASE, "<severity>Severe</severity>", "<severity>High</severity>"),
    "schema__certainty-not-in-the-list": rep(BASE, "<certainty>Likely</certainty>", "<certainty>Certain</certainty>"),
    "schema__response-type-not-in-the-list": rep(BASE, "<responseType>Evacuate</responseType>", "<responseType>Flee</responseType>"),
    "schema__event-code-without-value": rep(BASE, "<value>FLW</value>", ""),
    "schema__parameter-with-extra-element": rep(BASE, "<value>WWUK01</value>", "<value>WWUK01</value><value>again</value>"),
    "schema__resource-without-mime-type": drop(BASE, "mimeType"),
    "schema__size-not-an-integer": rep(BASE, "<size>1024</size>", "<size>1 KiB</size>"),
    "schema__area-without-description": drop(BASE, "areaDesc"),
    "schema__altitude-not-a-decimal": rep(BASE, "<altitude>0</altitude>", "<altitude>1e3</altitude>"),
    "schema__language-not-a-language-tag": rep(BASE, "<language>en-GB</language>", "<language>English (UK)</language>"),
    "schema__second-identifier": rep(BASE, "<sender>", "<identifier>AIRLOCK-2026-0002</identifier>\n  <sender>"),
    "schema__text-directly-in-alert": rep(BASE, "<status>", "loose text\n  <status>"),
    "schema__element-from-another-namespace": rep(BASE, "<note>", '<x:note xmlns:x="urn:example:other">hi</x:note>\n  <note>'),
    "schema__info-before-incidents": rep(
        rep(BASE, "  <incidents>flood-2026-11</incidents>\n", ""), "  </info>\n</alert>", "  </info>\n  <incidents>flood-2026-11</incidents>\n</alert>"
    ),
    "schema__root-not-alert": rep(rep(BASE, "<alert ", "<warning "), "</alert>", "</warning>"),
    "schema__alert-without-namespace": rep(BASE, ' xmlns="urn:oasis:names:tc:emergency:cap:1.2"', ""),
    "schema__element-after-signature": rep(
        BASE, "</alert>", SIGNATURE.split("\n</alert>")[0] + '\n  <note>late</note>\n</alert>'
    ),
    # Parsing.
    "xml__unclosed-element": rep(BASE, "</headline>", ""),
    "xml__mismatched-tags": rep(BASE, "</note>", "</notes>"),
    "xml__undefined-entity": rep(BASE, "&amp;", "&nbsp;"),
    "xml__two-roots": BASE + "<alert/>\n",
    "xml__empty-document": "",
    "xml__text-not-xml": "identifier=AIRLOCK-2026-0001; status=Actual\n",
    "xml-dtd__internal-entity": rep(BASE, "<alert ", '<!DOCTYPE alert [<!ENTITY who "Civil Protection">]>\n<alert ').replace(
        "Civil Protection</senderName>", "&who;</senderName>"
    ),
    "xml-dtd__external-dtd": rep(BASE, "<alert ", '<!DOCTYPE alert SYSTEM "http://127.0.0.1:9/cap.dtd">\n<alert '),
    "xml-dtd__file-entity": rep(BASE, "<alert ", '<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<alert ').replace(
        "<note>Written for Airlock's validation corpus.</note>", "<note>&xxe;</note>"
    ),
    "xml-dtd__billion-laughs": rep(
        BASE,
        "<alert ",
        '<!DOCTYPE alert [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>\n<alert ',
    ).replace("<note>Written for Airlock's validation corpus.</note>", "<note>&d;</note>"),
    "cap-version__cap-1.1-namespace": BASE.replace("cap:1.2", "cap:1.1"),
    "cap-version__cap-1.0-namespace": BASE.replace("urn:oasis:names:tc:emergency:cap:1.2", "http://www.incident.com/cap/1.0"),
    # Semantics.
    "identifier-characters__identifier-with-a-space": rep(BASE, "AIRLOCK-2026-0001", "AIRLOCK 2026 0001"),
    "identifier-characters__identifier-with-a-comma": rep(BASE, "AIRLOCK-2026-0001", "AIRLOCK,2026"),
    "identifier-characters__sender-with-an-ampersand": rep(BASE, "alerts@civil-protection.example</sender>", "alerts&amp;co@example</sender>"),
    "identifier-characters__empty-identifier": rep(BASE, "<identifier>AIRLOCK-2026-0001</identifier>", "<identifier></identifier>"),
    "identifier-characters__reference-with-empty-sender": rep(
        rep(BASE, "<msgType>Alert</msgType>", "<msgType>Update</msgType>"),
        "<incidents>",
        "<references>,AIRLOCK-2026-0000,2026-11-23T09:00:00-00:00</references>\n  <incidents>",
    ),
    "references-required__update-without-references": rep(BASE, "<msgType>Alert</msgType>", "<msgType>Update</msgType>"),
    "references-required__cancel-without-references": rep(BASE, "<msgType>Alert</msgType>", "<msgType>Cancel</msgType>"),
    "references-required__ack-with-empty-references": rep(
        rep(BASE, "<msgType>Alert</msgType>", "<msgType>Ack</msgType>"), "<incidents>", "<references/>\n  <incidents>"
    ),
    "references-required__error-without-references": rep(BASE, "<msgType>Alert</msgType>", "<msgType>Error</msgType>"),
    "references-format__two-parts": rep(
        rep(BASE, "<msgType>Alert</msgType>", "<msgType>Update</msgType>"),
        "<incidents>",
        "<references>alerts@civil-protection.example,AIRLOCK-2026-0000</references>\n  <incidents>",
    ),
    "references-format__sent-in-utc-with-z": rep(
        rep(BASE, "<msgType>Alert</msgType>", "<msgType>Update</msgType>"),
        "<incidents>",
        "<references>alerts@civil-protection.example,AIRLOCK-2026-0000,2026-11-23T09:00:00Z</references>\n  <incidents>",
    ),
    "references-format__sent-not-a-date": rep(
        rep(BASE, "<msgType>Alert</msgType>", "<msgType>Cancel</msgType>"),
        "<incidents>",
        "<references>alerts@civil-protection.example,AIRLOCK-2026-0000,yesterday</references>\n  <incidents>",
    ),
    "references-format__empty-on-an-alert": rep(BASE, "<incidents>", "<references></references>\n  <incidents>"),
    "restriction-required__restricted-without-restriction": rep(BASE, "<scope>Public</scope>", "<scope>Restricted</scope>"),
    "restriction-required__restricted-with-empty-restriction": rep(
        BASE, "<scope>Public</scope>", "<scope>Restricted</scope>\n  <restriction> </restriction>"
    ),
    "addresses-required__private-without-addresses": rep(BASE, "<scope>Public</scope>", "<scope>Private</scope>"),
    "addresses-required__private-with-empty-addresses": rep(
        BASE, "<scope>Public</scope>", "<scope>Private</scope>\n  <addresses/>"
    ),
    "list-quotes__addresses-quote-not-closed": rep(
        BASE, "<scope>Public</scope>", '<scope>Private</scope>\n  <addresses>ops@example "Duty Officer</addresses>'
    ),
    "list-quotes__incidents-quote-not-closed": rep(BASE, "<incidents>flood-2026-11</incidents>", '<incidents>"flood 2026</incidents>'),
    "polygon-format__letters-in-a-point": rep(BASE, "53.9,-1.5 53.8,-1.4", "53.9,-1.5 north,-1.4"),
    "polygon-format__point-without-comma": rep(BASE, "53.9,-1.5 53.8,-1.4", "53.9;-1.5 53.8,-1.4"),
    "polygon-format__infinite-latitude": rep(BASE, "53.9,-1.5 53.8,-1.4", "inf,-1.5 53.8,-1.4"),
    "polygon-points__closed-line": rep(BASE, "53.8,-1.6 53.9,-1.5 53.8,-1.4 53.8,-1.6", "53.8,-1.6 53.9,-1.5 53.8,-1.6"),
    "polygon-points__empty": rep(BASE, "<polygon>53.8,-1.6 53.9,-1.5 53.8,-1.4 53.8,-1.6</polygon>", "<polygon/>"),
    "polygon-closed__last-point-differs": rep(BASE, "53.8,-1.4 53.8,-1.6</polygon>", "53.8,-1.4 53.7,-1.6</polygon>"),
    "coordinate-range__latitude-above-90": rep(BASE, "53.8,-1.6 53.9,-1.5 53.8,-1.4 53.8,-1.6", "53.8,-1.6 93.9,-1.5 53.8,-1.4 53.8,-1.6"),
    "coordinate-range__longitude-swapped": rep(BASE, "<circle>53.8,-1.55 5.0</circle>", "<circle>-1.55,253.8 5.0</circle>"),
    "circle-format__without-radius": rep(BASE, "<circle>53.8,-1.55 5.0</circle>", "<circle>53.8,-1.55</circle>"),
    "circle-format__negative-radius": rep(BASE, "<circle>53.8,-1.55 5.0</circle>", "<circle>53.8,-1.55 -5</circle>"),
    "circle-format__radius-with-unit": rep(BASE, "<circle>53.8,-1.55 5.0</circle>", "<circle>53.8,-1.55 5 km</circle>"),
    "ceiling-without-altitude__ceiling-alone": rep(BASE, "      <altitude>0</altitude>\n", ""),
    "ceiling-below-altitude__ceiling-under-altitude": rep(BASE, "<ceiling>500</ceiling>", "<ceiling>-50</ceiling>"),
    "web-absolute__relative-path": rep(BASE, "<web>https://alerts.example/flood/0001</web>", "<web>/flood/0001</web>"),
    "web-absolute__host-without-scheme": rep(BASE, "<web>https://alerts.example/flood/0001</web>", "<web>alerts.example/flood</web>"),
    "digest-format__md5-length": rep(BASE, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "d41d8cd98f00b204e9800998ecf8427e"),
    "digest-format__not-hex": rep(BASE, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "zz39a3ee5e6b4b0d3255bfef95601890afd80709"),
    "deref-uri-base64__not-base64": rep(BASE, "<digest>", "<derefUri>this is not base64!</derefUri>\n      <digest>"),
    "resource-size__negative": rep(BASE, "<size>1024</size>", "<size>-1024</size>"),
}

INVALID_BYTES = {
    "encoding__invalid-utf-8": rep(BASE, "River flood", "River \udcff flood").encode("utf-8", "surrogateescape"),
    "encoding__unknown-encoding": rep(BASE, 'encoding="UTF-8"', 'encoding="EBCDIC-KLINGON"').encode(),
    "encoding__utf-16-declared-without-bom": rep(BASE, 'encoding="UTF-8"', 'encoding="UTF-16"').encode(),
}


def main():
    for kind in ("valid", "invalid"):
        shutil.rmtree(os.path.join(OUT, kind), ignore_errors=True)
        os.makedirs(os.path.join(OUT, kind))
    docs = [("valid", k, v.encode()) for k, v in VALID.items()]
    docs += [("valid", k, v) for k, v in VALID_BYTES.items()]
    docs += [("invalid", k, v.encode()) for k, v in INVALID.items()]
    docs += [("invalid", k, v) for k, v in INVALID_BYTES.items()]
    for kind, name, data in docs:
        with open(os.path.join(OUT, kind, name + ".xml"), "wb") as f:
            f.write(data)
    print(f"{sum(k == 'valid' for k, _, _ in docs)} valid, {sum(k == 'invalid' for k, _, _ in docs)} invalid")


if __name__ == "__main__":
    main()
