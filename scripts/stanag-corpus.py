#!/usr/bin/env python3
"""Writes Airlock's STANAG 4607 validation corpus: tests/fixtures/stanag/{valid,invalid}/.

Test tooling, not part of the product: the corpus is committed; run this again only to
change it. Packets are built here field by field (AEDP-07 Edition A layouts) or mutated
from the synthetic packets in ../shared/standards/stanag4607/fixtures (Apache-2.0).
Each invalid file is named `<rule>__<what>.gmti`, where <rule> is the rule of Airlock's
validator (host/src/validate/stanag.rs) it breaks; `tests/tests/validate_stanag.rs`
checks the validator reports that rule, and that every valid file has no errors.
"""

import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "stanag")
SHARED = os.path.join(ROOT, "..", "shared", "standards", "stanag4607", "fixtures")

# Dwell fields D2..D31 (name, size, mandatory) and target fields D32.1..D32.18.
DWELL = [(2, 1), (2, 1), (1, 1), (2, 1), (4, 1), (4, 1), (4, 1), (4, 1), (4, 0), (4, 0), (4, 0), (4, 0),
         (2, 0), (2, 0), (4, 0), (1, 0), (1, 0), (2, 0), (2, 0), (2, 0), (2, 0), (2, 0), (4, 1), (4, 1),
         (2, 1), (2, 1), (2, 0), (2, 0), (2, 0), (1, 0)]
TARGET = [2, 4, 4, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 1, 2, 1, 4, 1]


def packet(segments, version=b"41", nationality=b"GB", classification=5, exercise=129,
           platform=b"AIRLOCK001", size_delta=0):
    body = b"".join(segments)
    size = 32 + len(body) + size_delta
    header = (version + struct.pack(">I", size) + nationality + bytes([classification]) + b"ZZ"
              + b"\x00\x00" + bytes([exercise]) + platform + struct.pack(">II", 42, 7))
    assert len(header) == 32
    return header + body


def segment(kind, body, size_delta=0):
    return bytes([kind]) + struct.pack(">I", 5 + len(body) + size_delta) + body


def mission(platform_type=7, month=11, day=23):
    return segment(1, b"PLAN-0001   " + b"FLIGHT-0001 " + bytes([platform_type]) + b"CONFIG-A  "
                   + struct.pack(">H", 2026) + bytes([month, day]))


def dwell(dwell_bits, target_bits, targets=2, last=1, probability=80, spare=0, extra=b""):
    """A dwell whose mask sets `dwell_bits` (indexes into DWELL) and `target_bits`
    (indexes into TARGET); fields are filled with plausible values."""
    mask = 0
    for i in dwell_bits:
        mask |= 1 << (63 - i)
    for j in target_bits:
        mask |= 1 << (63 - len(DWELL) - j)
    mask |= spare
    out = struct.pack(">Q", mask)
    for i in sorted(dwell_bits):
        size = DWELL[i][0]
        if i == 2:
            out += bytes([last])
        elif i == 3:
            out += struct.pack(">H", targets)
        else:
            out += (i + 1).to_bytes(size, "big")
    for t in range(targets):
        for j in sorted(target_bits):
            size = TARGET[j]
            out += bytes([probability]) if j == 10 else (t + j + 1).to_bytes(size, "big")
    return segment(2, out + extra)


MANDATORY = [i for i, (_, m) in enumerate(DWELL) if m]
HI_RES = [0, 1, 2, 5, 6, 9, 10]
DELTA = [0, 3, 4, 5]


def platform_location():
    return segment(13, struct.pack(">IIIiHIb", 1000, 123456789, 987654321, 1500, 9000, 250, -3))


def test_status():
    return segment(10, struct.pack(">IHHIBB", 7, 1, 2, 1000, 0, 0))


def free_text(text=b"Contact lost near grid 42."):
    return segment(6, b"ORIGINATOR" + b"RECIPIENT " + text)


def main():
    upstream = {name: open(os.path.join(SHARED, name), "rb").read() for name in sorted(os.listdir(SHARED))
                if name.endswith(".gmti")}
    base = upstream["mission_dwell_hi_res_targets.gmti"]
    valid = {
        "mission-only.gmti": packet([mission()]),
        "dwell-high-resolution-targets.gmti": packet([mission(), dwell(MANDATORY, HI_RES)]),
        "dwell-delta-targets-with-scale-factors.gmti": packet([mission(), dwell(MANDATORY + [8, 9], DELTA, targets=3)]),
        "dwell-without-targets.gmti": packet([dwell(MANDATORY, [], targets=0)]),
        "dwell-every-optional-dwell-field.gmti": packet([dwell(list(range(len(DWELL))), HI_RES + [11, 12, 13, 14, 15, 16, 17])]),
        "platform-location-test-status-free-text.gmti": packet([platform_location(), test_status(), free_text()]),
        "stream-of-three-packets.gmti": packet([mission()]) + base + packet([platform_location()]),
        "exercise-indicators-and-classifications.gmti": packet([mission()], classification=1, exercise=0)
        + packet([mission()], classification=3, exercise=2) + packet([mission()], classification=4, exercise=130),
        "header-only-packet.gmti": packet([]),
    }
    cut = lambda data, n: data[:n]
    invalid = {
        "packet-header__empty.gmti": b"",
        "packet-header__not-a-packet.gmti": b"GIF89a" + bytes(40),
        "packet-header__shorter-than-a-header.gmti": base[:20],
        "packet-header__lower-case-nationality.gmti": packet([mission()], nationality=b"gb"),
        "packet-header__unprintable-platform-id.gmti": packet([mission()], platform=b"AIRLOCK\x00\x01\x02"),
        "packet-size__claims-more-than-present.gmti": cut(base, 200),
        "packet-size__smaller-than-its-header.gmti": packet([], size_delta=-10),
        "packet-size__trailing-partial-packet.gmti": base + base[:40],
        "field-range__classification-9.gmti": packet([mission()], classification=9),
        "field-range__classification-0.gmti": packet([mission()], classification=0),
        "field-range__exercise-indicator-3.gmti": packet([mission()], exercise=3),
        "field-range__mission-month-13.gmti": packet([mission(month=13)]),
        "field-range__mission-day-0.gmti": packet([mission(day=0)]),
        "field-range__last-dwell-flag-2.gmti": packet([dwell(MANDATORY, HI_RES, last=2)]),
        "field-range__class-probability-150.gmti": packet([dwell(MANDATORY, HI_RES, probability=150)]),
        "segment-size__segment-beyond-packet.gmti": packet([mission(), segment(6, b"ORIGINATORRECIPIENT x", size_delta=50)]),
        "segment-size__segment-smaller-than-header.gmti": packet([segment(6, b"", size_delta=-3)]),
        "segment-size__mission-one-byte-short.gmti": packet([segment(1, mission()[5:-1])]),
        "segment-size__platform-location-padded.gmti": packet([segment(13, platform_location()[5:] + b"\x00")]),
        "segment-size__dwell-with-an-extra-byte.gmti": packet([dwell(MANDATORY, HI_RES, extra=b"\x00")]),
        "segment-size__dwell-missing-a-target.gmti": packet([segment(2, dwell(MANDATORY, HI_RES, targets=2)[5:-16])]),
        "segment-size__free-text-without-ids.gmti": packet([segment(6, b"hello")]),
        "dwell-mask__missing-target-count.gmti": packet([dwell([i for i in MANDATORY if i != 3], HI_RES, targets=0)]),
        "dwell-mask__missing-dwell-centre.gmti": packet([dwell([i for i in MANDATORY if i != 22], [], targets=0)]),
        "dwell-mask__latitude-without-longitude.gmti": packet([dwell(MANDATORY, [0, 1, 5])]),
        "dwell-mask__both-position-kinds.gmti": packet([dwell(MANDATORY + [8, 9], [0, 1, 2, 3, 4])]),
        "dwell-mask__delta-without-scale-factors.gmti": packet([dwell(MANDATORY, DELTA)]),
        "dwell-mask__one-scale-factor.gmti": packet([dwell(MANDATORY + [8], [0])]),
        "dwell-mask__spare-bit-set.gmti": packet([dwell(MANDATORY, HI_RES, spare=1)]),
        "segment-type__type-zero.gmti": packet([segment(0, b"abc")]),
    }
    # A packet whose last segment header is cut: the packet size covers 3 bytes of it.
    p = packet([mission()])
    p = p[:2] + struct.pack(">I", len(p) + 3) + p[6:] + b"\x06\x00\x00"
    invalid["segment-size__half-a-segment-header.gmti"] = p
    for kind in ("valid", "invalid"):
        shutil.rmtree(os.path.join(OUT, kind), ignore_errors=True)
        os.makedirs(os.path.join(OUT, kind))
    for kind, docs in (("valid", valid), ("invalid", invalid)):
        for name, data in docs.items():
            with open(os.path.join(OUT, kind, name), "wb") as f:
                f.write(data)
    print(f"{len(valid)} valid, {len(invalid)} invalid")


if __name__ == "__main__":
    main()
