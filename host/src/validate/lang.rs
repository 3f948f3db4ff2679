//! RFC 5646 language tags (`en`, `de-CH`, `zh-Hant-TW`, `x-klingon`): well-formed
//! by the RFC's ABNF (§2.1), and valid as far as the ISO code lists the IANA
//! registry is built from can tell (§2.2.9): the primary language an ISO 639 code,
//! the script an ISO 15924 code, the region an ISO 3166-1 code or three digits
//! (UN M.49), no variant twice, no extension singleton twice. Variants and
//! extended-language subtags are checked for form only (their registry is not
//! embedded). The code lists are `host/standards/lang/subtags.txt`, written by
//! `scripts/lang-subtags.py` from Debian's iso-codes, plus the regions and
//! deprecated codes the IANA registry holds beyond them (`EU`, `UN`, `YU`, `iw`…).

use std::collections::HashSet;

const SUBTAGS: &str = include_str!("../../standards/lang/subtags.txt");

/// The 26 grandfathered tags (§2.2.8), lowercase.
const GRANDFATHERED: &[&str] = &[
    "en-gb-oed",
    "i-ami",
    "i-bnn",
    "i-default",
    "i-enochian",
    "i-hak",
    "i-klingon",
    "i-lux",
    "i-mingo",
    "i-navajo",
    "i-pwn",
    "i-tao",
    "i-tay",
    "i-tsu",
    "sgn-be-fr",
    "sgn-be-nl",
    "sgn-ch-de",
    "art-lojban",
    "cel-gaulish",
    "no-bok",
    "no-nyn",
    "zh-guoyu",
    "zh-hakka",
    "zh-min",
    "zh-min-nan",
    "zh-xiang",
];

/// Whether `subtag` (lowercase) is a known subtag of `kind` (`l`anguage, `s`cript,
/// `r`egion): a binary search for the line `<kind> <subtag>` in [`SUBTAGS`], whose
/// lines are sorted (the script writes them so; a test holds it). Nothing is built
/// first and nothing is allocated: it runs for every tag of every document, and a
/// table of the ~8 700 codes cost a short `airlock validate` ~2 ms to build.
fn is_known(kind: char, subtag: &str) -> bool {
    let mut line = [0u8; 10];
    let Some(wanted) = line.get_mut(..subtag.len() + 2) else {
        return false;
    };
    wanted[0] = kind as u8;
    wanted[1] = b' ';
    wanted[2..].copy_from_slice(subtag.as_bytes());
    has_line(SUBTAGS, wanted)
}

/// Whether `sorted` (lines in byte order) has the line `wanted`.
fn has_line(sorted: &str, wanted: &[u8]) -> bool {
    let text = sorted.as_bytes();
    // The line, if there, starts in lo..hi; both are line starts (or the end).
    let (mut lo, mut hi) = (0, text.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = text[lo..mid]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(lo, |i| lo + i + 1);
        let end = text[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| start + i);
        match text[start..end].cmp(wanted) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => lo = (end + 1).min(text.len()),
            std::cmp::Ordering::Greater => hi = start,
        }
    }
    false
}

fn alpha(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphabetic())
}

fn alnum(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// Why `tag` is not a valid RFC 5646 language tag, or `Ok`.
pub fn check(tag: &str) -> Result<(), String> {
    if tag.is_empty() || tag.len() > 256 || !tag.is_ascii() {
        return Err("a language tag is ASCII letters, digits and hyphens".into());
    }
    let lower = tag.to_ascii_lowercase();
    if GRANDFATHERED.contains(&lower.as_str()) {
        return Ok(());
    }
    let parts: Vec<&str> = lower.split('-').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || p.len() > 8 || !alnum(p))
    {
        return Err("each subtag is 1 to 8 letters or digits, separated by single hyphens".into());
    }
    let mut i = 0;
    // A private-use tag: `x-…`.
    if parts[0] == "x" {
        return private_use(&parts[1..]);
    }
    // The primary language.
    let language = parts[0];
    match language.len() {
        2 | 3 if alpha(language) => {
            let private = language.len() == 3 && ("qaa"..="qtz").contains(&language);
            if !private && !is_known('l', language) {
                return Err(format!(
                    "`{language}` is not an ISO 639 language code (e.g. en, de, zho)"
                ));
            }
        }
        4 => {
            return Err(format!(
                "`{language}`: four-letter primary language subtags are reserved"
            ));
        }
        5..=8 if alpha(language) => {
            return Err(format!(
                "`{language}` is not a registered primary language subtag"
            ));
        }
        _ => {
            return Err(format!(
                "`{language}` is not a primary language subtag (2 or 3 letters)"
            ));
        }
    }
    i += 1;
    // Up to three extended-language subtags after a 2–3 letter language.
    let mut extlangs = 0;
    while i < parts.len() && parts[i].len() == 3 && alpha(parts[i]) && extlangs < 3 {
        extlangs += 1;
        i += 1;
    }
    if i < parts.len() && parts[i].len() == 4 && alpha(parts[i]) {
        let script = parts[i];
        let private = ("qaaa"..="qabx").contains(&script);
        if !private && !is_known('s', script) {
            return Err(format!(
                "`{script}` is not an ISO 15924 script code (e.g. Latn, Cyrl)"
            ));
        }
        i += 1;
    }
    if i < parts.len()
        && ((parts[i].len() == 2 && alpha(parts[i])) || (parts[i].len() == 3 && digits(parts[i])))
    {
        let region = parts[i];
        let private = region == "aa"
            || region == "zz"
            || ("qm"..="qz").contains(&region)
            || ("xa"..="xz").contains(&region);
        if region.len() == 2 && !private && !is_known('r', region) {
            return Err(format!(
                "`{region}` is not an ISO 3166-1 region code (e.g. US, CH)"
            ));
        }
        i += 1;
    }
    let mut variants = HashSet::new();
    while i < parts.len() {
        let v = parts[i];
        let variant =
            (5..=8).contains(&v.len()) || (v.len() == 4 && v.as_bytes()[0].is_ascii_digit());
        if !variant {
            break;
        }
        if !variants.insert(v) {
            return Err(format!("the variant `{v}` appears twice"));
        }
        i += 1;
    }
    let mut singletons = HashSet::new();
    while i < parts.len() && parts[i].len() == 1 && parts[i] != "x" {
        let s = parts[i];
        if !singletons.insert(s) {
            return Err(format!("the extension `{s}` appears twice"));
        }
        i += 1;
        let start = i;
        while i < parts.len() && (2..=8).contains(&parts[i].len()) {
            i += 1;
        }
        if i == start {
            return Err(format!("the extension `{s}` has no subtags"));
        }
    }
    if i < parts.len() && parts[i] == "x" {
        return private_use(&parts[i + 1..]);
    }
    if i < parts.len() {
        return Err(format!(
            "`{}` is out of place: after the language come script, region, variants, extensions, then x-…",
            parts[i]
        ));
    }
    Ok(())
}

fn private_use(rest: &[&str]) -> Result<(), String> {
    if rest.is_empty() {
        Err("`x` needs at least one private-use subtag after it".into())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{SUBTAGS, check, has_line, is_known};

    #[test]
    fn every_code_is_found_and_nothing_else() {
        let lines: Vec<&str> = SUBTAGS.lines().collect();
        assert!(lines.len() > 8000);
        assert!(
            lines.is_sorted(),
            "the binary search needs the lines sorted"
        );
        for line in &lines {
            assert!(has_line(SUBTAGS, line.as_bytes()), "{line}");
        }
        for (kind, code) in [
            ('l', "en"),
            ('l', "aa"),
            ('l', "zza"),
            ('s', "latn"),
            ('r', "us"),
            ('r', "zw"),
        ] {
            assert!(is_known(kind, code), "{kind} {code}");
        }
        for (kind, code) in [
            ('l', "e"),
            ('l', "qqq"),
            ('l', "zzzz"),
            ('l', "latn"),
            ('s', "en"),
            ('r', "qq"),
            ('r', ""),
            ('l', "aaaaaaaaaaaa"),
        ] {
            assert!(!is_known(kind, code), "{kind} {code}");
        }
        for wanted in ["", "#", "a", "l", "l ", "zzzz", "l aa\nl aaa"] {
            assert!(!has_line(SUBTAGS, wanted.as_bytes()), "{wanted:?}");
        }
        assert!(has_line("a\nb\nc", b"c") && has_line("a\nb\nc\n", b"a") && !has_line("", b""));
    }

    #[test]
    fn tags_from_the_rfc_are_valid() {
        for tag in [
            "de",
            "fr",
            "ja",
            "i-enochian",
            "zh-Hant",
            "zh-Hans",
            "sr-Cyrl",
            "sr-Latn",
            "zh-cmn-Hans-CN",
            "cmn-Hans-CN",
            "zh-yue-HK",
            "yue-HK",
            "zh-Hans-CN",
            "sr-Latn-RS",
            "sl-rozaj",
            "sl-rozaj-biske",
            "sl-nedis",
            "de-CH-1901",
            "sl-IT-nedis",
            "hy-Latn-IT-arevela",
            "de-DE",
            "en-US",
            "es-419",
            "de-CH-x-phonebk",
            "az-Arab-x-AZE-derbend",
            "x-whatever",
            "qaa-Qaaa-QM-x-southern",
            "de-Qaaa",
            "sr-Latn-QM",
            "sr-Qaaa-RS",
            "en-US-u-islamcal",
            "zh-CN-a-myext-x-private",
            "en-a-myext-b-another",
            "EN-us",
            "fil",
            "en-EU",
            "es-UN",
            "iw",
            "sr-YU",
        ] {
            assert_eq!(check(tag), Ok(()), "{tag}");
        }
    }

    #[test]
    fn malformed_and_invalid_tags_are_refused() {
        for tag in [
            "",
            "english",
            "en_US",
            "en-",
            "-en",
            "en--US",
            "de-419-DE",
            "a-DE",
            "ar-a-aaa-b-bbb-a-ccc",
            "de-1901-1901",
            "xx",
            "en-XQ-",
            "en-ZQ",
            "abcd",
            "en-Abcd",
            "x",
            "en-x",
            "tlh-kl-x-",
            "en-US-toolongsubtag",
            "日本語",
        ] {
            assert!(check(tag).is_err(), "{tag} must be refused");
        }
    }
}
