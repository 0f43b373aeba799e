//! The XML converters of `ottlfuncs` (`func_*_xml.go`, `func_parse_xml.go`): GetXML,
//! InsertXML, RemoveXML, ConvertAttributesToElementsXML, ConvertTextToElementsXML,
//! ParseSimplifiedXML and ParseXML.
//!
//! Go builds these on antchfx/xmlquery: a node tree whose shape comes from a level counter
//! (a missing `<?xml?>` declaration is invented before the first element and then dropped
//! again, nodes before the first element fall off the tree), serialised by `OutputXML(false)`
//! (no self-closing tags, text trimmed unless `xml:space="preserve"`, `html.EscapeString`
//! escaping). The tree here is an arena that reproduces those rules, link for link, so the
//! output strings match Go's; the `xpath` arguments go through the XPath 1.0 subset in
//! `xml/xpath.rs`, compiled when the statement is parsed.

mod xpath;

use pdata::proto::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use self::xpath::{NodeRef, XPath};
use super::ParamKind::*;
use super::editors::get_string;
use super::{Args, Functions, Param, opt, req};
use crate::context::Context;
use crate::value::Value;
use crate::{ConverterFn, EvalError};

pub(crate) fn register<C: Context>(f: &mut Functions<C>) {
    f.converter("GetXML", GET_XML, get_xml::<C>)
        .converter("InsertXML", INSERT_XML, insert_xml::<C>)
        .converter("RemoveXML", GET_XML, remove_xml::<C>)
        .converter(
            "ConvertAttributesToElementsXML",
            CONVERT_ATTRS,
            convert_attributes_to_elements::<C>,
        )
        .converter(
            "ConvertTextToElementsXML",
            CONVERT_TEXT,
            convert_text_to_elements::<C>,
        )
        .converter("ParseSimplifiedXML", ONE, parse_simplified_xml::<C>)
        .converter("ParseXML", ONE, parse_xml::<C>);
}

// Go names a named argument after its struct field in lowerCamel (`XPath` -> `xPath`).
const ONE: &[Param] = &[req("target", Getter)];
const GET_XML: &[Param] = &[req("target", Getter), req("xPath", Str)];
const INSERT_XML: &[Param] = &[
    req("target", Getter),
    req("xPath", Str),
    req("subDocument", Getter),
];
const CONVERT_ATTRS: &[Param] = &[req("target", Getter), opt("xPath", Str)];
const CONVERT_TEXT: &[Param] = &[
    req("target", Getter),
    opt("xPath", Str),
    opt("elementName", Str),
];

type CR<C> = Result<ConverterFn<C>, String>;

/// Go's `maxXMLElementDepth`: deeper documents are refused (and nothing here recurses per
/// level, so a document just under the bound cannot overflow a worker's stack either).
pub(crate) const MAX_DEPTH: usize = 10_000;

/// ParseSimplifiedXML and ParseXML build one nested map per element, and nested pdata
/// values are dropped, cloned and encoded recursively everywhere downstream (prost refuses
/// to decode past 100 levels anyway): those two stop at a depth a 2 MiB worker stack holds.
pub(crate) const MAX_VALUE_DEPTH: usize = 1_000;

fn depth_error() -> String {
    depth_error_of(MAX_DEPTH)
}

fn depth_error_of(max: usize) -> String {
    format!("exceeded maximum XML nesting depth of {max}")
}

/// The element nesting of a parsed tree, bounded by `max`.
fn check_depth(doc: &Doc, max: usize) -> Result<(), String> {
    let mut stack = vec![(ROOT, 0usize)];
    while let Some((id, depth)) = stack.pop() {
        if depth > max {
            return Err(depth_error_of(max));
        }
        for c in doc.children(id) {
            if doc.nodes[c].kind == Kind::Element {
                stack.push((c, depth + 1));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The node tree (xmlquery.Node)

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Document,
    Declaration,
    Element,
    Text,
    CData,
    Comment,
    Notation,
    ProcInst,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    /// Element: qualified name; text, CDATA, comment: content; declaration and processing
    /// instruction: target; notation: the directive (`DOCTYPE ...`).
    pub data: String,
    /// Qualified name and value, in document order.
    pub attrs: Vec<(String, String)>,
    /// A processing instruction's text after its target.
    inst: String,
    pub parent: Option<usize>,
    pub first: Option<usize>,
    last: Option<usize>,
    pub prev: Option<usize>,
    pub next: Option<usize>,
    level: usize,
}

impl Node {
    fn new(kind: Kind, data: String, level: usize) -> Node {
        Node {
            kind,
            data,
            attrs: Vec::new(),
            inst: String::new(),
            parent: None,
            first: None,
            last: None,
            prev: None,
            next: None,
            level,
        }
    }
}

pub(crate) const ROOT: usize = 0;

/// An arena of nodes; node 0 is the document. Ids grow in document order while parsing,
/// which the XPath evaluator relies on (every function queries before it edits).
pub(crate) struct Doc {
    pub nodes: Vec<Node>,
}

/// The part of a qualified name after its prefix.
pub(crate) fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

impl Doc {
    fn new() -> Doc {
        Doc {
            nodes: vec![Node::new(Kind::Document, String::new(), 0)],
        }
    }

    fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// The children of `n` in order; bounded by the arena size so a link cycle (which Go's
    /// link-sharing edits can make) ends instead of looping.
    pub(crate) fn children(&self, n: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut c = self.nodes[n].first;
        while let Some(id) = c {
            if out.len() > self.nodes.len() {
                break;
            }
            out.push(id);
            c = self.nodes[id].next;
        }
        out
    }

    /// xmlquery.AddChild: links `n` last under `parent` without unlinking it from where it
    /// was (Go does not either; GetXML and InsertXML depend on that).
    fn add_child(&mut self, parent: usize, n: usize) {
        self.nodes[n].parent = Some(parent);
        self.nodes[n].next = None;
        match (self.nodes[parent].first, self.nodes[parent].last) {
            (Some(_), Some(last)) => {
                self.nodes[last].next = Some(n);
                self.nodes[n].prev = Some(last);
            }
            _ => {
                self.nodes[parent].first = Some(n);
                self.nodes[n].prev = None;
            }
        }
        self.nodes[parent].last = Some(n);
    }

    /// xmlquery.AddSibling: after the last sibling of `sibling`.
    fn add_sibling(&mut self, sibling: usize, n: usize) {
        let mut s = sibling;
        let mut guard = 0;
        while let Some(t) = self.nodes[s].next {
            guard += 1;
            if guard > self.nodes.len() {
                break;
            }
            s = t;
        }
        let parent = self.nodes[s].parent;
        self.nodes[n].parent = parent;
        self.nodes[s].next = Some(n);
        self.nodes[n].prev = Some(s);
        self.nodes[n].next = None;
        if let Some(p) = parent {
            self.nodes[p].last = Some(n);
        }
    }

    /// xmlquery.RemoveFromTree.
    fn remove_from_tree(&mut self, n: usize) {
        let Some(p) = self.nodes[n].parent else {
            return;
        };
        let (prev, next) = (self.nodes[n].prev, self.nodes[n].next);
        if self.nodes[p].first == Some(n) {
            if self.nodes[p].last == Some(n) {
                self.nodes[p].first = None;
                self.nodes[p].last = None;
            } else {
                self.nodes[p].first = next;
                if let Some(x) = next {
                    self.nodes[x].prev = None;
                }
            }
        } else if self.nodes[p].last == Some(n) {
            self.nodes[p].last = prev;
            if let Some(x) = prev {
                self.nodes[x].next = None;
            }
        } else {
            if let Some(x) = prev {
                self.nodes[x].next = next;
            }
            if let Some(x) = next {
                self.nodes[x].prev = prev;
            }
        }
        let node = &mut self.nodes[n];
        node.parent = None;
        node.prev = None;
        node.next = None;
    }

    /// xmlquery `Node.RemoveAttr(key)`, called by Go with the attribute node's local name:
    /// it matches the whole name, so a prefixed attribute stays; the first match goes.
    fn remove_attr(&mut self, n: usize, key: &str) {
        let attrs = &mut self.nodes[n].attrs;
        if let Some(i) = attrs.iter().position(|(k, _)| k == key) {
            attrs.remove(i);
        }
    }

    /// xmlquery `InnerText`: the text and CDATA below `n`.
    pub(crate) fn inner_text(&self, n: usize) -> String {
        let node = &self.nodes[n];
        match node.kind {
            Kind::Text | Kind::CData | Kind::Comment | Kind::ProcInst => return node.data.clone(),
            _ => {}
        }
        let mut out = String::new();
        let mut stack: Vec<usize> = self.children(n).into_iter().rev().collect();
        let mut budget = self.nodes.len() * 2;
        while let Some(id) = stack.pop() {
            budget = budget.saturating_sub(1);
            if budget == 0 {
                break;
            }
            let c = &self.nodes[id];
            match c.kind {
                Kind::Text | Kind::CData => out.push_str(&c.data),
                Kind::Element | Kind::Document => stack.extend(self.children(id).into_iter().rev()),
                _ => {}
            }
        }
        out
    }

    // -----------------------------------------------------------------------------------------
    // Output (xmlquery `OutputXML(false)`)

    /// The children of `n`, serialised.
    fn output(&self, n: usize) -> String {
        let mut out = String::new();
        let preserve = self.preserve_spaces(n, false);
        for c in self.children(n) {
            self.output_node(c, preserve, &mut out);
        }
        out
    }

    fn preserve_spaces(&self, n: usize, past: bool) -> bool {
        match self.nodes[n]
            .attrs
            .iter()
            .find(|(k, _)| k == "xml:space")
            .map(|(_, v)| v.as_str())
        {
            Some("preserve") => true,
            Some("default") => false,
            _ => past,
        }
    }

    fn output_node(&self, start: usize, preserve: bool, out: &mut String) {
        enum Step {
            Open(usize, bool),
            Close(usize),
        }
        let mut stack = vec![Step::Open(start, preserve)];
        let mut budget = self.nodes.len() * 4 + 4;
        while let Some(step) = stack.pop() {
            budget = budget.saturating_sub(1);
            if budget == 0 {
                break;
            }
            let id = match step {
                Step::Close(id) => {
                    out.push_str("</");
                    out.push_str(&self.nodes[id].data);
                    out.push('>');
                    continue;
                }
                Step::Open(id, _) => id,
            };
            let Step::Open(_, past) = step else { continue };
            let n = &self.nodes[id];
            let preserve = self.preserve_spaces(id, past);
            match n.kind {
                Kind::Text => {
                    let t = if preserve {
                        n.data.as_str()
                    } else {
                        n.data.trim()
                    };
                    escape_into(t, out);
                    continue;
                }
                Kind::CData => {
                    out.push_str("<![CDATA[");
                    out.push_str(&n.data);
                    out.push_str("]]>");
                    continue;
                }
                Kind::Comment => {
                    out.push_str("<!--");
                    out.push_str(&n.data);
                    out.push_str("-->");
                    continue;
                }
                Kind::Notation => {
                    out.push_str("<!");
                    out.push_str(&n.data);
                    out.push('>');
                    continue;
                }
                Kind::ProcInst => {
                    out.push_str("<?");
                    out.push_str(&n.data);
                    if !n.inst.is_empty() {
                        out.push(' ');
                        out.push_str(&n.inst);
                    }
                    out.push_str("?>");
                    continue;
                }
                Kind::Declaration => {
                    out.push_str("<?");
                    out.push_str(&n.data);
                }
                Kind::Element | Kind::Document => {
                    out.push('<');
                    out.push_str(&n.data);
                }
            }
            for (k, v) in &n.attrs {
                out.push(' ');
                out.push_str(k);
                out.push_str("=\"");
                escape_into(v, out);
                out.push('"');
            }
            if n.kind == Kind::Declaration {
                out.push_str("?>");
            } else {
                out.push('>');
                stack.push(Step::Close(id));
            }
            for c in self.children(id).into_iter().rev() {
                stack.push(Step::Open(c, preserve));
            }
        }
    }
}

/// Go `html.EscapeString`.
fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            c => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing (xmlquery.Parse over encoding/xml tokens, then ottlfuncs' parseNodesXML)

/// The five entities Go's strict decoder knows, and character references.
fn resolve_ref(r: &quick_xml::events::BytesRef<'_>, out: &mut String) -> Result<(), String> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) => {
                out.push(c);
                Ok(())
            }
            _ => Err(format!("invalid character entity &{};", &**r)),
        };
    }
    out.push(match &**r {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        other => return Err(format!("invalid character entity &{other};")),
    });
    Ok(())
}

fn attributes(e: &BytesStart<'_>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for a in e.attributes().with_checks(false) {
        let a = a.map_err(|e| e.to_string())?;
        let v = quick_xml::escape::unescape(&a.value).map_err(|e| e.to_string())?;
        out.push((a.key.0.to_string(), normalize_eol(&v)));
    }
    Ok(out)
}

/// Go's decoder turns `\r\n` and lone `\r` into `\n`.
fn normalize_eol(s: &str) -> String {
    if s.contains('\r') {
        s.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        s.to_string()
    }
}

fn new_reader(s: &str) -> Reader<&[u8]> {
    let mut r = Reader::from_reader(s.as_bytes());
    let c = r.config_mut();
    // end tags are matched here, to give Go's messages
    c.check_end_names = false;
    c.allow_unmatched_ends = true;
    c.check_comments = true;
    c.expand_empty_elements = false;
    r
}

/// The byte ranges of `<!NAME ...>` directives other than `<!DOCTYPE>` (Go's decoder takes
/// them anywhere, quick-xml only DOCTYPE): the reader is run on the text between them.
fn directives(s: &str) -> Vec<(usize, usize)> {
    let b = s.as_bytes();
    let find = |from: usize, pat: &str| {
        s.get(from..)
            .and_then(|t| t.find(pat))
            .map_or(b.len(), |p| from + p + pat.len())
    };
    // the end of a tag or directive: the first `>` outside quotes (and, for a directive,
    // outside nested `<...>`), or None
    let end = |from: usize, nest: bool| {
        let (mut quote, mut depth) = (None, 0usize);
        for (j, &c) in b.iter().enumerate().skip(from) {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, b'"' | b'\'') => quote = Some(c),
                (None, b'<') if nest => depth += 1,
                (None, b'>') if depth == 0 => return Some(j + 1),
                (None, b'>') => depth -= 1,
                _ => {}
            }
        }
        None
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &s[i..];
        if rest.starts_with("<!--") {
            i = find(i + 4, "-->");
        } else if rest.starts_with("<![CDATA[") {
            i = find(i + 9, "]]>");
        } else if rest.starts_with("<?") {
            i = find(i + 2, "?>");
        } else if rest.starts_with("<!") {
            let Some(e) = end(i + 2, true) else { break };
            let doctype = rest
                .as_bytes()
                .get(2..9)
                .is_some_and(|d| d.eq_ignore_ascii_case(b"DOCTYPE"));
            if !doctype && b.get(i + 2).is_some_and(|c| c.is_ascii_alphabetic()) {
                out.push((i, e));
            }
            i = e;
        } else {
            let Some(e) = end(i + 1, false) else { break };
            i = e;
        }
    }
    out
}

enum Tok<'a> {
    Xml(Event<'a>),
    /// A directive's text between `<!` and `>`.
    Directive(&'a str),
}

/// quick-xml events over the text between directives, with the directives in between.
struct Tokens<'a> {
    s: &'a str,
    cuts: Vec<(usize, usize)>,
    next_cut: usize,
    seg_start: usize,
    reader: Reader<&'a [u8]>,
    err_pos: u64,
}

impl<'a> Tokens<'a> {
    fn new(s: &'a str) -> Tokens<'a> {
        let cuts = directives(s);
        let end = cuts.first().map_or(s.len(), |c| c.0);
        Tokens {
            s,
            reader: new_reader(&s[..end]),
            cuts,
            next_cut: 0,
            seg_start: 0,
            err_pos: 0,
        }
    }

    fn read(&mut self) -> Result<Tok<'a>, quick_xml::Error> {
        match self.reader.read_event() {
            Err(e) => {
                self.err_pos = self.seg_start as u64 + self.reader.error_position();
                Err(e)
            }
            Ok(Event::Eof) if self.next_cut < self.cuts.len() => {
                let (a, b) = self.cuts[self.next_cut];
                self.next_cut += 1;
                let end = self.cuts.get(self.next_cut).map_or(self.s.len(), |c| c.0);
                self.seg_start = b;
                self.reader = new_reader(&self.s[b..end]);
                Ok(Tok::Directive(&self.s[a + 2..b - 1]))
            }
            Ok(ev) => Ok(Tok::Xml(ev)),
        }
    }

    /// The byte offset after the last token.
    fn pos(&self) -> u64 {
        self.seg_start as u64 + self.reader.buffer_position()
    }
}

struct Builder {
    doc: Doc,
    level: usize,
    prev: usize,
    open: usize,
    prefixes: Vec<String>,
}

impl Builder {
    /// Where xmlquery's parser puts a node: by its level relative to the previous one.
    fn place(&mut self, id: usize) -> Result<(), String> {
        let level = self.level;
        let prev_level = self.doc.nodes[self.prev].level;
        if level == prev_level {
            self.doc.add_sibling(self.prev, id);
        } else if level > prev_level {
            self.doc.add_child(self.prev, id);
        } else {
            let mut i = prev_level - level;
            while i > 1 {
                self.prev = self.doc.nodes[self.prev]
                    .parent
                    .ok_or("invalid XML document structure")?;
                i -= 1;
            }
            let p = self.doc.nodes[self.prev]
                .parent
                .ok_or("invalid XML document structure")?;
            self.doc.add_sibling(p, id);
        }
        Ok(())
    }

    fn add(&mut self, kind: Kind, data: String) -> Result<usize, String> {
        let id = self.doc.push(Node::new(kind, data, self.level));
        self.place(id)?;
        Ok(id)
    }

    fn start(&mut self, e: &BytesStart<'_>) -> Result<(), String> {
        self.open += 1;
        if self.open > MAX_DEPTH {
            return Err(depth_error());
        }
        if self.level == 0 {
            // xmlquery: "missing XML declaration"
            let mut decl = Node::new(Kind::Declaration, "xml".into(), 1);
            decl.attrs.push(("version".into(), "1.0".into()));
            let id = self.doc.push(decl);
            self.doc.add_child(self.prev, id);
            self.level = 1;
            self.prev = id;
        }
        let name = std::str::from_utf8(e.name().0.as_bytes())
            .map_err(|e| e.to_string())?
            .to_string();
        let attrs = attributes(e).map_err(|e| format!("parse xml: {e}"))?;
        for (k, _) in &attrs {
            if let Some(p) = k.strip_prefix("xmlns:") {
                self.prefixes.push(p.to_string());
            }
        }
        if let Some((prefix, _)) = name.split_once(':')
            && prefix != "xml"
            && !self.prefixes.iter().any(|p| p == prefix)
        {
            return Err(format!(
                "parse xml: xmlquery: invalid XML document, namespace {prefix} is missing"
            ));
        }
        let id = self.doc.push(Node::new(Kind::Element, name, self.level));
        self.doc.nodes[id].attrs = attrs;
        self.place(id)?;
        self.prev = id;
        self.level += 1;
        Ok(())
    }

    fn end(&mut self) {
        self.open = self.open.saturating_sub(1);
        self.level = self.level.saturating_sub(1);
    }

    fn flush_text(&mut self, text: &mut String) -> Result<(), String> {
        if !text.is_empty() {
            let t = std::mem::take(text);
            self.add(Kind::Text, t)?;
        }
        Ok(())
    }

    /// A `<?target inst?>`: xmlquery bumps the level unless it follows another one.
    fn proc_inst(&mut self, raw: &str) -> Result<(), String> {
        let raw = raw.trim_start();
        let (target, inst) = raw
            .split_once(|c: char| c.is_whitespace())
            .unwrap_or((raw, ""));
        if !matches!(
            self.doc.nodes[self.prev].kind,
            Kind::Declaration | Kind::ProcInst
        ) {
            self.level += 1;
        }
        let mut node = Node::new(Kind::Declaration, target.to_string(), self.level);
        for pair in inst.split(' ') {
            let pair = pair.trim();
            if let Some(i) = pair.find('=')
                && i > 0
            {
                let v = pair[i + 1..].trim_matches(|c| c == '"' || c == '\'');
                node.attrs.push((pair[..i].to_string(), v.to_string()));
            }
        }
        if target != "xml" {
            node.kind = Kind::ProcInst;
            node.inst = inst.trim().to_string();
        }
        let id = self.doc.push(node);
        self.place(id)?;
        self.prev = id;
        Ok(())
    }
}

/// Go's `xml.SyntaxError` text: the line of the byte offset `pos`.
fn syntax_at(s: &str, pos: u64, msg: impl std::fmt::Display) -> String {
    let pos = (pos as usize).min(s.len());
    let line = 1 + s.as_bytes()[..pos].iter().filter(|&&b| b == b'\n').count();
    format!("XML syntax error on line {line}: {msg}")
}

/// Matches an end tag against the open element as Go's decoder does.
fn check_end(open: Option<&str>, end: &str) -> Result<(), String> {
    match open {
        None => Err(format!("unexpected end element </{end}>")),
        Some(o) if o != end => Err(format!("element <{o}> closed by </{end}>")),
        Some(_) => Ok(()),
    }
}

/// xmlquery.Parse.
fn parse_tree(s: &str) -> Result<Doc, String> {
    let mut r = Tokens::new(s);
    let mut b = Builder {
        doc: Doc::new(),
        level: 0,
        prev: ROOT,
        open: 0,
        prefixes: Vec::new(),
    };
    let mut text = String::new();
    let mut names: Vec<String> = Vec::new();
    loop {
        let syntax =
            |pos: u64, e: &dyn std::fmt::Display| format!("parse xml: {}", syntax_at(s, pos, e));
        let tok = r.read().map_err(|e| syntax(r.err_pos, &e))?;
        let pos = r.pos();
        let ev = match tok {
            Tok::Xml(Event::Text(t)) => {
                text.push_str(&t.xml10_content());
                continue;
            }
            Tok::Xml(Event::GeneralRef(g)) => {
                resolve_ref(&g, &mut text).map_err(|e| syntax(pos, &e))?;
                continue;
            }
            Tok::Directive(d) => {
                b.flush_text(&mut text)?;
                b.add(Kind::Notation, d.to_string())?;
                continue;
            }
            Tok::Xml(ev) => {
                b.flush_text(&mut text)?;
                ev
            }
        };
        match ev {
            Event::Start(e) => {
                b.start(&e)?;
                names.push(e.name().0.to_string());
            }
            Event::Empty(e) => {
                b.start(&e)?;
                b.end();
            }
            Event::End(e) => {
                check_end(names.pop().as_deref(), e.name().0).map_err(|e| syntax(pos, &e))?;
                b.end();
            }
            Event::CData(c) => {
                b.add(Kind::CData, c.xml10_content().into_owned())?;
            }
            Event::Comment(c) => {
                b.add(Kind::Comment, c.to_string())?;
            }
            Event::Decl(d) => b.proc_inst(&d)?,
            Event::PI(p) => b.proc_inst(&p)?,
            Event::DocType(t) => {
                b.add(Kind::Notation, format!("DOCTYPE {}", &*t))?;
            }
            Event::Eof => break,
            Event::Text(_) | Event::GeneralRef(_) => {}
        }
    }
    if b.open > 0 {
        return Err(format!(
            "parse xml: {}",
            syntax_at(s, s.len() as u64, "unexpected EOF")
        ));
    }
    Ok(b.doc)
}

/// ottlfuncs `parseNodesXML`: the declaration stays only when the text starts with one
/// (otherwise the document's first child, xmlquery's invented declaration, goes).
pub(crate) fn parse_nodes(s: &str) -> Result<Doc, String> {
    let mut doc = parse_tree(s)?;
    if !s.starts_with("<?xml")
        && let Some(first) = doc.nodes[ROOT].first
    {
        doc.remove_from_tree(first);
    }
    Ok(doc)
}

// ---------------------------------------------------------------------------------------------
// The converters

fn compile(xpath: &str) -> Result<XPath, String> {
    XPath::compile(xpath).map_err(|e| format!("invalid xpath: {e}"))
}

fn eval_err(e: String) -> EvalError {
    EvalError::new(e)
}

fn get_xml<C: Context>(mut a: Args<C>) -> CR<C> {
    let target = a.getter(0);
    let xp = compile(&a.str(1).unwrap_or_default())?;
    Ok(Box::new(move |d| {
        let s = get_string(&target, d)?;
        let mut doc = parse_nodes(&s).map_err(eval_err)?;
        let nodes = xp.query(&doc).map_err(eval_err)?;
        let result = doc.push(Node::new(Kind::Document, String::new(), 0));
        for n in nodes {
            match n {
                NodeRef::Node(id) => match doc.nodes[id].kind {
                    Kind::Element | Kind::Text => doc.add_child(result, id),
                    Kind::CData => {
                        let t = doc.nodes[id].data.clone();
                        let t = doc.push(Node::new(Kind::Text, t, 0));
                        doc.add_child(result, t);
                    }
                    _ => {}
                },
                NodeRef::Attr(id, i) => {
                    let v = doc.nodes[id].attrs[i].1.clone();
                    let t = doc.push(Node::new(Kind::Text, v, 0));
                    doc.add_child(result, t);
                }
            }
        }
        Ok(Value::Str(doc.output(result)))
    }))
}

fn insert_xml<C: Context>(mut a: Args<C>) -> CR<C> {
    let target = a.getter(0);
    let xp = compile(&a.str(1).unwrap_or_default())?;
    let sub = a.getter(2);
    Ok(Box::new(move |d| {
        let s = get_string(&target, d)?;
        let mut doc = parse_nodes(&s).map_err(eval_err)?;
        let sub_s = get_string(&sub, d)?;
        let sub_doc = parse_nodes(&sub_s).map_err(eval_err)?;
        let nodes = xp.query(&doc).map_err(eval_err)?;
        // The sub-document's nodes join the arena once; Go links the same nodes under every
        // selected element, and so do we.
        let offset = doc.nodes.len();
        let sub_top = sub_doc.children(ROOT);
        for mut n in sub_doc.nodes {
            let shift = |x: Option<usize>| x.map(|v| v + offset);
            n.parent = shift(n.parent);
            n.first = shift(n.first);
            n.last = shift(n.last);
            n.prev = shift(n.prev);
            n.next = shift(n.next);
            doc.nodes.push(n);
        }
        let mut errs = Vec::new();
        for n in nodes {
            match n {
                NodeRef::Node(id)
                    if matches!(doc.nodes[id].kind, Kind::Element | Kind::Document) =>
                {
                    for &c in &sub_top {
                        doc.add_child(id, c + offset);
                    }
                }
                NodeRef::Node(id) => errs.push(format!(
                    "InsertXML XPath selected non-element: {}",
                    go_quote(&doc.nodes[id].data)
                )),
                NodeRef::Attr(id, i) => errs.push(format!(
                    "InsertXML XPath selected non-element: {}",
                    go_quote(local(&doc.nodes[id].attrs[i].0))
                )),
            }
        }
        if !errs.is_empty() {
            return Err(EvalError::new(errs.join("\n")));
        }
        Ok(Value::Str(doc.output(ROOT)))
    }))
}

/// Go `%q` of a string.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn remove_xml<C: Context>(mut a: Args<C>) -> CR<C> {
    let target = a.getter(0);
    let xp = compile(&a.str(1).unwrap_or_default())?;
    Ok(Box::new(move |d| {
        let s = get_string(&target, d)?;
        if s.is_empty() {
            return Ok(Value::Str(String::new()));
        }
        let mut doc = parse_nodes(&s).map_err(eval_err)?;
        let nodes = xp.query(&doc).map_err(eval_err)?;
        // Attribute references are indexes; take their names before any removal shifts them.
        let nodes: Vec<(NodeRef, String)> = nodes
            .into_iter()
            .map(|n| match n {
                NodeRef::Attr(id, i) => (n, doc.nodes[id].attrs[i].0.clone()),
                _ => (n, String::new()),
            })
            .collect();
        for (n, attr) in nodes {
            match n {
                NodeRef::Node(id) => match doc.nodes[id].kind {
                    Kind::Element | Kind::Comment | Kind::CData => doc.remove_from_tree(id),
                    Kind::Text => doc.nodes[id].data.clear(),
                    _ => {}
                },
                NodeRef::Attr(id, _) => doc.remove_attr(id, local(&attr)),
            }
        }
        Ok(Value::Str(doc.output(ROOT)))
    }))
}

fn convert_attributes_to_elements<C: Context>(mut a: Args<C>) -> CR<C> {
    let target = a.getter(0);
    let xp = a.str(1).filter(|s| !s.is_empty());
    let xp = compile(xp.as_deref().unwrap_or("//@*"))?;
    Ok(Box::new(move |d| {
        let s = get_string(&target, d)?;
        let mut doc = parse_nodes(&s).map_err(eval_err)?;
        let attrs: Vec<(usize, String, String)> = xp
            .query(&doc)
            .map_err(eval_err)?
            .into_iter()
            .filter_map(|n| match n {
                NodeRef::Attr(id, i) => {
                    let (k, v) = &doc.nodes[id].attrs[i];
                    Some((id, k.clone(), v.clone()))
                }
                NodeRef::Node(_) => None,
            })
            .collect();
        for (id, key, value) in attrs {
            let el = doc.push(Node::new(Kind::Element, local(&key).to_string(), 0));
            let text = doc.push(Node::new(Kind::Text, value, 0));
            doc.add_child(el, text);
            doc.add_child(id, el);
            doc.remove_attr(id, local(&key));
        }
        Ok(Value::Str(doc.output(ROOT)))
    }))
}

fn convert_text_to_elements<C: Context>(mut a: Args<C>) -> CR<C> {
    let target = a.getter(0);
    let xp = a.str(1).filter(|s| !s.is_empty());
    let xp = compile(xp.as_deref().unwrap_or("/"))?;
    let name = a
        .str(2)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "value".into());
    Ok(Box::new(move |d| {
        let s = get_string(&target, d)?;
        let mut doc = parse_nodes(&s).map_err(eval_err)?;
        for n in xp.query(&doc).map_err(eval_err)? {
            if let NodeRef::Node(id) = n {
                wrap_text(&mut doc, id, &name);
            }
        }
        Ok(Value::Str(doc.output(ROOT)))
    }))
}

/// Elements and the document below and at `top`, parents before children.
fn preorder(doc: &Doc, top: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![top];
    while let Some(id) = stack.pop() {
        if out.len() > doc.nodes.len() {
            break;
        }
        out.push(id);
        for c in doc.children(id).into_iter().rev() {
            if doc.nodes[c].kind == Kind::Element {
                stack.push(c);
            }
        }
    }
    out
}

/// ottlfuncs `convertTextToElementsForNode`, children first (reverse pre-order).
fn wrap_text(doc: &mut Doc, top: usize, name: &str) {
    if !matches!(doc.nodes[top].kind, Kind::Element | Kind::Document) {
        return;
    }
    for id in preorder(doc, top).into_iter().rev() {
        let children = doc.children(id);
        let elements = children
            .iter()
            .filter(|&&c| doc.nodes[c].kind == Kind::Element)
            .count();
        let values = children
            .iter()
            .filter(|&&c| doc.nodes[c].kind == Kind::Text)
            .count();
        if values == 0 || elements + values <= 1 {
            continue;
        }
        for c in children {
            if doc.nodes[c].kind != Kind::Text {
                continue;
            }
            let data = std::mem::replace(&mut doc.nodes[c].data, name.to_string());
            doc.nodes[c].kind = Kind::Element;
            let t = doc.push(Node::new(Kind::Text, data, 0));
            doc.nodes[c].first = Some(t);
            doc.nodes[c].last = Some(t);
        }
    }
}

fn str_any(s: String) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s)),
    }
}

fn map_any(m: Vec<KeyValue>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::KvlistValue(KeyValueList { values: m })),
    }
}

fn kv(key: String, value: AnyValue) -> KeyValue {
    KeyValue {
        key,
        value: Some(value),
        ..Default::default()
    }
}

fn parse_simplified_xml<C: Context>(mut a: Args<C>) -> CR<C> {
    let target = a.getter(0);
    Ok(Box::new(move |d| {
        let s = get_string(&target, d)?;
        let doc = parse_nodes(&s).map_err(eval_err)?;
        check_depth(&doc, MAX_VALUE_DEPTH).map_err(eval_err)?;
        Ok(Value::Map(simplify(&doc)))
    }))
}

/// ottlfuncs `leafValueFromElement`.
fn leaf_value(doc: &Doc, children: &[usize]) -> String {
    if children.iter().any(|&c| doc.nodes[c].kind == Kind::Element) {
        return String::new();
    }
    children
        .iter()
        .find(|&&c| matches!(doc.nodes[c].kind, Kind::Text | Kind::CData))
        .map(|&c| doc.nodes[c].data.clone())
        .unwrap_or_default()
}

/// ottlfuncs `parseElement` over the whole document, children before parents so no level
/// needs a stack frame.
fn simplify(doc: &Doc) -> Vec<KeyValue> {
    let order = preorder(doc, ROOT);
    let mut maps: Vec<Option<Vec<KeyValue>>> = vec![None; doc.nodes.len()];
    for &id in order.iter().rev() {
        let children = doc.children(id);
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for &c in &children {
            if doc.nodes[c].kind != Kind::Element {
                continue;
            }
            let tag = doc.nodes[c].data.as_str();
            match counts.iter_mut().find(|(t, _)| *t == tag) {
                Some((_, n)) => *n += 1,
                None => counts.push((tag, 1)),
            }
        }
        let mut m: Vec<KeyValue> = Vec::new();
        for &c in &children {
            let node = &doc.nodes[c];
            if node.kind != Kind::Element || node.first.is_none() {
                continue;
            }
            let grand = doc.children(c);
            let leaf = leaf_value(doc, &grand);
            let repeated = counts
                .iter()
                .any(|(t, n)| *t == node.data.as_str() && *n > 1);
            let child_map = maps[c].take().unwrap_or_default();
            if repeated {
                let pos = match m.iter().position(|k| k.key == node.data) {
                    Some(p) => p,
                    None => {
                        m.push(kv(
                            node.data.clone(),
                            AnyValue {
                                value: Some(any_value::Value::ArrayValue(ArrayValue {
                                    values: Vec::new(),
                                })),
                            },
                        ));
                        m.len() - 1
                    }
                };
                let item = if !leaf.is_empty() {
                    str_any(leaf)
                } else if child_map.is_empty() {
                    continue;
                } else {
                    map_any(child_map)
                };
                if let Some(AnyValue {
                    value: Some(any_value::Value::ArrayValue(arr)),
                }) = m[pos].value.as_mut()
                {
                    arr.values.push(item);
                }
                continue;
            }
            if !leaf.is_empty() {
                m.push(kv(node.data.clone(), str_any(leaf)));
            } else if !child_map.is_empty() {
                m.push(kv(node.data.clone(), map_any(child_map)));
            }
        }
        maps[id] = Some(m);
    }
    maps[ROOT].take().unwrap_or_default()
}

// ParseXML: encoding/xml's Decode of the first element into tag/content/attributes/children.

struct Element {
    tag: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<AnyValue>,
}

impl Element {
    fn new(e: &BytesStart<'_>) -> Result<Element, String> {
        let name = String::from_utf8_lossy(e.name().0.as_bytes()).into_owned();
        Ok(Element {
            tag: local(&name).to_string(),
            attrs: attributes(e)?,
            text: String::new(),
            children: Vec::new(),
        })
    }

    fn into_map(self) -> Vec<KeyValue> {
        let mut m = vec![kv("tag".into(), str_any(self.tag))];
        if !self.text.is_empty() {
            m.push(kv("content".into(), str_any(self.text)));
        }
        if !self.attrs.is_empty() {
            let mut attrs: Vec<KeyValue> = Vec::with_capacity(self.attrs.len());
            for (k, v) in self.attrs {
                let k = local(&k).to_string();
                // pcommon.Map.PutStr replaces an existing key
                match attrs.iter_mut().find(|a| a.key == k) {
                    Some(a) => a.value = Some(str_any(v)),
                    None => attrs.push(kv(k, str_any(v))),
                }
            }
            m.push(kv("attributes".into(), map_any(attrs)));
        }
        if !self.children.is_empty() {
            m.push(kv(
                "children".into(),
                AnyValue {
                    value: Some(any_value::Value::ArrayValue(ArrayValue {
                        values: self.children,
                    })),
                },
            ));
        }
        m
    }
}

fn parse_xml_map(s: &str) -> Result<Vec<KeyValue>, String> {
    let unmarshal = |e: String| format!("unmarshal xml: {e}");
    let mut r = Tokens::new(s);
    let mut stack: Vec<Element> = Vec::new();
    let mut text = String::new();
    // Go trims each character-data token on its own: a text run (entities included) and
    // each CDATA section.
    let flush = |text: &mut String, stack: &mut Vec<Element>| {
        if let Some(top) = stack.last_mut() {
            top.text.push_str(text.trim());
        }
        text.clear();
    };
    let mut names: Vec<String> = Vec::new();
    loop {
        // inside the root element Go's errors come through UnmarshalXML's wrapping
        let fail = |names: &[String], pos: u64, e: &dyn std::fmt::Display| {
            let inner = if names.is_empty() {
                ""
            } else {
                "decode next token: "
            };
            unmarshal(format!("{inner}{}", syntax_at(s, pos, e)))
        };
        let tok = r.read().map_err(|e| fail(&names, r.err_pos, &e))?;
        let pos = r.pos();
        let ev = match tok {
            Tok::Xml(Event::Text(t)) => {
                text.push_str(&t.xml10_content());
                continue;
            }
            Tok::Xml(Event::GeneralRef(g)) => {
                resolve_ref(&g, &mut text).map_err(|e| fail(&names, pos, &e))?;
                continue;
            }
            Tok::Directive(_) => {
                flush(&mut text, &mut stack);
                continue;
            }
            Tok::Xml(ev) => {
                flush(&mut text, &mut stack);
                ev
            }
        };
        let done = match ev {
            Event::Start(e) => {
                if stack.len() >= MAX_VALUE_DEPTH {
                    return Err(depth_error_of(MAX_VALUE_DEPTH));
                }
                stack.push(Element::new(&e).map_err(|e| fail(&names, pos, &e))?);
                names.push(e.name().0.to_string());
                None
            }
            Event::Empty(e) => {
                if stack.len() >= MAX_VALUE_DEPTH {
                    return Err(depth_error_of(MAX_VALUE_DEPTH));
                }
                Some(Element::new(&e).map_err(|e| fail(&names, pos, &e))?)
            }
            Event::End(e) => {
                check_end(names.last().map(String::as_str), e.name().0)
                    .map_err(|e| fail(&names, pos, &e))?;
                names.pop();
                stack.pop()
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(c.xml10_content().trim());
                }
                None
            }
            Event::Eof => {
                return Err(if stack.is_empty() {
                    unmarshal("EOF".into())
                } else {
                    fail(&names, s.len() as u64, &"unexpected EOF")
                });
            }
            _ => None,
        };
        if let Some(el) = done {
            match stack.last_mut() {
                Some(parent) => parent.children.push(map_any(el.into_map())),
                None => {
                    if r.pos() as usize != s.len() {
                        return Err("trailing bytes after parsing xml".into());
                    }
                    return Ok(el.into_map());
                }
            }
        }
    }
}

fn parse_xml<C: Context>(mut a: Args<C>) -> CR<C> {
    let target = a.getter(0);
    Ok(Box::new(move |d| {
        let s = get_string(&target, d)?;
        parse_xml_map(&s).map(Value::Map).map_err(eval_err)
    }))
}
