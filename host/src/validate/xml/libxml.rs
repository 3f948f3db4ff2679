//! libxml2 — the parser and schema validator behind `xmllint` and most CAP and NIEM
//! validators — parses a document once, applies an official XSD to it (CAP 1.2, or
//! the NIEM 6 core subset with its imports), and hands a [`Tree`] borrowed from its
//! document to the semantic rules. One parse, in C, is what keeps CAP validation
//! faster than `xmllint` itself while adding those rules.
//!
//! This is the one place in `validate` that calls C, so it is the one place that
//! allows `unsafe`. What keeps it sound:
//!
//! * **Only text that cannot carry a DTD.** The caller refuses any `<!DOCTYPE`
//!   before calling [`parse`]; libxml2 parses with `XML_PARSE_NONET` and without
//!   `NOENT`/`DTDLOAD`, and a document that still ended up with a DTD is refused
//!   here too.
//! * **Nothing loaded from outside.** The process-wide external entity loader is
//!   replaced, once, by [`embedded_only`]: it serves the embedded schema files a
//!   schema imports (by file name) and refuses every other URL, so neither a
//!   schema nor a document can make libxml2 open a file or a socket. The encoding is forced to UTF-8 (the caller decoded the bytes), so a
//!   declaration cannot switch it.
//! * **Nothing global but the one-time init.** `xmlInitParser` runs once (libxml2
//!   asks for that before threads use it). Each thread compiles its own copy of the
//!   schema on first use and keeps it (about a millisecond, once); parser and
//!   validation contexts and documents are per call and freed on every path by
//!   [`Owned`] guards. Errors reach us through the per-context structured handler
//!   or the parser context's last error, never through libxml2's process-wide
//!   error channel.
//! * **The callback cannot unwind.** It only copies strings into a `Vec` owned by
//!   the caller's stack frame, capped at [`MAX_ERRORS`].
//! * **Struct layouts read:** `xmlError`, `xmlNs` and the leading fields of
//!   `xmlNode`, unchanged since libxml2 2.6 (and kept in 2.13+ for ABI stability).

#![allow(unsafe_code)]

use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::{CStr, c_char, c_int, c_ushort, c_void};
use std::ptr;
use std::sync::Once;

/// The CAP 1.2 schema, byte for byte as OASIS publishes it (`host/standards/cap1.2`).
const CAP_XSD: &str = concat!(include_str!("../../../standards/cap1.2/CAP-v1.2.xsd"), "\0");

/// The NIEM 6 core schema and the files it imports (`host/standards/niem6.0`), by
/// the file name their `schemaLocation`s end in. NUL-terminated for libxml2.
const NIEM_CORE_XSD: &str = concat!(
    include_str!("../../../standards/niem6.0/xsd/niem-core.xsd"),
    "\0"
);
const NIEM_IMPORTS: &[(&str, &str)] = &[
    (
        "xml.xsd",
        concat!(
            include_str!("../../../standards/niem6.0/xsd/external/xml.xsd"),
            "\0"
        ),
    ),
    (
        "niem-xs.xsd",
        concat!(
            include_str!("../../../standards/niem6.0/xsd/adapters/niem-xs.xsd"),
            "\0"
        ),
    ),
    (
        "structures.xsd",
        concat!(
            include_str!("../../../standards/niem6.0/xsd/utility/structures.xsd"),
            "\0"
        ),
    ),
    (
        "code-lists-instance.xsd",
        concat!(
            include_str!("../../../standards/niem6.0/xsd/utility/code-lists-instance.xsd"),
            "\0"
        ),
    ),
];

/// The NIEM core schema's text (without its terminating NUL), for the JSON-LD
/// checks that need its declared names.
pub(crate) fn niem_core_xsd() -> &'static str {
    NIEM_CORE_XSD.trim_end_matches('\0')
}

/// A schema Airlock validates documents against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Schema {
    /// OASIS CAP 1.2.
    Cap12,
    /// NIEM 6.0 `niem-core.xsd`.
    Niem6,
}

impl Schema {
    #[cfg(test)]
    const ALL: [Schema; 2] = [Schema::Cap12, Schema::Niem6];

    fn index(self) -> usize {
        match self {
            Schema::Cap12 => 0,
            Schema::Niem6 => 1,
        }
    }

    fn source(self) -> &'static str {
        match self {
            Schema::Cap12 => CAP_XSD,
            Schema::Niem6 => NIEM_CORE_XSD,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Schema::Cap12 => "CAP 1.2",
            Schema::Niem6 => "NIEM 6 core",
        }
    }

    /// Namespaces written `{uri}` in libxml2's messages, and what to show instead.
    fn prefixes(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Schema::Cap12 => &[("{urn:oasis:names:tc:emergency:cap:1.2}", "")],
            Schema::Niem6 => &[
                (
                    "{https://docs.oasis-open.org/niemopen/ns/model/niem-core/6.0/}",
                    "nc:",
                ),
                (
                    "{https://docs.oasis-open.org/niemopen/ns/model/structures/6.0/}",
                    "structures:",
                ),
                (
                    "{https://docs.oasis-open.org/niemopen/ns/model/adapters/niem-xs/6.0/}",
                    "niem-xs:",
                ),
            ],
        }
    }
}

/// Schema findings kept per document; a document breaking more rules than this is
/// described well enough by the first ones.
pub(crate) const MAX_ERRORS: usize = 100;

/// Elements kept in a [`Tree`]; far above any real alert (a 0.9 MB one with a
/// 20 000-point polygon has a few hundred), low enough to bound memory.
pub(crate) const MAX_ELEMENTS: usize = 100_000;

/// One XSD violation: where (an XPath-like path) and libxml2's sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaError {
    pub path: String,
    pub message: String,
}

/// Why there is no tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Not well-formed: libxml2's sentence with line and column.
    NotWellFormed(String),
    /// A DTD got through (the caller's check should have stopped it).
    Dtd,
    /// libxml2 itself failed (allocation, the embedded schema); says which.
    Internal(String),
}

/// An attribute of an element.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attribute<'d> {
    pub name: &'d str,
    pub namespace: Option<&'d str>,
    pub value: Cow<'d, str>,
}

/// An element of the parsed document, as the semantic rules need it; its strings
/// are borrowed from libxml2's document, which outlives the tree.
#[derive(Debug, Clone, Default)]
pub(crate) struct Element<'d> {
    pub name: &'d str,
    pub namespace: Option<&'d str>,
    pub attributes: Vec<Attribute<'d>>,
    /// The element's own text and CDATA children, joined (not its descendants').
    pub text: Cow<'d, str>,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    /// Its position among its parent's children of the same name (0-based), and
    /// how many there are: `name[nth + 1]` in paths when `same > 1`.
    pub nth: usize,
    pub same: usize,
}

/// The document's elements; `elements[0]` is the root.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tree<'d> {
    pub elements: Vec<Element<'d>>,
}

const XML_PARSE_NOERROR: c_int = 1 << 5;
const XML_PARSE_NOWARNING: c_int = 1 << 6;
const XML_PARSE_NONET: c_int = 1 << 11;
/// Short text is stored inside its node: fewer allocations, same tree.
const XML_PARSE_COMPACT: c_int = 1 << 16;
const XML_ELEMENT_NODE: c_int = 1;
const XML_ATTRIBUTE_NODE: c_int = 2;
const XML_TEXT_NODE: c_int = 3;
const XML_CDATA_SECTION_NODE: c_int = 4;

/// `struct _xmlError` (xmlerror.h).
#[repr(C)]
struct XmlError {
    domain: c_int,
    code: c_int,
    message: *const c_char,
    level: c_int,
    file: *const c_char,
    line: c_int,
    str1: *const c_char,
    str2: *const c_char,
    str3: *const c_char,
    int1: c_int,
    int2: c_int,
    ctxt: *mut c_void,
    node: *mut c_void,
}

/// `struct _xmlNs` (tree.h).
#[repr(C)]
struct XmlNs {
    next: *mut XmlNs,
    kind: c_int,
    href: *const c_char,
    prefix: *const c_char,
}

/// `struct _xmlNode` (tree.h) up to `content`; `xmlAttr` shares the fields up to
/// `prev`, and only those are read from an attribute.
#[repr(C)]
struct XmlNode {
    private: *mut c_void,
    kind: c_int,
    name: *const c_char,
    children: *mut XmlNode,
    last: *mut XmlNode,
    parent: *mut XmlNode,
    next: *mut XmlNode,
    prev: *mut XmlNode,
    doc: *mut c_void,
    ns: *mut XmlNs,
    content: *const c_char,
    properties: *mut c_void,
    ns_def: *mut c_void,
    psvi: *mut c_void,
    line: c_ushort,
    extra: c_ushort,
}

/// The fields `xmlNode` and `xmlAttr` share (tree.h): what [`node_path`] reads of
/// the node an error names, which may be either.
#[repr(C)]
struct NodeHead {
    private: *mut c_void,
    kind: c_int,
    name: *const c_char,
    children: *mut c_void,
    last: *mut c_void,
    parent: *const NodeHead,
    next: *const NodeHead,
    prev: *const NodeHead,
}

/// `struct _xmlAttr` (tree.h) up to `ns`.
#[repr(C)]
struct XmlAttr {
    private: *mut c_void,
    kind: c_int,
    name: *const c_char,
    children: *mut XmlNode,
    last: *mut XmlNode,
    parent: *mut XmlNode,
    next: *mut XmlAttr,
    prev: *mut XmlAttr,
    doc: *mut c_void,
    ns: *mut XmlNs,
}

type StructuredErrorFn = unsafe extern "C" fn(user: *mut c_void, error: *mut XmlError);
type EntityLoaderFn =
    unsafe extern "C" fn(url: *const c_char, id: *const c_char, ctxt: *mut c_void) -> *mut c_void;

#[link(name = "xml2")]
unsafe extern "C" {
    fn xmlInitParser();
    fn xmlSchemaNewMemParserCtxt(buffer: *const c_char, size: c_int) -> *mut c_void;
    fn xmlSchemaSetParserStructuredErrors(
        ctxt: *mut c_void,
        handler: Option<StructuredErrorFn>,
        user: *mut c_void,
    );
    fn xmlSchemaParse(ctxt: *mut c_void) -> *mut c_void;
    fn xmlSchemaFreeParserCtxt(ctxt: *mut c_void);
    fn xmlSchemaFree(schema: *mut c_void);
    fn xmlSchemaNewValidCtxt(schema: *mut c_void) -> *mut c_void;
    fn xmlSchemaSetValidStructuredErrors(
        ctxt: *mut c_void,
        handler: Option<StructuredErrorFn>,
        user: *mut c_void,
    );
    fn xmlSchemaValidateDoc(ctxt: *mut c_void, doc: *mut c_void) -> c_int;
    fn xmlSchemaFreeValidCtxt(ctxt: *mut c_void);
    fn xmlNewParserCtxt() -> *mut c_void;
    fn xmlFreeParserCtxt(ctxt: *mut c_void);
    fn xmlCtxtReadMemory(
        ctxt: *mut c_void,
        buffer: *const c_char,
        size: c_int,
        url: *const c_char,
        encoding: *const c_char,
        options: c_int,
    ) -> *mut c_void;
    fn xmlCtxtGetLastError(ctxt: *mut c_void) -> *mut XmlError;
    fn xmlFreeDoc(doc: *mut c_void);
    fn xmlDocGetRootElement(doc: *mut c_void) -> *mut XmlNode;
    fn xmlGetIntSubset(doc: *mut c_void) -> *mut c_void;
    fn xmlSetExternalEntityLoader(loader: Option<EntityLoaderFn>);
    fn xmlNewStringInputStream(ctxt: *mut c_void, buffer: *const c_char) -> *mut c_void;
}

/// Frees what libxml2 allocated when the guard goes out of scope.
struct Owned(*mut c_void, unsafe extern "C" fn(*mut c_void));

impl Drop for Owned {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from the matching libxml2 constructor and is
            // freed exactly once, here.
            unsafe { (self.1)(self.0) }
        }
    }
}

thread_local! {
    /// This thread's compiled schemas (by [`Schema::index`]), each made on first use.
    static SCHEMAS: RefCell<[Option<Owned>; 2]> = const { RefCell::new([None, None]) };
}

fn init() {
    static INIT: Once = Once::new();
    // SAFETY: libxml2's documented one-time initialisation and its loader hook, run
    // once per process before any parse.
    INIT.call_once(|| unsafe {
        xmlInitParser();
        xmlSetExternalEntityLoader(Some(embedded_only));
    });
}

/// libxml2's external entity loader: the embedded file a schema imports, matched
/// by file name, or nothing (libxml2 then reports the load as failed).
unsafe extern "C" fn embedded_only(
    url: *const c_char,
    _id: *const c_char,
    ctxt: *mut c_void,
) -> *mut c_void {
    if url.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: libxml2 passes a NUL-terminated URL.
    let url = unsafe { CStr::from_ptr(url) }.to_bytes();
    let name = url.rsplit(|b| *b == b'/').next().unwrap_or(url);
    match NIEM_IMPORTS
        .iter()
        .find(|(file, _)| file.as_bytes() == name)
    {
        // SAFETY: the source is a NUL-terminated static; libxml2 copies it into a
        // new input stream owned by the parser that asked.
        Some((_, source)) => unsafe { xmlNewStringInputStream(ctxt, source.as_ptr().cast()) },
        None => ptr::null_mut(),
    }
}

/// A C string as Rust text (empty for null).
///
/// # Safety
/// `s` is null or a NUL-terminated string alive for the call.
unsafe fn string(s: *const c_char) -> String {
    if s.is_null() {
        String::new()
    } else {
        // SAFETY: per the contract above.
        unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned()
    }
}

/// Where a validation's errors go, and how their namespaces are shown.
struct Sink {
    errors: Vec<SchemaError>,
    prefixes: &'static [(&'static str, &'static str)],
}

/// Collects structured errors into the [`Sink`] behind `user`.
unsafe extern "C" fn collect(user: *mut c_void, error: *mut XmlError) {
    if user.is_null() || error.is_null() {
        return;
    }
    // SAFETY: `user` is the `&mut Sink` registered for exactly the span of the call
    // that reports through it; `error` is valid for this callback.
    let (sink, error) = unsafe { (&mut *(user as *mut Sink), &*error) };
    if sink.errors.len() >= MAX_ERRORS {
        return;
    }
    // SAFETY: libxml2 messages are NUL-terminated C strings or null.
    let mut message = unsafe { string(error.message) };
    if message.is_empty() {
        message = String::from("the document does not follow the schema");
    }
    let mut message = message.trim().to_string();
    for (braced, prefix) in sink.prefixes {
        message = message.replace(braced, prefix);
    }
    // SAFETY: `node` is null or the element/attribute being validated, alive as
    // long as the document.
    let path = unsafe { node_path(error.node as *const NodeHead) };
    sink.errors.push(SchemaError { path, message });
}

/// `/alert/info[2]/area/polygon` for a node: local names, with a 1-based index
/// where the parent has several children of that name. [`Tree::path`] writes the
/// same shape.
///
/// # Safety
/// `node` is null or a live libxml2 element or attribute node.
unsafe fn node_path(node: *const NodeHead) -> String {
    let mut steps = Vec::new();
    let mut cur = node;
    // SAFETY (whole loop): we follow `parent`/`prev`/`next` links of a live tree,
    // reading only the leading fields every node type shares.
    unsafe {
        while !cur.is_null() && steps.len() < 256 {
            let n = &*cur;
            let name = string(n.name);
            match n.kind {
                XML_ATTRIBUTE_NODE => steps.push(format!("@{name}")),
                XML_ELEMENT_NODE => {
                    let same = |p: *const NodeHead| {
                        let o = &*p;
                        o.kind == XML_ELEMENT_NODE
                            && !o.name.is_null()
                            && !n.name.is_null()
                            && CStr::from_ptr(o.name) == CStr::from_ptr(n.name)
                    };
                    let (mut before, mut after) = (0usize, 0usize);
                    let mut p = n.prev;
                    while !p.is_null() {
                        before += usize::from(same(p));
                        p = (*p).prev;
                    }
                    let mut p = n.next;
                    while !p.is_null() {
                        after += usize::from(same(p));
                        p = (*p).next;
                    }
                    steps.push(step(&name, before, after));
                }
                _ => break,
            }
            cur = n.parent;
        }
    }
    steps.reverse();
    format!("/{}", steps.join("/"))
}

/// One path step: `name`, or `name[k]` when siblings share the name.
fn step(name: &str, before: usize, after: usize) -> String {
    if before + after == 0 {
        name.to_string()
    } else {
        format!("{name}[{}]", before + 1)
    }
}

impl<'d> Tree<'d> {
    /// The root element's local name and namespace (`?` for an empty tree).
    pub(crate) fn root(&self) -> (&'d str, Option<&'d str>) {
        self.elements
            .first()
            .map(|root| (root.name, root.namespace))
            .unwrap_or(("?", None))
    }

    /// The path of element `id`, in the shape schema errors use: O(depth).
    pub(crate) fn path(&self, id: usize) -> String {
        let mut steps = Vec::new();
        let mut cur = Some(id);
        while let Some(el) = cur.and_then(|i| self.elements.get(i)) {
            steps.push(step(el.name, el.nth, el.same.saturating_sub(el.nth + 1)));
            cur = el.parent;
        }
        steps.reverse();
        format!("/{}", steps.join("/"))
    }

    /// Maps the element tree under `root`, iteratively (no recursion on input).
    ///
    /// # Safety
    /// `root` is a live element of a document that outlives `'d`.
    unsafe fn map(root: *const XmlNode) -> Result<Tree<'d>, Failure> {
        let mut tree = Tree::default();
        let mut stack: Vec<(*const XmlNode, Option<usize>)> = vec![(root, None)];
        // SAFETY (whole loop): every pointer followed is a link of the live tree;
        // `content` of text and CDATA nodes is a NUL-terminated string.
        unsafe {
            while let Some((node, parent)) = stack.pop() {
                if tree.elements.len() >= MAX_ELEMENTS {
                    return Err(Failure::NotWellFormed(format!(
                        "the document has more than {MAX_ELEMENTS} elements"
                    )));
                }
                let n = &*node;
                let id = tree.elements.len();
                let namespace = if n.ns.is_null() {
                    None
                } else {
                    borrowed((*n.ns).href)
                };
                let mut element = Element {
                    name: borrowed(n.name).unwrap_or("?"),
                    namespace,
                    parent,
                    ..Element::default()
                };
                let mut attr = n.properties as *const XmlAttr;
                while !attr.is_null() {
                    let a = &*attr;
                    let mut value: Cow<'d, str> = Cow::Borrowed("");
                    let mut part = a.children as *const XmlNode;
                    while !part.is_null() {
                        let text = borrowed((*part).content).unwrap_or("");
                        if value.is_empty() {
                            value = Cow::Borrowed(text);
                        } else {
                            value.to_mut().push_str(text);
                        }
                        part = (*part).next;
                    }
                    element.attributes.push(Attribute {
                        name: borrowed(a.name).unwrap_or("?"),
                        namespace: if a.ns.is_null() {
                            None
                        } else {
                            borrowed((*a.ns).href)
                        },
                        value,
                    });
                    attr = a.next;
                }
                let mut child = n.children as *const XmlNode;
                let mut element_children = Vec::new();
                while !child.is_null() {
                    let c = &*child;
                    match c.kind {
                        XML_ELEMENT_NODE => element_children.push(child),
                        XML_TEXT_NODE | XML_CDATA_SECTION_NODE => {
                            let text = borrowed(c.content).unwrap_or("");
                            if element.text.is_empty() {
                                element.text = Cow::Borrowed(text);
                            } else {
                                element.text.to_mut().push_str(text);
                            }
                        }
                        _ => {}
                    }
                    child = c.next;
                }
                tree.elements.push(element);
                if let Some(parent) = parent.and_then(|p| tree.elements.get_mut(p)) {
                    parent.children.push(id);
                }
                // Pushed in reverse so children are numbered in document order.
                for c in element_children.into_iter().rev() {
                    stack.push((c, Some(id)));
                }
            }
        }
        // Depth-first numbering put each element's children in order of visit,
        // which is document order because of the reversed push. Number same-name
        // siblings once, so a path costs its depth (a finding per element of a
        // 100 000-child parent must not cost 10^10 steps).
        let mut counts: std::collections::HashMap<&str, usize> = Default::default();
        for parent in 0..tree.elements.len() {
            counts.clear();
            let children = std::mem::take(&mut tree.elements[parent].children);
            for &c in &children {
                let name = tree.elements[c].name;
                let n = counts.entry(name).or_insert(0);
                tree.elements[c].nth = *n;
                *n += 1;
            }
            for &c in &children {
                tree.elements[c].same = counts.get(tree.elements[c].name).copied().unwrap_or(1);
            }
            tree.elements[parent].children = children;
        }
        if let Some(root) = tree.elements.first_mut() {
            root.same = 1;
        }
        Ok(tree)
    }
}

/// A libxml2 string as `&str` (libxml2 stores UTF-8; anything else is `None`).
///
/// # Safety
/// `s` is null or a NUL-terminated string that outlives `'d`.
unsafe fn borrowed<'d>(s: *const c_char) -> Option<&'d str> {
    if s.is_null() {
        return None;
    }
    // SAFETY: per the contract above.
    unsafe { CStr::from_ptr(s) }.to_str().ok()
}

fn compile_schema(which: Schema) -> Result<Owned, Failure> {
    // The entity loader that serves only embedded files must be in place first.
    init();
    let mut sink = Sink {
        errors: Vec::new(),
        prefixes: which.prefixes(),
    };
    let source = which.source();
    // The source's length without its terminating NUL.
    let len = c_int::try_from(source.len().saturating_sub(1))
        .map_err(|_| Failure::Internal("an embedded schema is too large".into()))?;
    // SAFETY: the buffer is a static; the parser context is freed by its guard, the
    // error sink outlives the parse that reports into it.
    unsafe {
        let pctxt = Owned(
            xmlSchemaNewMemParserCtxt(source.as_ptr().cast(), len),
            xmlSchemaFreeParserCtxt,
        );
        if pctxt.0.is_null() {
            return Err(Failure::Internal(format!(
                "libxml2 could not open the {} schema",
                which.name()
            )));
        }
        xmlSchemaSetParserStructuredErrors(pctxt.0, Some(collect), (&mut sink as *mut Sink).cast());
        let schema = xmlSchemaParse(pctxt.0);
        xmlSchemaSetParserStructuredErrors(pctxt.0, None, ptr::null_mut());
        if schema.is_null() {
            let why = sink
                .errors
                .first()
                .map(|e| e.message.as_str())
                .unwrap_or("unknown");
            return Err(Failure::Internal(format!(
                "libxml2 could not compile the {} schema: {why}",
                which.name()
            )));
        }
        Ok(Owned(schema, xmlSchemaFree))
    }
}

/// Parses `text` (decoded, without a DOCTYPE; `transcoded` when its declaration,
/// if any, may name another encoding than the UTF-8 it now is) and maps its elements into a
/// [`Tree`]; when `schema_for` names a schema for the root (name, namespace), also
/// validates the document against it. `then` gets the tree and the violations
/// (`None` when the schema was not applied) while the document is alive, and its
/// answer is returned.
pub(crate) fn parse<R>(
    text: &str,
    transcoded: bool,
    schema_for: impl Fn(&str, Option<&str>) -> Option<Schema>,
    then: impl for<'d> FnOnce(&Tree<'d>, Option<Vec<SchemaError>>) -> R,
) -> Result<R, Failure> {
    init();
    let size = c_int::try_from(text.len())
        .map_err(|_| Failure::NotWellFormed("the document is larger than 2 GiB".into()))?;
    // SAFETY: every pointer is checked for null and owned by a guard that frees it
    // once; guards drop in reverse order of creation (validation context, document,
    // parser context), so the document outlives its uses. The error sink outlives
    // the call that reports into it, and the handler is cleared before it goes.
    unsafe {
        let pctxt = Owned(xmlNewParserCtxt(), xmlFreeParserCtxt);
        if pctxt.0.is_null() {
            return Err(Failure::Internal(
                "libxml2 could not allocate a parser".into(),
            ));
        }
        let doc = Owned(
            xmlCtxtReadMemory(
                pctxt.0,
                text.as_ptr().cast(),
                size,
                c"alert.xml".as_ptr(),
                // Naming an encoding routes all input through libxml2's converter
                // (a copy and a slower path), so only when the declaration lies.
                if transcoded {
                    c"UTF-8".as_ptr()
                } else {
                    ptr::null()
                },
                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_COMPACT,
            ),
            xmlFreeDoc,
        );
        if doc.0.is_null() {
            let last = xmlCtxtGetLastError(pctxt.0);
            let why = if last.is_null() {
                String::from("libxml2 gave no reason")
            } else {
                let message = string((*last).message);
                format!(
                    "{} (line {}, column {})",
                    message.trim(),
                    (*last).line,
                    (*last).int2
                )
            };
            return Err(Failure::NotWellFormed(why));
        }
        if !xmlGetIntSubset(doc.0).is_null() {
            return Err(Failure::Dtd);
        }
        let root = xmlDocGetRootElement(doc.0);
        if root.is_null() {
            return Err(Failure::NotWellFormed(
                "the document has no root element".into(),
            ));
        }
        // The tree borrows from `doc`, declared before it, so it is dropped first.
        let tree = Tree::map(root)?;
        let Some(top) = tree.elements.first() else {
            return Err(Failure::NotWellFormed(
                "the document has no root element".into(),
            ));
        };
        let Some(which) = schema_for(top.name, top.namespace) else {
            return Ok(then(&tree, None));
        };
        let mut sink = Sink {
            errors: Vec::new(),
            prefixes: which.prefixes(),
        };
        SCHEMAS.with(|cell| -> Result<(), Failure> {
            let mut slots = cell.borrow_mut();
            let slot = slots
                .get_mut(which.index())
                .ok_or_else(|| Failure::Internal("no slot for the schema".into()))?;
            if slot.is_none() {
                *slot = Some(compile_schema(which)?);
            }
            let schema = slot.as_ref().map(|s| s.0).unwrap_or(ptr::null_mut());
            let vctxt = Owned(xmlSchemaNewValidCtxt(schema), xmlSchemaFreeValidCtxt);
            if vctxt.0.is_null() {
                return Err(Failure::Internal(
                    "libxml2 could not allocate a schema validator".into(),
                ));
            }
            xmlSchemaSetValidStructuredErrors(
                vctxt.0,
                Some(collect),
                (&mut sink as *mut Sink).cast(),
            );
            let rc = xmlSchemaValidateDoc(vctxt.0, doc.0);
            xmlSchemaSetValidStructuredErrors(vctxt.0, None, ptr::null_mut());
            if rc < 0 {
                return Err(Failure::Internal(format!(
                    "libxml2's schema validator failed internally ({rc})"
                )));
            }
            if rc > 0 && sink.errors.is_empty() {
                sink.errors.push(SchemaError {
                    path: String::from("/"),
                    message: format!("The document does not follow the {} schema.", which.name()),
                });
            }
            Ok(())
        })?;
        Ok(then(&tree, Some(sink.errors)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>a</identifier><sender>s</sender><sent>2026-01-01T00:00:00-00:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope></alert>"#;

    fn schema_errors(doc: &str) -> Vec<SchemaError> {
        parse(doc, false, |_, _| Some(Schema::Cap12), |_, errors| errors)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn a_minimal_alert_passes_and_a_broken_one_names_the_element() {
        assert_eq!(schema_errors(MINIMAL), vec![]);
        let errors = schema_errors(&MINIMAL.replace("Public", "Everyone"));
        assert!(!errors.is_empty());
        assert_eq!(errors[0].path, "/alert/scope");
        assert!(errors[0].message.contains("'scope'"), "{errors:?}");
        assert!(!errors[0].message.contains("urn:oasis"), "{errors:?}");
    }

    #[test]
    fn schema_paths_and_tree_paths_agree_on_repeated_elements() {
        let doc = MINIMAL.replace(
            "</alert>",
            "<info><category>Met</category><event>e</event><urgency>Now</urgency><severity>Minor</severity><certainty>Likely</certainty></info><info><category>Met</category><event>e</event><urgency>Past</urgency><severity>Minor</severity><certainty>Likely</certainty></info></alert>",
        );
        let (path, errors, names) = parse(
            &doc,
            false,
            |_, _| Some(Schema::Cap12),
            |tree, errors| {
                let urgency = tree
                    .elements
                    .iter()
                    .position(|e| e.name == "urgency")
                    .unwrap();
                let names: Vec<String> = tree.elements[0]
                    .children
                    .iter()
                    .map(|c| tree.elements[*c].name.to_string())
                    .collect();
                (tree.path(urgency), errors.unwrap(), names)
            },
        )
        .unwrap();
        assert_eq!(errors[0].path, "/alert/info[1]/urgency");
        assert_eq!(path, "/alert/info[1]/urgency");
        assert_eq!(
            names,
            [
                "identifier",
                "sender",
                "sent",
                "status",
                "msgType",
                "scope",
                "info",
                "info"
            ]
        );
    }

    #[test]
    fn text_and_cdata_are_joined_and_entities_decoded() {
        let (text, namespace) = parse(
            "<a>x &amp; <![CDATA[<y>]]><b/>z</a>",
            false,
            |_, _| None,
            |tree, _| {
                (
                    tree.elements[0].text.to_string(),
                    tree.elements[0].namespace.is_some(),
                )
            },
        )
        .unwrap();
        assert_eq!(text, "x & <y>z");
        assert!(!namespace);
    }

    #[test]
    fn a_broken_document_says_where() {
        let Err(Failure::NotWellFormed(why)) = parse("<a>\n<b></a>", false, |_, _| None, |_, _| ())
        else {
            panic!("must fail")
        };
        assert!(why.contains("line 2"), "{why}");
    }

    #[test]
    fn every_schema_compiles_from_the_embedded_files_alone() {
        for which in Schema::ALL {
            compile_schema(which).unwrap();
        }
    }

    #[test]
    fn the_entity_loader_serves_only_embedded_schemas() {
        init();
        // SAFETY: a NUL-terminated URL; a null context is accepted by the loader.
        let got = |url: &std::ffi::CStr| unsafe {
            embedded_only(url.as_ptr(), ptr::null(), ptr::null_mut())
        };
        assert!(got(c"file:///etc/passwd").is_null());
        assert!(got(c"http://127.0.0.1/x.xsd").is_null());
        assert!(got(c"../../../../etc/hosts").is_null());
    }

    #[test]
    fn the_schema_compiles_on_every_thread() {
        let handles: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| schema_errors(MINIMAL)))
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), vec![]);
        }
    }
}
