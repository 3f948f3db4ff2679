#!/usr/bin/env python3
"""Writes Airlock's AIS validation corpus: tests/fixtures/ais/{valid,invalid}/.

Test tooling, not part of the product: the corpus is committed; run this again only to
change it. Documents are NMEA sentences (`.nmea`) or JSON reports in the decoder's format
(`.json`). Each invalid file is named `<rule>__<what>.<ext>`, where <rule> is the rule of
Airlock's validator (host/src/validate/ais.rs) it breaks; `tests/tests/validate_ais.rs`
checks the validator reports that rule, and that every valid file has no errors.

Valid sentences come from gpsd's sample (../shared/standards/ais, BSD-2-Clause): one
file per message type, the first message of that type. Invalid ones are mutations: the
payload is de-armoured, a field's bits are rewritten, the payload re-armoured and the
checksum recomputed, so each file breaks exactly the rule its name gives.
"""

import json
import os
import shutil

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "ais")
PAIRED = os.path.join(ROOT, "..", "shared", "standards", "ais", "gpsd", "sample.aivdm.paired.jsonl")


def checksum(body):
    x = 0
    for c in body:
        x ^= ord(c)
    return f"{x:02X}"


def sentence(fields):
    """`!` + the comma-joined fields + `*hh`."""
    body = ",".join(fields)
    return f"!{body}*{checksum(body)}"


def split(line):
    body, _ = line[1:].split("*", 1)
    return body.split(",")


def to_bits(payload, fill):
    bits = ""
    for c in payload:
        v = ord(c) - 48
        if v > 40:
            v -= 8
        bits += f"{v:06b}"
    return bits[: len(bits) - fill] if fill else bits


def to_payload(bits):
    fill = (-len(bits)) % 6
    bits += "0" * fill
    out = ""
    for i in range(0, len(bits), 6):
        v = int(bits[i : i + 6], 2)
        out += chr(v + 48 if v < 40 else v + 56)
    return out, fill


def set_field(line, start, length, value):
    """The one-sentence `line` with bits [start, start+length) set to `value`."""
    f = split(line)
    bits = to_bits(f[5], int(f[6]))
    if value < 0:
        value += 1 << length
    bits = bits[:start] + f"{value:0{length}b}" + bits[start + length :]
    f[5], fill = to_payload(bits)
    f[6] = str(fill)
    return sentence(f)


def truncate(line, nbits):
    f = split(line)
    bits = to_bits(f[5], int(f[6]))[:nbits]
    f[5], fill = to_payload(bits)
    f[6] = str(fill)
    return sentence(f)


def load_gpsd():
    by_type = {}
    for raw in open(PAIRED):
        d = json.loads(raw)
        if d["gpsd"] is None:
            continue
        t = d["gpsd"]["type"]
        by_type.setdefault(t, []).append(d["sentences"])
    return by_type


# Messages gpsd keeps as corner cases (values off the globe, a year of 10196).
KNOWN_BAD = {"!AIVDM,1,1,,B,4>O7m7Iu@<9qUfbtm`vSnwvH20S8,0*46"}

TAG = "s:r003669945,c:1241544035"
POSITION = "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"  # type 1, MMSI 371798000


def report(**fields):
    return json.dumps(fields, indent=1) + "\n"


POSITION_JSON = dict(
    type=1, repeat=0, mmsi=371798000, status=0, turn="fastleft", speed=12.3, accuracy=True,
    lon=-123.39538333333333, lat=48.38163333333333, course=224.0, heading=215, second=33,
    maneuver=0, raim=False, radio=34017,
)
STATIC_JSON = dict(
    type=5, repeat=0, mmsi=351759000, ais_version=0, imo=9134270, callsign="3FOF8",
    shipname="EVER DIADEM", shiptype=70, to_bow=225, to_stern=70, to_port=1, to_starboard=31,
    epfd=1, eta="05-15T14:00Z", draught=12.2, destination="NEW YORK", dte=0,
)


def with_(base, **changes):
    d = dict(base)
    for k, v in changes.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return d


def main():
    by_type = load_gpsd()
    valid, invalid = {}, {}
    for t in sorted(by_type):
        for sentences in by_type[t]:
            if not KNOWN_BAD & set(sentences):
                valid[f"gpsd-type-{t:02d}.nmea"] = "\n".join(sentences) + "\n"
                break
    assert POSITION in by_type[1][0], by_type[1][0]
    valid["tag-block-and-trailing-fields.nmea"] = (
        f"\\{TAG}*{checksum(TAG)}\\" + POSITION + "\n"
        + POSITION + ",s22,d-093,T21.453,x1,123456789\n"
    )
    own = split(POSITION)
    own[0] = "AIVDO"
    valid["own-ship-vdo.nmea"] = sentence(own) + "\n"
    valid["comments-and-blank-lines.nmea"] = "# a receiver log\n\n" + POSITION + "\n\n"
    valid["position-report.json"] = report(**POSITION_JSON)
    valid["static-and-voyage.json"] = report(**STATIC_JSON)
    valid["not-available-sentinels.json"] = report(
        **with_(POSITION_JSON, lat=91.0, lon=181.0, speed=102.3, course=360.0, heading=511, turn="n/a", second=60)
    )
    valid["array-of-reports.json"] = json.dumps([POSITION_JSON, STATIC_JSON]) + "\n"
    valid["class-b-and-aid.json"] = json.dumps([
        dict(type=18, repeat=0, mmsi=338087471, reserved=0, speed=0.1, accuracy=False, lon=-74.07211, lat=40.68454,
             course=79.6, heading=511, second=49, regional=0, cs=True, display=False, dsc=True, band=True,
             msg22=True, assigned=False, raim=True, radio=917510),
        dict(type=21, repeat=0, mmsi=993692028, aid_type=1, name="SF OAK BAY BR VAIS E", accuracy=False,
             lon=-122.3, lat=37.8, to_bow=0, to_stern=0, to_port=0, to_starboard=0, epfd=7, second=20,
             off_position=False, regional=0, raim=False, virtual_aid=False, assigned=False),
        dict(type=27, repeat=0, mmsi=206914217, accuracy=False, raim=False, status=5, lon=137.0233, lat=4.84,
             speed=57, course=167, gnss=False),
        dict(type=9, repeat=0, mmsi=111232511, alt=303, speed=42, accuracy=False, lon=-6.2788, lat=58.1441,
             course=154.5, second=15, regional=0, dte=1, raim=False, radio=33392),
    ]) + "\n"
    valid["gpsd-envelope-fields.json"] = report(**POSITION_JSON, **{"class": "AIS", "device": "stdin", "scaled": True})

    # Sentences.
    fields = split(POSITION)
    base_station = by_type[4][0][0]
    invalid["checksum__wrong.nmea"] = POSITION.replace("*4A", "*4B")
    invalid["checksum__missing.nmea"] = POSITION.split("*")[0]
    invalid["checksum__not-hex.nmea"] = POSITION.replace("*4A", "*ZZ")
    invalid["talker__unknown-talker.nmea"] = sentence(["XXVDM"] + fields[1:])
    invalid["not-ais__gps-fix.nmea"] = "$" + "GPGGA,092750.000,5321.6802,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,"
    invalid["not-ais__gps-fix.nmea"] += "*" + checksum(invalid["not-ais__gps-fix.nmea"][1:])
    invalid["nmea-syntax__no-leading-bang.nmea"] = POSITION[1:]
    invalid["nmea-syntax__six-fields.nmea"] = sentence(fields[:5] + fields[6:])
    invalid["nmea-syntax__fragment-count-not-a-digit.nmea"] = sentence([fields[0], "x"] + fields[2:])
    invalid["nmea-syntax__not-text.nmea"] = b"!AIVDM,1,1,,A,\xff\xfe,0*00"
    invalid["fill-bits__seven.nmea"] = sentence(fields[:6] + ["7"])
    invalid["armor__lower-case-x.nmea"] = sentence(fields[:5] + [fields[5][:3] + "x" + fields[5][4:]] + fields[6:])
    invalid["payload-length__empty.nmea"] = sentence(fields[:5] + ["", "0"])
    five = by_type[5][0]
    assert len(five) == 2, five
    invalid["fragment__second-missing.nmea"] = five[0]
    invalid["fragment__first-missing.nmea"] = five[1]
    f3 = split(five[0])
    f3[2] = "3"
    invalid["fragment__number-beyond-count.nmea"] = sentence(f3)
    invalid["fragment__out-of-order.nmea"] = five[1] + "\n" + five[0]
    invalid["message-length__position-cut-short.nmea"] = truncate(POSITION, 100)
    invalid["message-type__type-0.nmea"] = set_field(POSITION, 0, 6, 0)
    invalid["message-type__type-30.nmea"] = set_field(POSITION, 0, 6, 30)
    part_a = by_type[24][0][0]
    invalid["message-structure__type-24-part-2.nmea"] = set_field(part_a, 38, 2, 2)
    invalid["field-range__mmsi-ten-digits.nmea"] = set_field(POSITION, 8, 30, 1_073_741_823)
    invalid["field-range__latitude-95.nmea"] = set_field(POSITION, 89, 27, 95 * 600000)
    invalid["field-range__longitude-200.nmea"] = set_field(POSITION, 61, 28, -200 * 600000)
    invalid["field-range__heading-400.nmea"] = set_field(POSITION, 128, 9, 400)
    invalid["field-range__course-370.nmea"] = set_field(POSITION, 116, 12, 3700)
    invalid["field-range__maneuver-3.nmea"] = set_field(POSITION, 143, 2, 3)
    invalid["field-range__month-13.nmea"] = set_field(base_station, 52, 4, 13)
    invalid["field-range__hour-25.nmea"] = set_field(base_station, 61, 5, 25)
    invalid["field-range__one-bad-line-among-good.nmea"] = POSITION + "\n" + set_field(POSITION, 128, 9, 400) + "\n" + POSITION
    invalid["nmea-syntax__empty-document.nmea"] = "\n# nothing but a comment\n"

    # Reports.
    invalid["json__truncated.json"] = report(**POSITION_JSON)[:-10]
    invalid["report-shape__number.json"] = "42\n"
    invalid["report-shape__array-of-strings.json"] = '["!AIVDM"]\n'
    invalid["report-shape__empty-array.json"] = "[]\n"
    invalid["required-field__no-mmsi.json"] = report(**with_(POSITION_JSON, mmsi=None))
    invalid["required-field__position-without-lat.json"] = report(**with_(POSITION_JSON, lat=None))
    invalid["required-field__no-type.json"] = report(**with_(STATIC_JSON, type=None))
    invalid["field-type__lat-as-text.json"] = report(**with_(POSITION_JSON, lat="48.38"))
    invalid["field-type__accuracy-as-number.json"] = report(**with_(POSITION_JSON, accuracy=1))
    invalid["field-type__mmsi-as-text.json"] = report(**with_(POSITION_JSON, mmsi="371798000"))
    invalid["field-range__mmsi-ten-digits.json"] = report(**with_(POSITION_JSON, mmsi=1234567890))
    invalid["field-range__latitude-95.json"] = report(**with_(POSITION_JSON, lat=95.0))
    invalid["field-range__speed-150.json"] = report(**with_(POSITION_JSON, speed=150.0))
    invalid["field-range__heading-400.json"] = report(**with_(POSITION_JSON, heading=400))
    invalid["field-range__turn-999.json"] = report(**with_(POSITION_JSON, turn="999.00"))
    invalid["field-range__status-16.json"] = report(**with_(POSITION_JSON, status=16))
    invalid["field-range__repeat-4.json"] = report(**with_(POSITION_JSON, repeat=4))
    invalid["field-range__eta-month-13.json"] = report(**with_(STATIC_JSON, eta="13-15T14:00Z"))
    invalid["field-range__draught-30.json"] = report(**with_(STATIC_JSON, draught=30.0))
    invalid["field-range__type-27-speed-70.json"] = report(
        type=27, repeat=0, mmsi=206914217, accuracy=False, raim=False, status=5, lon=137.0, lat=4.8, speed=70, course=167, gnss=False
    )
    invalid["field-range__second-in-an-array.json"] = json.dumps([POSITION_JSON, with_(POSITION_JSON, second=64)]) + "\n"
    invalid["message-type__type-0.json"] = report(**with_(POSITION_JSON, type=0))
    invalid["message-type__type-28.json"] = report(**with_(POSITION_JSON, type=28))
    invalid["sixbit-text__lower-case-name.json"] = report(**with_(STATIC_JSON, shipname="Ever Diadem"))
    invalid["sixbit-text__accented-destination.json"] = report(**with_(STATIC_JSON, destination="SÃO PAULO"))

    for kind in ("valid", "invalid"):
        shutil.rmtree(os.path.join(OUT, kind), ignore_errors=True)
        os.makedirs(os.path.join(OUT, kind))
    for kind, docs in (("valid", valid), ("invalid", invalid)):
        for name, text in docs.items():
            data = text if isinstance(text, bytes) else (text if text.endswith("\n") or not text else text + "\n").encode()
            with open(os.path.join(OUT, kind, name), "wb") as f:
                f.write(data)
    print(f"{len(valid)} valid, {len(invalid)} invalid")


if __name__ == "__main__":
    main()
