//! What a GraphQL document may ask for, judged before it is validated or run.
//!
//! Threats: a small document can ask for an enormous answer — a thousand aliases
//! of one expensive field, or fragments that spread each other twice per level
//! (`f1 { ...f2 ...f2 } f2 { ...f3 ...f3 } …`: 2^n fields from n lines) — or
//! nest deep enough to exhaust the parser's stack. async-graphql's own depth and
//! complexity limits run during validation; these checks come first, are linear
//! in the document's size, and refuse:
//! - a document longer than [`DocumentLimits::max_bytes`];
//! - brackets nested deeper than [`DocumentLimits::max_nesting`], counted before
//!   parsing and everywhere, strings and comments included (`nesting`);
//! - more than [`DocumentLimits::max_aliases`] aliases;
//! - more than [`DocumentLimits::max_fields`] fields once every fragment spread is
//!   expanded (counted with memoisation, so the count itself costs linear time),
//!   and fragments that spread themselves.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// The bounds [`check_document`] applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentLimits {
    /// The document's length, bytes (default 32 KiB).
    pub max_bytes: usize,
    /// Bracket nesting (`{`, `(`, `[`), default 40.
    pub max_nesting: usize,
    /// Aliased fields (default 50).
    pub max_aliases: usize,
    /// Fields with every fragment expanded (default 2 000).
    pub max_fields: u64,
}

impl Default for DocumentLimits {
    fn default() -> Self {
        DocumentLimits {
            max_bytes: 32 * 1024,
            max_nesting: 40,
            max_aliases: 50,
            max_fields: 2_000,
        }
    }
}

/// Refuses a document over `limits`, saying which bound in a sentence. A document
/// that does not parse passes, for the executor to report its syntax error.
pub fn check_document(query: &str, limits: &DocumentLimits) -> Result<(), String> {
    if query.len() > limits.max_bytes {
        return Err(format!(
            "the query is {} bytes long; at most {} are accepted",
            query.len(),
            limits.max_bytes
        ));
    }
    if nesting(query) > limits.max_nesting {
        return Err(format!(
            "the query nests brackets deeper than {} levels",
            limits.max_nesting
        ));
    }
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return Ok(());
    };
    let mut count = Count::new(&doc);
    for (_, op) in doc.operations.iter() {
        count.fields(&op.node.selection_set.node, 0)?;
    }
    for f in doc.fragments.values() {
        count.fields(&f.node.selection_set.node, 0)?;
    }
    if count.aliases > limits.max_aliases {
        return Err(format!(
            "the query has {} aliases; at most {} are accepted",
            count.aliases, limits.max_aliases
        ));
    }
    let mut expanded: u64 = 0;
    for (_, op) in doc.operations.iter() {
        expanded = expanded.saturating_add(count.expanded(&op.node.selection_set.node, 0)?);
    }
    if expanded > limits.max_fields {
        return Err(format!(
            "the query selects {expanded} fields once its fragments are expanded; at most {} \
             are accepted",
            limits.max_fields
        ));
    }
    Ok(())
}

/// The deepest bracket nesting, counting every bracket — inside strings and
/// comments too. Skipping those would need the parser's own reading of them (a
/// comment ends at `\n` or `\r`, a block string's only escape is `\"""`), and a
/// scanner that misreads one would let unbounded nesting reach the parser's
/// recursion: counting everything can only over-count, so it fails safe. A string
/// argument with dozens of brackets belongs in a variable.
fn nesting(query: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for b in query.bytes() {
        match b {
            b'{' | b'(' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Counts over one parsed document, fragments memoised by name.
struct Count<'a> {
    doc: &'a ExecutableDocument,
    aliases: usize,
    /// A fragment's expanded field count; `None` while it is being counted (so a
    /// spread of it then is a cycle).
    memo: HashMap<&'a str, Option<u64>>,
}

/// How deep the walk goes at most (the parser allows 64 levels of selections).
const MAX_WALK: usize = 128;

impl<'a> Count<'a> {
    fn new(doc: &'a ExecutableDocument) -> Self {
        Count {
            doc,
            aliases: 0,
            memo: HashMap::new(),
        }
    }

    /// Counts the aliases of `set` (fragments' own sets are walked once each by the
    /// caller, not per spread).
    fn fields(&mut self, set: &'a SelectionSet, level: usize) -> Result<(), String> {
        if level > MAX_WALK {
            return Err("the query nests selections too deeply".into());
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    if f.node.alias.is_some() {
                        self.aliases += 1;
                    }
                    self.fields(&f.node.selection_set.node, level + 1)?;
                }
                Selection::InlineFragment(i) => {
                    self.fields(&i.node.selection_set.node, level + 1)?
                }
                Selection::FragmentSpread(_) => {}
            }
        }
        Ok(())
    }

    /// The fields of `set` with every spread expanded.
    fn expanded(&mut self, set: &'a SelectionSet, level: usize) -> Result<u64, String> {
        if level > MAX_WALK {
            return Err("the query nests selections too deeply".into());
        }
        let mut n: u64 = 0;
        for item in &set.items {
            let more = match &item.node {
                Selection::Field(f) => {
                    1u64.saturating_add(self.expanded(&f.node.selection_set.node, level + 1)?)
                }
                Selection::InlineFragment(i) => {
                    self.expanded(&i.node.selection_set.node, level + 1)?
                }
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    match self.memo.get(name) {
                        Some(Some(n)) => *n,
                        Some(None) => {
                            return Err(format!("the fragment `{name}` spreads itself"));
                        }
                        None => match self.doc.fragments.get(name) {
                            // An unknown fragment is the validator's to report.
                            None => 0,
                            Some(f) => {
                                self.memo.insert(name, None);
                                let n = self.expanded(&f.node.selection_set.node, level + 1)?;
                                self.memo.insert(name, Some(n));
                                n
                            }
                        },
                    }
                }
            };
            n = n.saturating_add(more);
        }
        Ok(n)
    }
}

/// Runs [`check_document`] on every request, over HTTP and WebSocket alike,
/// before it is parsed for execution: a refusal has code `query_too_complex`.
pub struct DocumentCheck;

impl async_graphql::extensions::ExtensionFactory for DocumentCheck {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(DocumentCheck)
    }
}

#[async_trait::async_trait]
impl async_graphql::extensions::Extension for DocumentCheck {
    async fn prepare_request(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        request: async_graphql::Request,
        next: async_graphql::extensions::NextPrepareRequest<'_>,
    ) -> async_graphql::ServerResult<async_graphql::Request> {
        let refusal = |e: crate::api::ApiError| {
            let mut e = e
                .into_graphql()
                .into_server_error(async_graphql::Pos::default());
            e.locations.clear();
            e
        };
        if let Err(message) = check_document(&request.query, &DocumentLimits::default()) {
            return Err(refusal(crate::api::ApiError::bad_request(
                "query_too_complex",
                &message,
            )));
        }
        // REST's rules for a JSON body hold whatever carried the request (a
        // multipart form, a WebSocket message): at most MAX_JSON_BODY of
        // variables, and no NUL in any text.
        let variables = serde_json::to_vec(&request.variables).unwrap_or_default();
        if variables.len() > crate::api::MAX_JSON_BODY {
            return Err(refusal(crate::api::error::too_large()));
        }
        if crate::api::has_nul_escape(request.query.as_bytes())
            || request.query.contains('\0')
            || crate::api::has_nul_escape(&variables)
        {
            return Err(refusal(crate::api::nul_refused()));
        }
        next.run(ctx, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(q: &str) -> Result<(), String> {
        check_document(q, &DocumentLimits::default())
    }

    #[test]
    fn an_ordinary_query_passes() {
        check("{ connectors(first: 50) { edges { node { id versions { version } } } } }").unwrap();
        check("query { a: registrySummary { total } b: registrySummary { total } }").unwrap();
    }

    #[test]
    fn fragments_that_double_per_level_are_refused_in_linear_time() {
        let mut q = String::from("{ ...f0 }\n");
        for i in 0..40 {
            q.push_str(&format!(
                "fragment f{i} on Query {{ ...f{} ...f{} }}\n",
                i + 1,
                i + 1
            ));
        }
        q.push_str("fragment f40 on Query { registrySummary { total } }\n");
        let e = check(&q).unwrap_err();
        assert!(e.contains("once its fragments are expanded"), "{e}");
    }

    #[test]
    fn a_fragment_that_spreads_itself_is_refused() {
        let e = check("{ ...a } fragment a on Query { ...b } fragment b on Query { ...a }")
            .unwrap_err();
        assert!(e.contains("spreads itself"), "{e}");
    }

    #[test]
    fn too_many_aliases_are_refused() {
        let q: String = (0..51)
            .map(|i| format!("a{i}: sdkManifest {{ buildTarget }} "))
            .collect();
        let e = check(&format!("{{ {q} }}")).unwrap_err();
        assert!(e.contains("51 aliases"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let q = format!("{}{}", "{a".repeat(5000), "}".repeat(5000));
        let e = check(&q).unwrap_err();
        assert!(e.contains("nests brackets"), "{e}");
        // Brackets hidden in a comment (ended by `\r`, which the parser also
        // ends comments at) or in a block string with a backslash still count.
        for hidden in [
            format!("{{ a }} #\r{}{}", "{a".repeat(5000), "}".repeat(5000)),
            format!(
                "{{ a(s: \"\"\"\\\"\"\" \"\"\") {}{} }}",
                "{a".repeat(5000),
                "}".repeat(5000)
            ),
        ] {
            assert!(check(&hidden).unwrap_err().contains("nests brackets"));
        }
    }

    #[test]
    fn a_long_document_is_refused() {
        let q = format!("{{ registrySummary {{ total }} }} #{}", "x".repeat(40_000));
        assert!(check(&q).unwrap_err().contains("bytes long"));
    }
}
