//! Untrusted text made safe to print: guest log lines, connector error messages
//! and anything else a guest or client chose, shown on a terminal, written to the
//! host's log, or quoted in an error message ([`bounded`]).
//!
//! Invariant: [`Printable`] writes no control character (so no newline that forges a
//! log line, no escape sequence that reaches a terminal) and no bidirectional
//! override (so no text that reads differently from what it is); each is written as
//! a visible escape (`\n`, `\u{1b}`), and everything else as it is. It allocates
//! nothing.

use std::fmt;

/// Whether `c` is written escaped: control characters (C0, DEL, C1) and the Unicode
/// bidirectional formatting characters (embeddings, overrides, isolates, marks).
pub fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            | '\u{061c}')
}

/// `text` with every unprintable character escaped, formatted lazily.
pub struct Printable<'a>(pub &'a str);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(is_unprintable) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            }
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

impl fmt::Debug for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// `text` escaped as [`Printable`] does, owned.
pub fn printable(text: &str) -> String {
    Printable(text).to_string()
}

/// `text` cut to at most `max` bytes (at a character boundary), marked when cut:
/// what an error message quoting an input may show of it.
pub fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(printable("plain ünïcode ✓"), "plain ünïcode ✓");
        assert_eq!(
            printable("a\nb\r\tc\u{1b}[31mred\u{7}\u{0}"),
            "a\\nb\\r\\tc\\u{1b}[31mred\\u{7}\\u{0}"
        );
        assert_eq!(printable("x\u{202e}cod.exe"), "x\\u{202e}cod.exe");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(format!("{:?}", Printable("q\n")), "\"q\\n\"");
    }

    #[test]
    fn bounded_cuts_long_text_at_a_character_boundary() {
        assert_eq!(bounded("short", 10), "short");
        assert_eq!(bounded("ééé", 3), "é… (6 bytes in all)");
    }
}
