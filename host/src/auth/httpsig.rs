//! RFC 9421 HTTP Message Signatures with RSA keys, for push connectors registered
//! with `rsa`, and RFC 9530 `Content-Digest`, which binds the body to them.
//!
//! The sender registers an RSA public key (PEM, 2048 to 8192 bits) and gets a
//! `key_id`. Each request carries:
//!
//! ```text
//! Content-Digest: sha-512=:<base64 of SHA-512(body)>:
//! Signature-Input: sig1=("@method" "@path" "content-digest");created=1700000000;keyid="key_…";alg="rsa-pss-sha512"
//! Signature: sig1=:<base64 signature of the signature base>:
//! ```
//!
//! A signature is accepted when it covers at least `@method`, `@path` and
//! `content-digest`, has `created` within ±5 minutes (and `expires`, if given, not
//! passed), names a `keyid` that is a current key of the connector, and verifies
//! under `alg` — `rsa-pss-sha512` (salt 64 bytes) or `rsa-v1_5-sha256`; without
//! `alg`, both are tried (the key alone does not say which). The signature is
//! checked from the headers alone, before the body is read; the body is then
//! checked against `Content-Digest` (`sha-256` and/or `sha-512`; every one given
//! must match). A signature does not cover the request's other headers unless it
//! says so, so a replay could change an uncovered `Idempotency-Key`: when one is
//! sent it must be covered, and without one the signature itself is the event's
//! idempotency key (a replay inside the 5 minutes is a redelivery). Covered components may also be `@authority`, `@scheme`,
//! `@query` and header fields; component parameters (`;sf`, `;key`, `;req`…) are
//! refused rather than half-supported.
//!
//! Structured fields (RFC 8941) are parsed by the small parser below, which reads
//! dictionaries of items and inner lists and re-serialises an inner list
//! canonically for the `@signature-params` line.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::RsaPublicKey;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::signature::Verifier as _;
use rsa::traits::PublicKeyParts as _;
use sha2::{Digest as _, Sha256, Sha512};

/// How far `created` may be from now, either way: 5 minutes.
pub const TOLERANCE_SECS: i64 = 300;
/// Smallest RSA modulus accepted, in bits.
pub const MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (bounds the cost of a verification).
pub const MAX_BITS: usize = 8192;
/// Components every signature must cover.
pub const REQUIRED: [&str; 3] = ["@method", "@path", "content-digest"];

/// The signature algorithms accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PSS with SHA-512 and a 64-byte salt.
    RsaPssSha512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaV15Sha256,
}

impl Alg {
    /// The name in `alg`.
    pub fn name(self) -> &'static str {
        match self {
            Alg::RsaPssSha512 => "rsa-pss-sha512",
            Alg::RsaV15Sha256 => "rsa-v1_5-sha256",
        }
    }

    /// The algorithm named `name`.
    pub fn from_name(name: &str) -> Option<Alg> {
        match name {
            "rsa-pss-sha512" => Some(Alg::RsaPssSha512),
            "rsa-v1_5-sha256" => Some(Alg::RsaV15Sha256),
            _ => None,
        }
    }
}

/// Why a signed request was refused: the messages say what is wrong with the
/// request, never anything of the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpSigError {
    /// A header is absent.
    #[error("the `{0}` header is missing")]
    Missing(&'static str),
    /// A header is not a valid structured field, or lacks what it must hold.
    #[error("the `{0}` header is malformed: {1}")]
    Malformed(&'static str, String),
    /// The signature leaves out a component that must be covered.
    #[error(
        "the signature must cover `{0}` (it covers @method, @path and content-digest at least)"
    )]
    NotCovered(&'static str),
    /// `created` is outside the tolerance, or `expires` has passed.
    #[error("the signature was created more than 5 minutes from now, or has expired")]
    Stale,
    /// `keyid` names no current key of the connector.
    #[error("the signature's keyid is not a current key of this connector")]
    UnknownKey,
    /// `alg` names an algorithm Airlock does not accept.
    #[error("unsupported alg `{0}`: use rsa-pss-sha512 or rsa-v1_5-sha256")]
    UnsupportedAlg(String),
    /// A covered component cannot be produced from this request.
    #[error("cannot cover component {0}")]
    Component(String),
    /// The signature does not verify.
    #[error("the signature does not verify under the connector's key")]
    BadSignature,
    /// The body does not match `Content-Digest`.
    #[error("the body does not match its Content-Digest")]
    DigestMismatch,
}

/// Reads an RSA public key from PEM (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC
/// KEY`), refusing keys outside [`MIN_BITS`]..=[`MAX_BITS`].
pub fn parse_public_key(pem: &str) -> Result<RsaPublicKey, String> {
    let pem = pem.trim();
    let key = RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .ok()
        // The crate's decoders stop at 4 096 bits; up to MAX_BITS is allowed here.
        .or_else(|| decode_large(pem))
        .ok_or(())
        .map_err(|_| {
            "`public_key` must be an RSA public key in PEM (-----BEGIN PUBLIC KEY----- or \
             -----BEGIN RSA PUBLIC KEY-----)"
                .to_string()
        })?;
    let bits = key.n().bits();
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(format!(
            "`public_key` is a {bits}-bit RSA key; use {MIN_BITS} to {MAX_BITS} bits"
        ));
    }
    Ok(key)
}

/// An RSA public key of up to [`MAX_BITS`] from PEM (SubjectPublicKeyInfo or
/// PKCS#1), decoded by hand: `rsa`'s PEM decoders refuse keys over 4 096 bits.
fn decode_large(pem: &str) -> Option<RsaPublicKey> {
    use rsa::pkcs1::der::Decode as _;
    let (label, doc) = rsa::pkcs8::Document::from_pem(pem).ok()?;
    let spki;
    let der: &[u8] = match label {
        "PUBLIC KEY" => {
            spki = rsa::pkcs8::spki::SubjectPublicKeyInfoRef::try_from(doc.as_bytes()).ok()?;
            // rsaEncryption only (the crate's own decoder checks the same).
            if spki.algorithm.oid != rsa::pkcs1::ALGORITHM_OID {
                return None;
            }
            spki.subject_public_key.as_bytes()?
        }
        "RSA PUBLIC KEY" => doc.as_bytes(),
        _ => return None,
    };
    let k = rsa::pkcs1::RsaPublicKey::from_der(der).ok()?;
    RsaPublicKey::new_with_max_size(
        rsa::BigUint::from_bytes_be(k.modulus.as_bytes()),
        rsa::BigUint::from_bytes_be(k.public_exponent.as_bytes()),
        MAX_BITS,
    )
    .ok()
}

// ---- Structured fields (RFC 8941), the subset signatures use ----

/// A bare item.
#[derive(Debug, Clone, PartialEq)]
pub enum Bare {
    /// `123`.
    Integer(i64),
    /// `1.5`, kept as written.
    Decimal(String),
    /// `"text"`.
    String(String),
    /// `token`.
    Token(String),
    /// `:base64:`.
    Bytes(Vec<u8>),
    /// `?1` / `?0`.
    Bool(bool),
}

type Params = Vec<(String, Bare)>;

/// A dictionary member: an item or an inner list, with parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    /// An item.
    Item(Bare, Params),
    /// An inner list.
    Inner(Vec<(Bare, Params)>, Params),
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }
    fn ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn key(&mut self) -> Result<String, String> {
        let start = self.i;
        match self.peek() {
            Some(b'a'..=b'z' | b'*') => self.i += 1,
            _ => return Err("a key must start with a lowercase letter or `*`".into()),
        }
        while matches!(
            self.peek(),
            Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*')
        ) {
            self.i += 1;
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn bare(&mut self) -> Result<Bare, String> {
        match self.peek() {
            Some(b'"') => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    match self.peek() {
                        None => return Err("unterminated string".into()),
                        Some(b'"') => {
                            self.i += 1;
                            return Ok(Bare::String(out));
                        }
                        Some(b'\\') => {
                            self.i += 1;
                            match self.peek() {
                                Some(c @ (b'"' | b'\\')) => {
                                    out.push(char::from(c));
                                    self.i += 1;
                                }
                                _ => return Err("bad escape in a string".into()),
                            }
                        }
                        Some(c @ 0x20..=0x7e) => {
                            out.push(char::from(c));
                            self.i += 1;
                        }
                        Some(_) => return Err("a string holds only printable ASCII".into()),
                    }
                }
            }
            Some(b':') => {
                self.i += 1;
                let start = self.i;
                while self.peek().is_some_and(|c| c != b':') {
                    self.i += 1;
                }
                let text = &self.s[start..self.i];
                if !self.eat(b':') {
                    return Err("unterminated byte sequence".into());
                }
                STANDARD
                    .decode(text)
                    .map(Bare::Bytes)
                    .map_err(|_| "a byte sequence is not base64".into())
            }
            Some(b'?') => {
                self.i += 1;
                let v = match self.peek() {
                    Some(b'1') => true,
                    Some(b'0') => false,
                    _ => return Err("a boolean is ?1 or ?0".into()),
                };
                self.i += 1;
                Ok(Bare::Bool(v))
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                self.i += 1;
                while matches!(self.peek(), Some(b'0'..=b'9' | b'.')) {
                    self.i += 1;
                }
                let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                if text.contains('.') {
                    Ok(Bare::Decimal(text))
                } else if text.len() > 16 {
                    Err("an integer has at most 15 digits".into())
                } else {
                    text.parse()
                        .map(Bare::Integer)
                        .map_err(|_| "bad integer".into())
                }
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c))
                {
                    self.i += 1;
                }
                Ok(Bare::Token(
                    String::from_utf8_lossy(&self.s[start..self.i]).into_owned(),
                ))
            }
            _ => Err("expected an item".into()),
        }
    }

    fn params(&mut self) -> Result<Params, String> {
        let mut out: Params = Vec::new();
        while self.eat(b';') {
            self.spaces();
            let k = self.key()?;
            let v = if self.eat(b'=') {
                self.bare()?
            } else {
                Bare::Bool(true)
            };
            out.retain(|(x, _)| *x != k);
            out.push((k, v));
        }
        Ok(out)
    }
}

/// Parses a structured-field dictionary.
pub fn parse_dictionary(text: &str) -> Result<Vec<(String, Member)>, String> {
    let mut c = Cursor {
        s: text.as_bytes(),
        i: 0,
    };
    let mut out: Vec<(String, Member)> = Vec::new();
    c.spaces();
    if c.peek().is_none() {
        return Ok(out);
    }
    loop {
        let key = c.key()?;
        let member = if c.eat(b'=') {
            if c.eat(b'(') {
                let mut items = Vec::new();
                loop {
                    c.spaces();
                    if c.eat(b')') {
                        break;
                    }
                    let item = c.bare()?;
                    let p = c.params()?;
                    items.push((item, p));
                    if !matches!(c.peek(), Some(b' ' | b')')) {
                        return Err("inner list items are separated by spaces".into());
                    }
                }
                Member::Inner(items, c.params()?)
            } else {
                let item = c.bare()?;
                Member::Item(item, c.params()?)
            }
        } else {
            Member::Item(Bare::Bool(true), c.params()?)
        };
        out.retain(|(k, _)| *k != key);
        out.push((key, member));
        c.ows();
        if c.peek().is_none() {
            return Ok(out);
        }
        if !c.eat(b',') {
            return Err("dictionary members are separated by commas".into());
        }
        c.ows();
        if c.peek().is_none() {
            return Err("a dictionary may not end with a comma".into());
        }
    }
}

fn serialize_bare(b: &Bare, out: &mut String) {
    match b {
        Bare::Integer(i) => out.push_str(&i.to_string()),
        Bare::Decimal(d) => out.push_str(d),
        Bare::String(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        Bare::Token(t) => out.push_str(t),
        Bare::Bytes(b) => {
            out.push(':');
            out.push_str(&STANDARD.encode(b));
            out.push(':');
        }
        Bare::Bool(v) => out.push_str(if *v { "?1" } else { "?0" }),
    }
}

fn serialize_params(p: &Params, out: &mut String) {
    for (k, v) in p {
        out.push(';');
        out.push_str(k);
        if *v != Bare::Bool(true) {
            out.push('=');
            serialize_bare(v, out);
        }
    }
}

/// An inner list serialised canonically (the `@signature-params` value).
pub fn serialize_inner(items: &[(Bare, Params)], params: &Params) -> String {
    let mut out = String::from("(");
    for (i, (item, p)) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        serialize_bare(item, &mut out);
        serialize_params(p, &mut out);
    }
    out.push(')');
    serialize_params(params, &mut out);
    out
}

// ---- Signatures ----

/// What a signature can cover of a request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `POST`.
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The query without `?`, if any.
    pub query: Option<&'a str>,
    /// `http` or `https` as the server sees it.
    pub scheme: &'a str,
    /// The request's headers.
    pub headers: &'a axum::http::HeaderMap,
}

fn component_value(req: &Request<'_>, name: &str) -> Result<String, HttpSigError> {
    Ok(match name {
        "@method" => req.method.to_ascii_uppercase(),
        "@path" => {
            if req.path.is_empty() {
                "/".into()
            } else {
                req.path.into()
            }
        }
        "@query" => format!("?{}", req.query.unwrap_or("")),
        "@scheme" => req.scheme.to_ascii_lowercase(),
        "@authority" => req
            .headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| HttpSigError::Component("@authority (no Host header)".into()))?,
        n if n.starts_with('@') => {
            return Err(HttpSigError::Component(format!(
                "{n} (Airlock supports @method, @path, @query, @scheme, @authority and header fields)"
            )));
        }
        field => {
            let values: Vec<&str> = req
                .headers
                .get_all(field)
                .iter()
                .map(|v| v.to_str().map(str::trim))
                .collect::<Result<_, _>>()
                .map_err(|_| HttpSigError::Component(format!("{field} (not text)")))?;
            if values.is_empty() {
                return Err(HttpSigError::Component(format!("{field} (absent)")));
            }
            values.join(", ")
        }
    })
}

/// The signature base of RFC 9421 §2.5 for `items` and `params`.
pub fn signature_base(
    req: &Request<'_>,
    items: &[(Bare, Params)],
    params: &Params,
) -> Result<String, HttpSigError> {
    let mut base = String::new();
    for (item, p) in items {
        let Bare::String(name) = item else {
            return Err(HttpSigError::Malformed(
                "signature-input",
                "covered components are strings".into(),
            ));
        };
        if !p.is_empty() {
            return Err(HttpSigError::Component(format!(
                "\"{name}\" with parameters (not supported)"
            )));
        }
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(HttpSigError::Malformed(
                "signature-input",
                "component names are lowercase".into(),
            ));
        }
        base.push_str(&format!("\"{name}\": {}\n", component_value(req, name)?));
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&serialize_inner(items, params));
    Ok(base)
}

fn param<'p>(params: &'p Params, name: &str) -> Option<&'p Bare> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// One signature of the request, parsed and checked for form, time and coverage.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Its label in the dictionaries.
    pub label: String,
    /// The key it names.
    pub key_id: String,
    /// The algorithm it names, if any.
    pub alg: Option<Alg>,
    /// The bytes that were signed.
    pub base: String,
    /// The signature.
    pub signature: Vec<u8>,
    /// The components it covers.
    pub covered: Vec<String>,
}

impl Candidate {
    /// Whether it covers `component`.
    pub fn covers(&self, component: &str) -> bool {
        self.covered.iter().any(|c| c == component)
    }
}

/// Signatures a request may carry. Each one that names a key costs an RSA
/// verification, which an unauthenticated sender must not be able to multiply: a
/// request with more labels is refused before any is read, and only the first
/// signature naming one of the connector's keys is verified (see [`verify`]).
pub const MAX_SIGNATURES: usize = 4;

/// Reads the request's signatures and keeps those that cover what Airlock needs,
/// are in their time window, and name a key. Errors come from the first
/// unacceptable one when none is acceptable.
pub fn candidates(req: &Request<'_>, now_secs: i64) -> Result<Vec<Candidate>, HttpSigError> {
    let text = |name: &'static str| {
        req.headers
            .get(name)
            .ok_or(HttpSigError::Missing(name))?
            .to_str()
            .map_err(|_| HttpSigError::Malformed(name, "not text".into()))
    };
    let inputs = parse_dictionary(text("signature-input")?)
        .map_err(|e| HttpSigError::Malformed("signature-input", e))?;
    if inputs.len() > MAX_SIGNATURES {
        return Err(HttpSigError::Malformed(
            "signature-input",
            format!(
                "{} signatures; at most {MAX_SIGNATURES} are accepted",
                inputs.len()
            ),
        ));
    }
    let signatures = parse_dictionary(text("signature")?)
        .map_err(|e| HttpSigError::Malformed("signature", e))?;
    let mut found = Vec::new();
    let mut first_error = None;
    for (label, member) in inputs {
        let checked = (|| {
            let Member::Inner(items, params) = member else {
                return Err(HttpSigError::Malformed(
                    "signature-input",
                    format!("`{label}` is not an inner list"),
                ));
            };
            let Some((_, Member::Item(Bare::Bytes(signature), _))) =
                signatures.iter().find(|(k, _)| *k == label)
            else {
                return Err(HttpSigError::Malformed(
                    "signature",
                    format!("no byte sequence labelled `{label}`"),
                ));
            };
            for needed in REQUIRED {
                if !items.iter().any(|(i, _)| *i == Bare::String(needed.into())) {
                    return Err(HttpSigError::NotCovered(needed));
                }
            }
            let Some(Bare::Integer(created)) = param(&params, "created") else {
                return Err(HttpSigError::Malformed(
                    "signature-input",
                    "`created` (an integer, unix seconds) is required".into(),
                ));
            };
            if (now_secs - created).abs() > TOLERANCE_SECS {
                return Err(HttpSigError::Stale);
            }
            if let Some(expires) = param(&params, "expires") {
                match expires {
                    Bare::Integer(e) if *e >= now_secs => {}
                    Bare::Integer(_) => return Err(HttpSigError::Stale),
                    _ => {
                        return Err(HttpSigError::Malformed(
                            "signature-input",
                            "`expires` is an integer".into(),
                        ));
                    }
                }
            }
            let Some(Bare::String(key_id)) = param(&params, "keyid") else {
                return Err(HttpSigError::Malformed(
                    "signature-input",
                    "`keyid` (a string) is required".into(),
                ));
            };
            let alg = match param(&params, "alg") {
                None => None,
                Some(Bare::String(a)) => {
                    Some(Alg::from_name(a).ok_or_else(|| HttpSigError::UnsupportedAlg(a.clone()))?)
                }
                Some(_) => {
                    return Err(HttpSigError::Malformed(
                        "signature-input",
                        "`alg` is a string".into(),
                    ));
                }
            };
            let covered = items
                .iter()
                .filter_map(|(i, _)| match i {
                    Bare::String(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            Ok(Candidate {
                covered,
                key_id: key_id.clone(),
                alg,
                base: signature_base(req, &items, &params)?,
                signature: signature.clone(),
                label: label.clone(),
            })
        })();
        match checked {
            Ok(c) => found.push(c),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match (found.is_empty(), first_error) {
        (false, _) => Ok(found),
        (true, Some(e)) => Err(e),
        (true, None) => Err(HttpSigError::Malformed(
            "signature-input",
            "no signature".into(),
        )),
    }
}

/// Whether `signature` over `base` verifies under `key` with `alg` (both
/// algorithms when `None`).
pub fn verify_with(key: &RsaPublicKey, alg: Option<Alg>, base: &[u8], signature: &[u8]) -> bool {
    let pss = || {
        let Ok(sig) = rsa::pss::Signature::try_from(signature) else {
            return false;
        };
        rsa::pss::VerifyingKey::<Sha512>::new(key.clone())
            .verify(base, &sig)
            .is_ok()
    };
    let v15 = || {
        let Ok(sig) = rsa::pkcs1v15::Signature::try_from(signature) else {
            return false;
        };
        rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key.clone())
            .verify(base, &sig)
            .is_ok()
    };
    match alg {
        Some(Alg::RsaPssSha512) => pss(),
        Some(Alg::RsaV15Sha256) => v15(),
        None => pss() || v15(),
    }
}

/// Verifies the request's signatures against `keys` (key id, key): the first
/// acceptable signature that names one of them is verified — with its `alg`, or
/// each of the two algorithms when it names none — and accepted or refused; no
/// other signature is tried. So one request costs at most two RSA verifications,
/// however many labels or keys it names (a sender signs once, with one key).
pub fn verify(
    req: &Request<'_>,
    keys: &[(&str, &RsaPublicKey)],
    now_secs: i64,
) -> Result<Candidate, HttpSigError> {
    verify_candidates(candidates(req, now_secs)?, keys)
}

/// [`verify`] over signatures already read by [`candidates`]: the part that
/// needs the connector's keys (and RSA time), separate from the part that reads
/// only the request.
pub fn verify_candidates(
    candidates: Vec<Candidate>,
    keys: &[(&str, &RsaPublicKey)],
) -> Result<Candidate, HttpSigError> {
    for c in candidates {
        let named = keys.iter().find(|(id, _)| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                id.as_bytes(),
                c.key_id.as_bytes(),
            ))
        });
        if let Some((_, key)) = named {
            return if verify_with(key, c.alg, c.base.as_bytes(), &c.signature) {
                Ok(c)
            } else {
                Err(HttpSigError::BadSignature)
            };
        }
    }
    Err(HttpSigError::UnknownKey)
}

/// Checks `body` against a `Content-Digest` value: at least one of `sha-256` and
/// `sha-512` present, and every one present matching (others are ignored).
pub fn check_content_digest(value: &str, body: &[u8]) -> Result<(), HttpSigError> {
    let members =
        parse_dictionary(value).map_err(|e| HttpSigError::Malformed("content-digest", e))?;
    let mut checked = 0;
    for (alg, member) in members {
        let Member::Item(Bare::Bytes(digest), _) = member else {
            continue;
        };
        let actual: Vec<u8> = match alg.as_str() {
            "sha-256" => Sha256::digest(body).to_vec(),
            "sha-512" => Sha512::digest(body).to_vec(),
            _ => continue,
        };
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            actual.as_slice(),
            digest.as_slice(),
        )) {
            return Err(HttpSigError::DigestMismatch);
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(HttpSigError::Malformed(
            "content-digest",
            "give sha-256 or sha-512 of the body".into(),
        ));
    }
    Ok(())
}

/// `Content-Digest` for `body` (SHA-512).
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-512=:{}:", STANDARD.encode(Sha512::digest(body)))
}

/// The headers that sign a request (`Content-Digest`, `Signature-Input`,
/// `Signature`, label `sig1`, and `Idempotency-Key` when given) covering
/// `@method`, `@path`, `content-digest` and the idempotency key.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    key: &rsa::RsaPrivateKey,
    key_id: &str,
    alg: Alg,
    method: &str,
    path: &str,
    body: &[u8],
    created: i64,
    idempotency_key: Option<&str>,
) -> Result<Vec<(&'static str, String)>, HttpSigError> {
    use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
    let digest = content_digest(body);
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        "content-digest",
        digest
            .parse()
            .map_err(|_| HttpSigError::Component("content-digest".into()))?,
    );
    let mut items: Vec<(Bare, Params)> = REQUIRED
        .iter()
        .map(|c| (Bare::String((*c).into()), Vec::new()))
        .collect();
    if let Some(k) = idempotency_key {
        headers.insert(
            "idempotency-key",
            k.parse().map_err(|_| {
                HttpSigError::Component("idempotency-key (not a header value)".into())
            })?,
        );
        items.push((Bare::String("idempotency-key".into()), Vec::new()));
    }
    let params: Params = vec![
        ("created".into(), Bare::Integer(created)),
        ("keyid".into(), Bare::String(key_id.into())),
        ("alg".into(), Bare::String(alg.name().into())),
    ];
    let req = Request {
        method,
        path,
        query: None,
        scheme: "http",
        headers: &headers,
    };
    let base = signature_base(&req, &items, &params)?;
    let mut rng = rsa::rand_core::OsRng;
    let signature = match alg {
        Alg::RsaPssSha512 => rsa::pss::SigningKey::<Sha512>::new(key.clone())
            .sign_with_rng(&mut rng, base.as_bytes())
            .to_vec(),
        Alg::RsaV15Sha256 => rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone())
            .sign_with_rng(&mut rng, base.as_bytes())
            .to_vec(),
    };
    let mut out = vec![
        ("content-digest", digest),
        (
            "signature-input",
            format!("sig1={}", serialize_inner(&items, &params)),
        ),
        (
            "signature",
            format!("sig1=:{}:", STANDARD.encode(signature)),
        ),
    ];
    if let Some(k) = idempotency_key {
        out.push(("idempotency-key", k.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn dictionaries_round_trip_inner_lists() {
        let d = parse_dictionary(
            r#"sig1=("@method" "@path" "content-digest");created=1618884473;keyid="test-key-rsa-pss", sig2=:AAE=:"#,
        )
        .unwrap();
        let Member::Inner(items, params) = &d[0].1 else {
            panic!("{d:?}")
        };
        assert_eq!(
            serialize_inner(items, params),
            r#"("@method" "@path" "content-digest");created=1618884473;keyid="test-key-rsa-pss""#
        );
        assert_eq!(d[1].1, Member::Item(Bare::Bytes(vec![0, 1]), vec![]));
        for bad in [
            "sig1=(",
            "sig1=(\"a\"",
            "Sig=1",
            "a=1,",
            "a=\"\\x\"",
            "a=:!!:",
        ] {
            assert!(parse_dictionary(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn content_digest_binds_the_body() {
        let d = content_digest(b"{\"hello\": \"world\"}");
        // RFC 9530 §B.1's SHA-512 example for this body.
        assert_eq!(
            d,
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
        );
        assert!(check_content_digest(&d, b"{\"hello\": \"world\"}").is_ok());
        assert_eq!(
            check_content_digest(&d, b"{\"hello\": \"world!\"}"),
            Err(HttpSigError::DigestMismatch)
        );
        assert!(check_content_digest("md5=:AAAA:", b"").is_err());
        // RFC 9530 §B.1's SHA-256 example.
        assert!(
            check_content_digest(
                "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
                b"{\"hello\": \"world\"}"
            )
            .is_ok()
        );
    }

    /// `verify`, without the accepted signature.
    fn check(
        req: &Request<'_>,
        keys: &[(&str, &RsaPublicKey)],
        now: i64,
    ) -> Result<(), HttpSigError> {
        verify(req, keys, now).map(|_| ())
    }

    /// Requests signed by an independent implementation (Python's
    /// `http-message-signatures`; `scripts/httpsig-vectors.py`) verify, and stop
    /// verifying when anything covered changes.
    #[test]
    fn an_independent_implementations_signatures_verify() {
        let key =
            parse_public_key(include_str!("../../../tests/fixtures/rsa/sender.pub.pem")).unwrap();
        let other =
            parse_public_key(include_str!("../../../tests/fixtures/rsa/rotated.pub.pem")).unwrap();
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/rsa/vectors.json")).unwrap();
        let vectors = vectors.as_array().unwrap();
        assert_eq!(vectors.len(), 4);
        for v in vectors {
            let name = v["name"].as_str().unwrap();
            let mut headers = axum::http::HeaderMap::new();
            for (k, val) in v["headers"].as_object().unwrap() {
                headers.insert(
                    axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    val.as_str().unwrap().parse().unwrap(),
                );
            }
            let path = v["path"].as_str().unwrap();
            let now = v["created"].as_i64().unwrap();
            let req = |method, path, headers| Request {
                method,
                path,
                query: None,
                scheme: "http",
                headers,
            };
            let keys = [("key_vectors", &key)];
            assert_eq!(
                check(&req("POST", path, &headers), &keys, now + 10),
                Ok(()),
                "{name}"
            );
            let body = v["body"].as_str().unwrap().as_bytes();
            let digest = headers["content-digest"].to_str().unwrap();
            assert_eq!(check_content_digest(digest, body), Ok(()), "{name}");
            assert_eq!(
                check_content_digest(digest, b"tampered"),
                Err(HttpSigError::DigestMismatch),
                "{name}"
            );
            // Another method or path, another key, another key id, too late.
            assert_eq!(
                check(&req("PUT", path, &headers), &keys, now),
                Err(HttpSigError::BadSignature),
                "{name}"
            );
            assert_eq!(
                check(
                    &req("POST", "/api/events/ingest/t/other", &headers),
                    &keys,
                    now
                ),
                Err(HttpSigError::BadSignature),
                "{name}"
            );
            assert_eq!(
                check(
                    &req("POST", path, &headers),
                    &[("key_vectors", &other)],
                    now
                ),
                Err(HttpSigError::BadSignature),
                "{name}"
            );
            assert_eq!(
                check(&req("POST", path, &headers), &[("key_other", &key)], now),
                Err(HttpSigError::UnknownKey),
                "{name}"
            );
            assert_eq!(
                check(
                    &req("POST", path, &headers),
                    &keys,
                    now + TOLERANCE_SECS + 1
                ),
                Err(HttpSigError::Stale),
                "{name}"
            );
            let mut swapped = headers.clone();
            swapped.insert("content-digest", content_digest(b"other").parse().unwrap());
            assert_eq!(
                check(&req("POST", path, &swapped), &keys, now),
                Err(HttpSigError::BadSignature),
                "{name}"
            );
        }
    }

    #[test]
    fn signatures_must_cover_method_path_and_digest_and_name_a_key() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("content-digest", content_digest(b"x").parse().unwrap());
        let req = Request {
            method: "POST",
            path: "/p",
            query: None,
            scheme: "http",
            headers: &headers,
        };
        let check = |input: &str| {
            let mut h = headers.clone();
            h.insert("signature-input", input.parse().unwrap());
            h.insert("signature", "sig1=:AAAA:".parse().unwrap());
            candidates(&Request { headers: &h, ..req }, 100).map(|_| ())
        };
        assert_eq!(
            check(r#"sig1=("@method" "@path");created=100;keyid="k""#),
            Err(HttpSigError::NotCovered("content-digest"))
        );
        assert!(matches!(
            check(r#"sig1=("@method" "@path" "content-digest");keyid="k""#),
            Err(HttpSigError::Malformed(..))
        ));
        assert!(matches!(
            check(r#"sig1=("@method" "@path" "content-digest");created=100"#),
            Err(HttpSigError::Malformed(..))
        ));
        assert_eq!(
            check(
                r#"sig1=("@method" "@path" "content-digest");created=100;keyid="k";alg="hmac-sha256""#
            ),
            Err(HttpSigError::UnsupportedAlg("hmac-sha256".into()))
        );
        assert_eq!(
            check(r#"sig1=("@method" "@path" "content-digest");created=100;expires=99;keyid="k""#),
            Err(HttpSigError::Stale)
        );
        assert!(matches!(
            check(
                r#"sig1=("@method" "@path" "content-digest" "@target-uri");created=100;keyid="k""#
            ),
            Err(HttpSigError::Component(_))
        ));
        assert!(matches!(
            check(r#"sig1=("@method" "@path" "content-digest" "x-absent");created=100;keyid="k""#),
            Err(HttpSigError::Component(_))
        ));
        assert_eq!(
            check(r#"sig1=("@method" "@path" "content-digest");created=100;keyid="k""#),
            Ok(())
        );
    }

    #[test]
    fn many_labels_are_refused_unread_and_only_the_first_named_signature_is_verified() {
        use rsa::pkcs8::DecodePrivateKey as _;
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(include_str!(
            "../../../tests/fixtures/rsa/sender.pem"
        ))
        .unwrap();
        let public = key.to_public_key();
        let body = b"{}";
        let signed = sign(
            &key,
            "key_a",
            Alg::RsaPssSha512,
            "POST",
            "/p",
            body,
            100,
            None,
        )
        .unwrap();
        let mut headers = axum::http::HeaderMap::new();
        for (n, v) in &signed {
            headers.insert(*n, v.parse().unwrap());
        }
        let req = |h: &axum::http::HeaderMap| {
            let r = Request {
                method: "POST",
                path: "/p",
                query: None,
                scheme: "http",
                headers: h,
            };
            verify(&r, &[("key_a", &public)], 100)
        };
        assert!(req(&headers).is_ok());
        let input = headers["signature-input"].to_str().unwrap().to_string();
        let sig = headers["signature"].to_str().unwrap().to_string();
        let params = input.strip_prefix("sig1=").unwrap();
        // The attack: a thousand labels naming the (public) key id, each an RSA
        // verification before: refused by their number, none verified.
        let mut many = headers.clone();
        let labels: Vec<String> = (0..1000).map(|i| format!("s{i}={params}")).collect();
        let sigs: Vec<String> = (0..1000).map(|i| format!("s{i}=:AAAA:")).collect();
        many.insert("signature-input", labels.join(", ").parse().unwrap());
        many.insert("signature", sigs.join(", ").parse().unwrap());
        assert!(matches!(
            req(&many),
            Err(HttpSigError::Malformed("signature-input", _))
        ));
        // A bad signature first, the good one second: only the first is verified.
        let mut two = headers.clone();
        two.insert(
            "signature-input",
            format!("bad={params}, sig1={params}").parse().unwrap(),
        );
        two.insert("signature", format!("bad=:AAAA:, {sig}").parse().unwrap());
        assert_eq!(req(&two).unwrap_err(), HttpSigError::BadSignature);
        // A first label naming an unknown key is skipped for the one that names ours.
        let mut other = headers.clone();
        let other_params = params.replace("key_a", "key_zz");
        other.insert(
            "signature-input",
            format!("x={other_params}, sig1={params}").parse().unwrap(),
        );
        other.insert("signature", format!("x=:AAAA:, {sig}").parse().unwrap());
        assert!(req(&other).is_ok());
    }

    #[test]
    fn keys_over_4096_bits_load_and_verify() {
        use rsa::pkcs8::DecodePrivateKey as _;
        let public = parse_public_key(include_str!("../../../tests/fixtures/rsa/large.pub.pem"))
            .expect("a 6144-bit key is within 2048..=8192");
        assert_eq!(public.n().bits(), 6144);
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(include_str!(
            "../../../tests/fixtures/rsa/large.pem"
        ))
        .unwrap();
        let signed = sign(&key, "k", Alg::RsaV15Sha256, "POST", "/p", b"{}", 100, None).unwrap();
        let mut headers = axum::http::HeaderMap::new();
        for (n, v) in &signed {
            headers.insert(*n, v.parse().unwrap());
        }
        let req = Request {
            method: "POST",
            path: "/p",
            query: None,
            scheme: "http",
            headers: &headers,
        };
        assert!(verify(&req, &[("k", &public)], 100).is_ok());
    }

    #[test]
    fn keys_under_2048_bits_are_refused() {
        let weak = parse_public_key(include_str!("../../../tests/fixtures/rsa/weak.pub.pem"));
        assert!(weak.unwrap_err().contains("1024-bit"));
        assert!(
            parse_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").is_err()
        );
    }
}
