//! XML bytes → a small element tree, with namespaces resolved by URI.
//!
//! This is the only place that touches quick-xml's reader. It refuses what must be refused
//! (DOCTYPE, undefined entities, non-UTF-8 encodings, nesting deeper than [`MAX_DEPTH`]) and
//! tells a truncated document apart from one that is not XML at all.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::error::WireError;
use crate::ns::KnownNs;

/// Deeper documents are refused: no message of the contract nests beyond ~8 levels, and a
/// bound keeps recursion (and drop) of the tree safe on hostile input.
pub const MAX_DEPTH: usize = 64;

/// An element's namespace: one we know, another URI, or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ns {
    Known(KnownNs),
    Other(Box<str>),
    None,
}

impl Ns {
    pub(crate) fn uri(&self) -> &str {
        match self {
            Ns::Known(k) => k.uri(),
            Ns::Other(u) => u,
            Ns::None => "",
        }
    }
}

/// One element: namespace, local name, its text (concatenated), its element children.
/// Names and text borrow from the input wherever they can, so a typical message allocates
/// little beyond the tree's vectors.
#[derive(Debug, Clone)]
pub(crate) struct Element<'i> {
    pub ns: Ns,
    pub name: Cow<'i, str>,
    pub text: Cow<'i, str>,
    pub children: Vec<Element<'i>>,
}

/// The same text as `part`, but borrowed from `input` when `part` lies inside it (quick-xml
/// hands out names borrowed from the event, whose bytes are the input's when reading a slice).
fn from_input<'i>(input: &'i str, part: &str) -> Cow<'i, str> {
    let start = (part.as_ptr() as usize).wrapping_sub(input.as_ptr() as usize);
    match input.get(start..start.wrapping_add(part.len())) {
        Some(s) if s.as_ptr() == part.as_ptr() => Cow::Borrowed(s),
        _ => Cow::Owned(part.to_string()),
    }
}

fn append<'i>(text: &mut Cow<'i, str>, part: Cow<'i, str>) {
    if text.is_empty() {
        *text = part;
    } else {
        text.to_mut().push_str(&part);
    }
}

impl Element<'_> {
    pub(crate) fn is(&self, ns: KnownNs, name: &str) -> bool {
        self.ns == Ns::Known(ns) && &*self.name == name
    }

    /// `{uri}local`, for messages.
    pub(crate) fn clark(&self) -> String {
        match &self.ns {
            Ns::None => self.name.to_string(),
            ns => format!("{{{}}}{}", ns.uri(), self.name),
        }
    }
}

fn line_col(xml: &[u8], pos: u64) -> (usize, usize) {
    let pos = (pos as usize).min(xml.len());
    let before = &xml[..pos];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let col = pos
        - before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1)
        + 1;
    (line, col)
}

fn predefined_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

/// The document as text, after the checks that need no parser: a BOM is skipped, and an empty
/// document, one that does not start with `<`, or one that is not UTF-8 is refused with its
/// position.
fn prelude(input: &[u8]) -> Result<(&[u8], &str), WireError> {
    let xml = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let first = xml.iter().position(|b| !b.is_ascii_whitespace());
    match first {
        None => {
            return Err(WireError::NotXml {
                detail: "the document is empty".into(),
                line: 1,
                column: 1,
            })
        }
        Some(i) if xml[i] != b'<' => {
            let (line, column) = line_col(xml, i as u64);
            return Err(WireError::NotXml {
                detail: "content does not start with '<'".into(),
                line,
                column,
            });
        }
        Some(_) => {}
    }
    match std::str::from_utf8(xml) {
        Ok(s) => Ok((xml, s)),
        Err(e) => {
            let (line, column) = line_col(xml, e.valid_up_to() as u64);
            Err(WireError::NotXml {
                detail: "the document is not valid UTF-8".into(),
                line,
                column,
            })
        }
    }
}

/// The tree under construction: the open elements, and the root once it is closed.
struct Builder<'a> {
    xml: &'a [u8],
    input: &'a str,
    stack: Vec<Element<'a>>,
    root: Option<Element<'a>>,
}

impl<'a> Builder<'a> {
    fn not_xml(&self, detail: String, pos: u64) -> WireError {
        let (line, column) = line_col(self.xml, pos);
        WireError::NotXml {
            detail,
            line,
            column,
        }
    }

    /// A closed element goes to its parent, or becomes the root.
    fn close(&mut self, el: Element<'a>) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(el),
            None => self.root = Some(el),
        }
    }

    /// Takes one event; `Some(root)` at the end of a well-formed document.
    fn event(
        &mut self,
        event: Event<'a>,
        res: Ns,
        pos: u64,
    ) -> Result<Option<Element<'a>>, WireError> {
        match event {
            Event::Start(_) | Event::Empty(_) if self.root.is_some() => {
                return Err(self.not_xml("more than one root element".into(), pos));
            }
            Event::Start(e) => {
                if self.stack.len() >= MAX_DEPTH {
                    let detail = format!("elements nest deeper than {MAX_DEPTH} levels");
                    return Err(self.not_xml(detail, pos));
                }
                self.attributes(&e, pos)?;
                let name = from_input(self.input, e.local_name().as_ref());
                self.stack.push(Element {
                    ns: res,
                    name,
                    text: Cow::Borrowed(""),
                    children: Vec::new(),
                });
            }
            Event::Empty(e) => {
                self.attributes(&e, pos)?;
                let name = from_input(self.input, e.local_name().as_ref());
                self.close(Element {
                    ns: res,
                    name,
                    text: Cow::Borrowed(""),
                    children: Vec::new(),
                });
            }
            Event::End(_) => {
                let el = self.stack.pop().expect("quick-xml checks end tags");
                self.close(el);
            }
            Event::Text(t) => self.text(t, pos)?,
            Event::CData(c) => {
                let text = c.into_inner();
                self.chars(&text, pos)?;
                match self.stack.last_mut() {
                    Some(top) => append(&mut top.text, text),
                    None => return Err(self.not_xml("CDATA outside the root element".into(), pos)),
                }
            }
            Event::GeneralRef(r) => self.reference(r, pos)?,
            Event::DocType(_) => return Err(WireError::Doctype),
            Event::Decl(d) => self.declaration(d, pos)?,
            Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => {
                if let Some(open) = self.stack.last() {
                    return Err(WireError::Truncated {
                        detail: format!("the document ends inside <{}>", open.name),
                    });
                }
                return match self.root.take() {
                    Some(root) => Ok(Some(root)),
                    None => Err(self.not_xml("no root element".into(), pos)),
                };
            }
        }
        Ok(None)
    }

    /// Every attribute of a tag well-formed: no name twice, values of XML 1.0 characters only.
    fn attributes(&self, e: &quick_xml::events::BytesStart<'a>, pos: u64) -> Result<(), WireError> {
        for a in e.attributes() {
            let a = a.map_err(|err| self.not_xml(format!("attribute: {err}"), pos))?;
            self.chars(&a.value, pos)?;
        }
        Ok(())
    }

    /// Refuses text holding a character XML 1.0 does not allow (NUL, most C0 controls,
    /// U+FFFE, U+FFFF): no receiver could parse it, and a receiver that echoes a field into
    /// its answer would write a document that is not XML.
    fn chars(&self, text: &str, pos: u64) -> Result<(), WireError> {
        match text.chars().find(|c| !is_xml_char(*c)) {
            Some(c) => Err(self.not_xml(
                format!("character U+{:04X} is not allowed in XML 1.0", u32::from(c)),
                pos,
            )),
            None => Ok(()),
        }
    }

    /// Whitespace-only text is indentation between elements or around a value: readers trim
    /// values, so it is kept only where it separates two pieces of text (`&amp; &amp;`).
    /// Skipping it saves most text allocations.
    fn text(&mut self, t: quick_xml::events::BytesText<'a>, pos: u64) -> Result<(), WireError> {
        let blank = t.as_ref().bytes().all(|b| b.is_ascii_whitespace());
        match self.stack.last_mut() {
            Some(top) if blank && (top.text.is_empty() || !top.children.is_empty()) => Ok(()),
            Some(_) => {
                let content = t.xml10_content();
                self.chars(&content, pos)?;
                let top = self.stack.last_mut().expect("matched above");
                append(&mut top.text, content);
                Ok(())
            }
            None if blank => Ok(()),
            None => Err(self.not_xml("text outside the root element".into(), pos)),
        }
    }

    /// A character reference or one of the five predefined entities; any other is refused.
    fn reference(&mut self, r: quick_xml::events::BytesRef<'a>, pos: u64) -> Result<(), WireError> {
        let ch = match r.resolve_char_ref() {
            Ok(Some(c)) => c,
            Ok(None) => {
                let name = r.as_ref().to_string();
                predefined_entity(&name).ok_or(WireError::UndefinedEntity(name))?
            }
            Err(e) => return Err(self.not_xml(format!("bad character reference: {e}"), pos)),
        };
        if !is_xml_char(ch) {
            let detail = format!(
                "character reference to U+{:04X}, which XML 1.0 does not allow",
                u32::from(ch)
            );
            return Err(self.not_xml(detail, pos));
        }
        match self.stack.last_mut() {
            Some(top) => {
                top.text.to_mut().push(ch);
                Ok(())
            }
            None => Err(self.not_xml("a reference outside the root element".into(), pos)),
        }
    }

    /// The contract is UTF-8: a declaration naming another encoding is refused.
    fn declaration(&self, d: quick_xml::events::BytesDecl<'a>, pos: u64) -> Result<(), WireError> {
        if let Some(Ok(enc)) = d.encoding() {
            let enc = enc.to_ascii_uppercase();
            if enc != "UTF-8" && enc != "UTF8" {
                let detail = format!("encoding '{enc}' is not supported: the contract is UTF-8");
                return Err(self.not_xml(detail, pos));
            }
        }
        Ok(())
    }
}

/// XML 1.0's `Char` production: what a document may hold (WIRE-1). Writers check free text
/// with it before it goes into a document.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Parses a whole document into its root element.
pub(crate) fn parse(input: &[u8]) -> Result<Element<'_>, WireError> {
    let (xml, input) = prelude(input)?;
    let mut reader = NsReader::from_reader(xml);
    let mut b = Builder {
        xml,
        input,
        stack: Vec::with_capacity(16),
        root: None,
    };
    loop {
        let pos = reader.buffer_position();
        let (res, event) = match reader.read_resolved_event() {
            Ok((res, ev)) => (resolve(&res), ev),
            Err(e) => {
                let open = b.stack.last().map(|e| e.name.to_string());
                return Err(classify(e, reader.error_position(), open, xml));
            }
        };
        if let Some(root) = b.event(event, res, pos)? {
            return Ok(root);
        }
    }
}

fn resolve(res: &ResolveResult<'_>) -> Ns {
    match res {
        ResolveResult::Bound(ns) => match KnownNs::from_uri(ns.as_ref()) {
            Some(k) => Ns::Known(k),
            None => Ns::Other(ns.as_ref().into()),
        },
        ResolveResult::Unbound => Ns::None,
        // An undeclared prefix: keep it visible as a pseudo-namespace so the reader reports it.
        ResolveResult::Unknown(p) => Ns::Other(format!("undeclared-prefix:{p}").into()),
    }
}

fn classify(e: quick_xml::Error, pos: u64, open: Option<String>, xml: &[u8]) -> WireError {
    use quick_xml::errors::{IllFormedError, SyntaxError};
    use quick_xml::Error as E;
    let truncated = match &e {
        E::Syntax(s) => !matches!(s, SyntaxError::InvalidBangMarkup),
        E::IllFormed(IllFormedError::MissingEndTag(_)) => true,
        _ => false,
    };
    if truncated {
        let inside = open.map(|o| format!(" inside <{o}>")).unwrap_or_default();
        return WireError::Truncated {
            detail: format!("{e}{inside}"),
        };
    }
    let (line, column) = line_col(xml, pos);
    WireError::NotXml {
        detail: e.to_string(),
        line,
        column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_resolved_by_uri_not_prefix() {
        let a = parse(br#"<x:E xmlns:x="http://schemas.xmlsoap.org/soap/envelope/"><x:B/></x:E>"#)
            .unwrap();
        let b = parse(br#"<E xmlns="http://schemas.xmlsoap.org/soap/envelope/"><B/></E>"#).unwrap();
        assert!(a.is(KnownNs::Soap11, "E") && b.is(KnownNs::Soap11, "E"));
        assert!(a.children[0].is(KnownNs::Soap11, "B") && b.children[0].is(KnownNs::Soap11, "B"));
    }

    #[test]
    fn entities_and_cdata_become_text() {
        let e = parse(b"<a>x &amp; &#65;&#x42; <![CDATA[<c>]]></a>").unwrap();
        assert_eq!(e.text, "x & AB <c>");
    }

    #[test]
    fn refusals_are_distinct() {
        assert!(matches!(
            parse(b"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>"),
            Err(WireError::Doctype)
        ));
        assert!(matches!(
            parse(b"<a>&x;</a>"),
            Err(WireError::UndefinedEntity(_))
        ));
        assert!(matches!(
            parse(b"<a><b>text</b>"),
            Err(WireError::Truncated { .. })
        ));
        assert!(matches!(
            parse(b"<a><b>te"),
            Err(WireError::Truncated { .. })
        ));
        assert!(matches!(parse(b"<a><b"), Err(WireError::Truncated { .. })));
        assert!(matches!(
            parse(b"{\"json\": true}"),
            Err(WireError::NotXml { .. })
        ));
        assert!(matches!(parse(b""), Err(WireError::NotXml { .. })));
        assert!(matches!(parse(b"<a></b>"), Err(WireError::NotXml { .. })));
        assert!(matches!(parse(b"<a/><b/>"), Err(WireError::NotXml { .. })));
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(matches!(
            parse(deep.as_bytes()),
            Err(WireError::NotXml { .. })
        ));
    }

    #[test]
    fn a_bom_is_accepted() {
        assert!(parse(b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>").is_ok());
        assert!(parse(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>").is_err());
    }
}

#[cfg(test)]
mod whitespace_tests {
    use super::*;

    #[test]
    fn whitespace_between_references_is_kept_and_indentation_dropped() {
        let e = parse(b"<a>\n  <b>&amp; &amp;</b>\n  <c>  x  </c>\n</a>").unwrap();
        assert_eq!(e.text, "");
        assert_eq!(e.children[0].text, "& &");
        assert_eq!(e.children[1].text.trim(), "x");
    }
}
