//! The STIX patterning language (STIX 2.1 §9), parsed by hand after the official
//! ANTLR grammar (`STIXPattern.g4`): a lexer with the grammar's token rules
//! (longest match; keywords before identifiers) and a recursive-descent parser
//! with the grammar's left-recursive rules rewritten as loops.
//!
//! It answers whether a pattern is well-formed, where it is not, and which object
//! types it names (for the caller's checks). Nesting is capped at [`MAX_DEPTH`], so
//! hostile input cannot exhaust the stack, and the work is linear in the input.

/// Deepest nesting of parentheses and brackets accepted.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Kw(&'static str),
    /// An identifier; `true` when it contains a hyphen.
    Ident(String, bool),
    /// A quoted string, its escapes undone.
    Str(String),
    Int {
        negative: bool,
    },
    Float,
    Hex,
    Binary,
    Timestamp,
    Bool,
    Cmp,
    Colon,
    Dot,
    Comma,
    LParen,
    RParen,
    LBrack,
    RBrack,
    Star,
}

const KEYWORDS: &[&str] = &[
    "AND",
    "OR",
    "NOT",
    "FOLLOWEDBY",
    "LIKE",
    "MATCHES",
    "ISSUPERSET",
    "ISSUBSET",
    "EXISTS",
    "LAST",
    "IN",
    "START",
    "STOP",
    "SECONDS",
    "WITHIN",
    "REPEATS",
    "TIMES",
];

/// Why a pattern is malformed: a sentence and the character offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// Character offset into the pattern.
    pub at: usize,
    /// What is wrong.
    pub message: String,
}

fn err<T>(at: usize, message: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError {
        at,
        message: message.into(),
    })
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, PatternError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let n = chars.len();
    let quoted = |start: usize| -> Result<usize, PatternError> {
        // From an opening quote at `start`, the index after the closing one.
        let mut j = start + 1;
        while j < n {
            match chars[j] {
                '\'' => return Ok(j + 1),
                '\\' => match chars.get(j + 1) {
                    Some('\'') | Some('\\') => j += 2,
                    _ => {
                        return err(j, "only \\' and \\\\ are escapes in a STIX pattern string");
                    }
                },
                _ => j += 1,
            }
        }
        err(start, "unterminated string literal")
    };
    while i < n {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut j = i + 2;
            while j + 1 < n && !(chars[j] == '*' && chars[j + 1] == '/') {
                j += 1;
            }
            if j + 1 >= n {
                return err(i, "unterminated comment");
            }
            i = j + 2;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < n && chars[i] != '\n' && chars[i] != '\r' {
                i += 1;
            }
            continue;
        }
        // Prefixed literals: h'..', b'..', t'..' (longer than the identifier `h`).
        if matches!(c, 'h' | 'b' | 't') && chars.get(i + 1) == Some(&'\'') {
            let end = quoted(i + 1)?;
            let body: String = chars[i + 2..end - 1].iter().collect();
            let tok = match c {
                'h' => {
                    if !body.len().is_multiple_of(2) || !body.chars().all(|c| c.is_ascii_hexdigit())
                    {
                        return err(i, format!("h'{body}' is not pairs of hex digits"));
                    }
                    Tok::Hex
                }
                'b' => {
                    if !base64_ok(&body) {
                        return err(i, format!("b'{body}' is not padded base64"));
                    }
                    Tok::Binary
                }
                _ => {
                    if !timestamp_ok(&body) {
                        return err(
                            i,
                            format!("t'{body}' is not a UTC timestamp like 2021-01-31T12:00:00Z"),
                        );
                    }
                    Tok::Timestamp
                }
            };
            out.push((tok, start));
            i = end;
            continue;
        }
        if c == '\'' {
            let end = quoted(i)?;
            let mut text = String::new();
            let mut k = i + 1;
            while k < end - 1 {
                if chars[k] == '\\' {
                    k += 1;
                }
                text.push(chars[k]);
                k += 1;
            }
            out.push((Tok::Str(text), start));
            i = end;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let mut j = i;
            while j < n && (chars[j].is_ascii_alphanumeric() || chars[j] == '_' || chars[j] == '-')
            {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            let tok = if let Some(k) = KEYWORDS.iter().find(|k| **k == word) {
                Tok::Kw(k)
            } else if word == "true" || word == "false" {
                Tok::Bool
            } else {
                let hyphen = word.contains('-');
                Tok::Ident(word, hyphen)
            };
            out.push((tok, start));
            i = j;
            continue;
        }
        let next_is_digit = chars.get(i + 1).is_some_and(char::is_ascii_digit);
        let signed_number =
            (c == '+' || c == '-') && (next_is_digit || (chars.get(i + 1) == Some(&'.')));
        if c.is_ascii_digit() || signed_number || (c == '.' && next_is_digit) {
            let negative = c == '-';
            let mut j = if c == '+' || c == '-' { i + 1 } else { i };
            let int_start = j;
            while j < n && chars[j].is_ascii_digit() {
                j += 1;
            }
            let int_part: String = chars[int_start..j].iter().collect();
            if j < n && chars[j] == '.' {
                let frac_start = j + 1;
                let mut k = frac_start;
                while k < n && chars[k].is_ascii_digit() {
                    k += 1;
                }
                if k == frac_start {
                    return err(i, "a number needs digits after its decimal point");
                }
                out.push((Tok::Float, start));
                i = k;
                continue;
            }
            if int_part.is_empty() {
                return err(i, format!("unexpected `{c}`"));
            }
            if int_part.len() > 1 && int_part.starts_with('0') {
                return err(i, "integers have no leading zeros in STIX patterns");
            }
            out.push((Tok::Int { negative }, start));
            i = j;
            continue;
        }
        let two: String = chars[i..(i + 2).min(n)].iter().collect();
        let (tok, len) = match (c, two.as_str()) {
            (_, "==") | (_, "!=") | (_, "<>") | (_, "<=") | (_, ">=") => (Tok::Cmp, 2),
            ('=', _) | ('<', _) | ('>', _) => (Tok::Cmp, 1),
            (':', _) => (Tok::Colon, 1),
            ('.', _) => (Tok::Dot, 1),
            (',', _) => (Tok::Comma, 1),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('[', _) => (Tok::LBrack, 1),
            (']', _) => (Tok::RBrack, 1),
            ('*', _) => (Tok::Star, 1),
            _ => return err(i, format!("unexpected character `{c}`")),
        };
        out.push((tok, start));
        i += len;
    }
    Ok(out)
}

fn base64_ok(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    pad <= 2
        && b[..b.len() - pad]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

fn timestamp_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
            .then(|| {
                std::str::from_utf8(&b[r])
                    .ok()
                    .and_then(|t| t.parse::<u32>().ok())
            })
            .flatten()
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b.last() != Some(&b'Z')
    {
        return false;
    }
    let (Some(_), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) = (
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19),
    ) else {
        return false;
    };
    let frac = &b[19..b.len() - 1];
    let frac_ok = frac.is_empty()
        || (frac.len() > 1 && frac[0] == b'.' && frac[1..].iter().all(u8::is_ascii_digit));
    (1..=12).contains(&mo) && (1..=31).contains(&d) && h <= 23 && mi <= 59 && sec <= 60 && frac_ok
}

/// A well-formed pattern's facts the caller checks further.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The object types the comparison expressions name, in order of appearance.
    pub object_types: Vec<String>,
    /// Comparisons of a property with a string literal (`file:hashes.MD5 = '…'`).
    pub comparisons: Vec<Comparison>,
    /// What the grammar admits but the specification forbids (duplicated
    /// qualifiers, badly cased object types).
    pub findings: Vec<Finding>,
}

/// A property compared with a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Character offset of the object path.
    pub at: usize,
    /// `file`.
    pub object_type: String,
    /// `["hashes", "SHA-256"]`: the property names, quotes and list steps removed.
    pub path: Vec<String>,
    /// The string, its escapes undone.
    pub value: String,
}

/// A semantic finding in a well-formed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Character offset.
    pub at: usize,
    /// The rule it breaks.
    pub rule: &'static str,
    /// What is wrong.
    pub message: String,
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
    depth: usize,
    parsed: Parsed,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(_, a)| *a)
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok, what: &str) -> Result<(), PatternError> {
        if self.eat(t) {
            Ok(())
        } else {
            err(self.at(), format!("expected {what}{}", self.found()))
        }
    }

    fn found(&self) -> String {
        match self.toks.get(self.pos) {
            None => " but the pattern ended".into(),
            Some((Tok::Kw(k), _)) => format!(" but found `{k}`"),
            Some((Tok::Ident(w, _), _)) => format!(" but found `{w}`"),
            Some(_) => " here".into(),
        }
    }

    fn nest(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(self.at(), format!("nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    /// `item (KEYWORD item)*`: the grammar's left-recursive binary rules as a loop.
    fn separated(
        &mut self,
        keyword: &'static str,
        item: fn(&mut Self) -> Result<(), PatternError>,
    ) -> Result<(), PatternError> {
        item(self)?;
        while self.eat(&Tok::Kw(keyword)) {
            item(self)?;
        }
        Ok(())
    }

    fn observation_expressions(&mut self) -> Result<(), PatternError> {
        self.separated("FOLLOWEDBY", Self::observation_or)
    }

    fn observation_or(&mut self) -> Result<(), PatternError> {
        self.separated("OR", Self::observation_and)
    }

    fn observation_and(&mut self) -> Result<(), PatternError> {
        self.separated("AND", Self::observation)
    }

    fn observation(&mut self) -> Result<(), PatternError> {
        self.nest()?;
        if self.eat(&Tok::LBrack) {
            self.comparison_or()?;
            self.expect(&Tok::RBrack, "`]` to close the observation expression")?;
        } else if self.eat(&Tok::LParen) {
            self.observation_expressions()?;
            self.expect(&Tok::RParen, "`)`")?;
        } else {
            return err(
                self.at(),
                format!(
                    "expected `[` to start an observation expression{}",
                    self.found()
                ),
            );
        }
        self.depth -= 1;
        // Each qualifier at most once on one observation expression (the
        // reference's `DuplicateQualifierTypeError`).
        let mut seen: Vec<&'static str> = Vec::new();
        loop {
            if let Some(Tok::Kw(q @ ("START" | "WITHIN" | "REPEATS"))) = self.peek().cloned() {
                if seen.contains(&q) {
                    self.parsed.findings.push(Finding {
                        at: self.at(),
                        rule: "pattern-qualifier",
                        message: format!(
                            "{q} qualifies this observation expression twice: each qualifier at most once"
                        ),
                    });
                }
                seen.push(q);
            }
            if self.eat(&Tok::Kw("START")) {
                self.expect(&Tok::Timestamp, "a timestamp t'…' after START")?;
                self.expect(&Tok::Kw("STOP"), "STOP")?;
                self.expect(&Tok::Timestamp, "a timestamp t'…' after STOP")?;
            } else if self.eat(&Tok::Kw("WITHIN")) {
                match self.peek() {
                    Some(Tok::Int { negative: false }) | Some(Tok::Float) => self.pos += 1,
                    _ => {
                        return err(
                            self.at(),
                            format!("expected a positive number after WITHIN{}", self.found()),
                        );
                    }
                }
                self.expect(&Tok::Kw("SECONDS"), "SECONDS")?;
            } else if self.eat(&Tok::Kw("REPEATS")) {
                self.expect(
                    &Tok::Int { negative: false },
                    "a positive integer after REPEATS",
                )?;
                self.expect(&Tok::Kw("TIMES"), "TIMES")?;
            } else {
                return Ok(());
            }
        }
    }

    fn comparison_or(&mut self) -> Result<(), PatternError> {
        self.separated("OR", Self::comparison_and)
    }

    fn comparison_and(&mut self) -> Result<(), PatternError> {
        self.separated("AND", Self::prop_test)
    }

    fn prop_test(&mut self) -> Result<(), PatternError> {
        if self.eat(&Tok::LParen) {
            self.nest()?;
            self.comparison_or()?;
            self.expect(&Tok::RParen, "`)`")?;
            self.depth -= 1;
            return Ok(());
        }
        if self.eat(&Tok::Kw("NOT")) {
            self.expect(&Tok::Kw("EXISTS"), "EXISTS after a leading NOT")?;
            return self.object_path().map(|_| ());
        }
        if self.eat(&Tok::Kw("EXISTS")) {
            return self.object_path().map(|_| ());
        }
        let path_at = self.at();
        let (object_type, names) = self.object_path()?;
        self.eat(&Tok::Kw("NOT"));
        let op_at = self.at();
        match self.peek().cloned() {
            Some(Tok::Cmp) => {
                self.pos += 1;
                if let Some(Tok::Str(value)) = self.peek().cloned() {
                    self.parsed.comparisons.push(Comparison {
                        at: path_at,
                        object_type,
                        path: names,
                        value,
                    });
                }
                self.literal(op_at)
            }
            Some(Tok::Kw("IN")) => {
                self.pos += 1;
                self.expect(&Tok::LParen, "`(` to open the IN set")?;
                if self.eat(&Tok::RParen) {
                    return Ok(());
                }
                loop {
                    self.literal(op_at)?;
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                self.expect(&Tok::RParen, "`)` to close the IN set")
            }
            Some(Tok::Kw("LIKE" | "MATCHES" | "ISSUBSET" | "ISSUPERSET")) => {
                self.pos += 1;
                match self.peek() {
                    Some(Tok::Str(_)) => {
                        self.pos += 1;
                        Ok(())
                    }
                    _ => err(
                        self.at(),
                        format!("expected a quoted string{}", self.found()),
                    ),
                }
            }
            _ => err(
                op_at,
                format!(
                    "expected a comparison (=, !=, <, >, <=, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET){}",
                    self.found()
                ),
            ),
        }
    }

    fn literal(&mut self, op_at: usize) -> Result<(), PatternError> {
        match self.peek() {
            Some(
                Tok::Str(_)
                | Tok::Int { .. }
                | Tok::Float
                | Tok::Hex
                | Tok::Binary
                | Tok::Timestamp
                | Tok::Bool,
            ) => {
                self.pos += 1;
                Ok(())
            }
            _ => err(
                self.at().max(op_at),
                format!("expected a literal value{}", self.found()),
            ),
        }
    }

    /// An object path; returns the object type and the property path's names
    /// (list steps left out).
    fn object_path(&mut self) -> Result<(String, Vec<String>), PatternError> {
        let at = self.at();
        let Some(Tok::Ident(object_type, _)) = self.peek().cloned() else {
            return err(
                at,
                format!("expected an object type such as `file`{}", self.found()),
            );
        };
        self.pos += 1;
        self.check_type_name(&object_type, at);
        self.parsed.object_types.push(object_type.clone());
        self.expect(&Tok::Colon, "`:` after the object type")?;
        let mut names = Vec::new();
        match self.peek().cloned() {
            Some(Tok::Ident(name, false)) | Some(Tok::Str(name)) => {
                names.push(name);
                self.pos += 1;
            }
            Some(Tok::Ident(name, true)) => {
                return err(
                    self.at(),
                    format!("the property name `{name}` has a hyphen: quote it as '{name}'"),
                );
            }
            _ => {
                return err(
                    self.at(),
                    format!("expected a property name{}", self.found()),
                );
            }
        }
        loop {
            if self.eat(&Tok::Dot) {
                match self.peek().cloned() {
                    Some(Tok::Ident(name, false)) | Some(Tok::Str(name)) => {
                        names.push(name);
                        self.pos += 1;
                    }
                    _ => {
                        return err(
                            self.at(),
                            format!("expected a property name after `.`{}", self.found()),
                        );
                    }
                }
            } else if self.peek() == Some(&Tok::LBrack) && self.is_index_step() {
                self.pos += 1;
                self.pos += 1; // the index or `*`
                self.expect(&Tok::RBrack, "`]`")?;
            } else {
                return Ok((object_type, names));
            }
        }
    }

    /// Object type names are 3–250 characters of lowercase `a-z`, `0-9` and
    /// hyphens (§3.1), e.g. `file`, never `File`.
    fn check_type_name(&mut self, name: &str, at: usize) {
        let ok = (3..=250).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.contains("--");
        if !ok {
            self.parsed.findings.push(Finding {
                at,
                rule: "pattern-object-type-name",
                message: format!(
                    "`{name}` is not a valid object type name: 3 to 250 characters of lowercase a-z, 0-9 and hyphens"
                ),
            });
        }
    }

    /// `[` followed by an integer or `*` and `]` is a list index, not the start of
    /// a new observation.
    fn is_index_step(&self) -> bool {
        matches!(
            self.toks.get(self.pos + 1).map(|(t, _)| t),
            Some(Tok::Int { .. } | Tok::Star)
        ) && matches!(
            self.toks.get(self.pos + 2).map(|(t, _)| t),
            Some(Tok::RBrack)
        )
    }
}

/// Parses a STIX pattern.
pub fn parse(pattern: &str) -> Result<Parsed, PatternError> {
    let toks = lex(pattern)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end: pattern.chars().count(),
        depth: 0,
        parsed: Parsed::default(),
    };
    p.observation_expressions()?;
    if p.pos != p.toks.len() {
        return err(
            p.at(),
            format!("unexpected text after the pattern{}", p.found()),
        );
    }
    Ok(p.parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specs_example_patterns_parse() {
        for p in [
            "[ipv4-addr:value = '10.0.0.0']",
            "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
            "[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND email-message:body_multipart[*].body_raw_ref.name LIKE 'pdf%']",
            "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32'] REPEATS 5 TIMES WITHIN 1800 SECONDS",
            "([file:name = 'a.exe'] AND [file:size > 1024]) FOLLOWEDBY [process:name = 'x'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00.123Z'",
            "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo' OR NOT EXISTS windows-registry-key:values[0].name]",
            "[file:extensions.'windows-pebinary-ext'.sections[-1].entropy >= -0.5]",
            "[artifact:payload_bin = b'aGVsbG8=' AND artifact:hashes.MD5 = h'00ff']",
            "[domain-name:value IN ('a.example', 'b.example')] /* a comment */",
            "[x-custom-type:prop NOT = 'v']",
            "[user-account:is_service_account = true]",
        ] {
            assert!(parse(p).is_ok(), "{p}: {:?}", parse(p));
        }
        assert_eq!(
            parse("[file:name = 'a'] AND [url:value = 'b']")
                .unwrap()
                .object_types,
            vec!["file", "url"]
        );
    }

    #[test]
    fn malformed_patterns_are_refused_with_a_position() {
        for (p, says) in [
            ("", "expected `[`"),
            ("ipv4-addr:value = '1.2.3.4'", "expected `[`"),
            ("[ipv4-addr:value = '1.2.3.4'", "`]`"),
            ("[ipv4-addr:value '1.2.3.4']", "expected a comparison"),
            ("[ipv4-addr:value = ]", "expected a literal"),
            ("[ipv4-addr = '1']", "`:`"),
            ("[file:hashes.SHA-256 = 'x']", "property name"),
            ("[file:name = 'unterminated]", "unterminated"),
            ("[file:name = 'bad \\n escape']", "escapes"),
            ("[file:size = 007]", "leading zeros"),
            ("[file:name = 'a'] WITHIN -5 SECONDS", "positive number"),
            ("[file:name = 'a'] REPEATS 5", "TIMES"),
            (
                "[file:name = 'a'] START t'2016-13-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
                "timestamp",
            ),
            ("[artifact:payload_bin = b'abc']", "base64"),
            ("[artifact:x = h'abc']", "hex"),
            ("[file:name = 'a'] [file:name = 'b']", "after the pattern"),
            ("[file:name = 'a'] AND", "expected `[`"),
            ("[file:name = 'a' AND ]", "object type"),
            ("[file:name = 'a'] # x", "unexpected character"),
        ] {
            match parse(p) {
                Err(e) => assert!(e.message.contains(says), "{p}: {}", e.message),
                Ok(_) => panic!("{p} must not parse"),
            }
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let deep = format!(
            "{}[file:name = 'a']{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("nested deeper"), "{}", e.message);
        let deep = format!(
            "[{}file:name = 'a'{}]",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        assert!(parse(&deep).is_err());
    }
}
