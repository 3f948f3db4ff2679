//! What the XML validators share: decoding by byte-order mark or declaration, the
//! DOCTYPE refusal, and the parse (with an XSD where the root calls for one)
//! through libxml2 ([`libxml`]).
//!
//! The order is the security argument: bytes are decoded here, any `<!DOCTYPE` is
//! refused here by scanning the prolog — before any parser sees the text — and only
//! then does libxml2 parse, with network access off and an entity loader that
//! serves the embedded schemas and nothing else.

mod libxml;

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};

pub(crate) use libxml::{Schema, Tree, niem_core_xsd};

use super::Report;
use libxml::Failure;

const DTD_REFUSED: &str = "The document has a DOCTYPE; NIEM and CAP documents never need one, and \
                           Airlock refuses DTDs so that no entity is declared, expanded or fetched.";

/// The whole safe path for one XML document, each failure recorded in `report`
/// as its finding: decode (`encoding`), refuse a DOCTYPE (`xml-dtd`), parse
/// (`xml`), apply the schema `schema_for` names for the root (`schema`, one
/// finding per violation). `then` gets the tree and whether a schema was applied,
/// to add the standard's own rules.
pub(crate) fn check(
    bytes: &[u8],
    report: &mut Report,
    schema_for: impl Fn(&str, Option<&str>) -> Option<Schema>,
    then: impl for<'d> FnOnce(&Tree<'d>, bool, &mut Report),
) {
    let (text, transcoded) = match decode(bytes) {
        Ok(decoded) => decoded,
        Err(message) => return report.error("/", "encoding", message),
    };
    if has_doctype(&text) {
        return report.error("/", "xml-dtd", DTD_REFUSED);
    }
    let parsed = libxml::parse(&text, transcoded, schema_for, |tree, schema_errors| {
        let applied = schema_errors.is_some();
        for e in schema_errors.into_iter().flatten() {
            report.error(e.path, "schema", e.message);
        }
        then(tree, applied, report);
    });
    match parsed {
        Ok(()) => {}
        Err(Failure::Dtd) => report.error("/", "xml-dtd", DTD_REFUSED),
        Err(Failure::NotWellFormed(why)) => report.error(
            "/",
            "xml",
            format!("The document is not well-formed XML: {why}."),
        ),
        Err(Failure::Internal(why)) => report.error(
            "/",
            "schema",
            format!("The schema could not be applied: {why}."),
        ),
    }
}
/// Decodes by byte-order mark, else by the XML declaration's `encoding`, else UTF-8.
/// The flag says whether the text was transcoded (or had a BOM), in which case its
/// declaration no longer describes it and libxml2 must be told it is UTF-8.
fn decode(bytes: &[u8]) -> Result<(Cow<'_, str>, bool), String> {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        let (text, malformed) = encoding.decode_without_bom_handling(&bytes[bom..]);
        if malformed {
            return Err(format!(
                "The byte-order mark says {}, but the bytes are not valid {}.",
                encoding.name(),
                encoding.name()
            ));
        }
        return Ok((text, true));
    }
    let encoding = match declared_encoding(bytes) {
        None => UTF_8,
        Some(label) => match Encoding::for_label(label.as_bytes()) {
            Some(e) if e.output_encoding() == UTF_8 && e != UTF_8 => {
                // UTF-16 declared in a declaration we could read as ASCII.
                return Err(format!(
                    "The declaration says encoding=\"{label}\", but the document is not \
                     UTF-16 (it has no byte-order mark)."
                ));
            }
            Some(e) => e,
            None => {
                return Err(format!(
                    "The declaration names encoding \"{label}\", which is not a known \
                     character encoding."
                ));
            }
        },
    };
    if encoding == UTF_8 {
        return std::str::from_utf8(bytes)
            .map(|t| (Cow::Borrowed(t), false))
            .map_err(|e| {
                format!(
                    "The document is not valid UTF-8 (byte {}); declare its encoding if it \
                 has another.",
                    e.valid_up_to()
                )
            });
    }
    let (text, malformed) = encoding.decode_without_bom_handling(bytes);
    if malformed {
        return Err(format!(
            "The document declares {}, but has bytes that encoding cannot carry.",
            encoding.name()
        ));
    }
    Ok((text, true))
}

/// The `encoding` pseudo-attribute of a leading `<?xml … ?>`, if any.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = bytes.strip_prefix(b"<?xml")?;
    let end = head.windows(2).take(512).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_string())
}

/// Whether the prolog (before the root element) holds a `<!DOCTYPE`: the only
/// place one can stand. Comments and processing instructions are skipped; anything
/// else ends the prolog, and libxml2 judges what follows.
fn has_doctype(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("<!--") {
            match after.find("-->") {
                Some(end) => rest = &after[end + 3..],
                None => return false,
            }
        } else if let Some(after) = rest.strip_prefix("<?") {
            match after.find("?>") {
                Some(end) => rest = &after[end + 2..],
                None => return false,
            }
        } else {
            return rest.starts_with("<!DOCTYPE");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_come_from_the_bom_or_the_declaration() {
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9</a>";
        let expect = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>é</a>";
        assert_eq!(decode(latin1).unwrap(), (expect.into(), true));
        assert_eq!(decode(b"<a/>").unwrap(), ("<a/>".into(), false));
        assert!(decode(b"<a>\xe9</a>").is_err());
        assert!(
            decode(b"<?xml version='1.0' encoding='klingon'?><a/>")
                .unwrap_err()
                .contains("klingon")
        );
        assert!(decode(b"<?xml version='1.0' encoding='UTF-16'?><a/>").is_err());
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("<a/>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(&utf16).unwrap(), ("<a/>".into(), true));
    }

    #[test]
    fn the_prolog_scan_finds_a_doctype_only_where_one_can_stand() {
        assert!(has_doctype(
            "<?xml version='1.0'?>\n<!-- c --><!DOCTYPE a><a/>"
        ));
        assert!(!has_doctype("<!-- <!DOCTYPE x> --><a/>"));
        assert!(!has_doctype("<a><![CDATA[<!DOCTYPE a>]]></a>"));
    }
}
