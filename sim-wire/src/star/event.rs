//! The STAR event as the Beskedfordeler carries it (seed 004 §3.1.3.2.2): one
//! `IllnessUpdateRegistration` wrapped in `ns0:GetIllnessUpdatedResponse`, exactly the shape
//! of the seed's example, **encoded ISO-8859-1** with that encoding declared. The
//! Haendelsesbesked's `Beskeddata/Base64` holds these bytes, Base64-encoded (SP-11).
//!
//! ISO-8859-1 carries Danish letters (æ, ø, å, Æ, Ø, Å) as one byte each; a character outside
//! it (€, ő, an emoji) cannot be carried and is refused by [`event_document`], never replaced.
//! [`read_event_document`] transcodes ISO-8859-1 to UTF-8 (each byte is the code point of
//! the same number) before the crate's UTF-8 parser reads it, so `read(write(e)) == e`.

use super::model::IllnessUpdateRegistration;
use super::ns;
use super::read::{registrations, StarReadError};
use super::write::{registration, Out, StarWriteError};
use crate::dom;

/// The event document's encoding, as declared in it and in `Beskeddata/Base64/@encoding`.
pub const EVENT_ENCODING: &str = "ISO-8859-1";

/// The event document of one registration: ISO-8859-1 bytes, declared as such, shaped as seed
/// 004's example (`ns0:GetIllnessUpdatedResponse`, unqualified children). Refuses text that
/// ISO-8859-1 or XML 1.0 cannot carry.
pub fn event_document(r: &IllnessUpdateRegistration) -> Result<Vec<u8>, StarWriteError> {
    let declaration = format!("<?xml version=\"1.0\" encoding=\"{EVENT_ENCODING}\"?>\n");
    let mut o = Out::new(&declaration, 0, true);
    let xmlns = format!(" xmlns:{}=\"{}\"", ns::ILLNESS_PREFIX, ns::ILLNESS);
    o.open_with("ns0:GetIllnessUpdatedResponse", &xmlns);
    registration(&mut o, r);
    o.close();
    let text = o.finish()?;
    text.chars()
        .map(|c| {
            u8::try_from(u32::from(c)).map_err(|_| StarWriteError::NotLatin1 {
                path: "GetIllnessUpdatedResponse".into(),
                character: c,
            })
        })
        .collect()
}

/// Reads an event document: ISO-8859-1 as declared (or with no declaration: the encoding
/// Beskeddata names), UTF-8 when declared so (seed 004's example declares UTF-8); exactly one
/// `IllnessUpdateRegistration` under `GetIllnessUpdatedResponse`.
pub fn read_event_document(bytes: &[u8]) -> Result<IllnessUpdateRegistration, StarReadError> {
    let text = decode(bytes)?;
    let root = dom::parse(text.as_bytes())?;
    let expected = "GetIllnessUpdatedResponse";
    if *root.name != *expected {
        return Err(StarReadError::UnknownOperation {
            found: root.clark(),
            expected: format!("an event document: {{{}}}{expected}", ns::ILLNESS),
        });
    }
    let mut all = registrations(&root, expected)?;
    match all.len() {
        1 => Ok(all.remove(0)),
        n => Err(StarReadError::EventCount { found: n }),
    }
}

/// The encodings an event document may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Latin1,
    Utf8,
}

/// The document as UTF-8 text without its XML declaration (the parser takes UTF-8 only, and a
/// declaration naming ISO-8859-1 would be refused by it).
fn decode(bytes: &[u8]) -> Result<String, StarReadError> {
    let (bom, bytes) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    let (body_start, declared) = declaration(bytes)?;
    let encoding = match (bom, declared) {
        (true, Some(Encoding::Latin1)) => {
            return Err(StarReadError::Encoding {
                detail: "a UTF-8 byte-order mark on a document declared ISO-8859-1".into(),
            })
        }
        (true, _) => Encoding::Utf8,
        (false, Some(e)) => e,
        (false, None) => Encoding::Latin1,
    };
    let body = &bytes[body_start..];
    match encoding {
        Encoding::Latin1 => Ok(body.iter().map(|b| char::from(*b)).collect()),
        Encoding::Utf8 => match std::str::from_utf8(body) {
            Ok(s) => Ok(s.to_string()),
            // The parser says where the bytes stop being UTF-8.
            Err(_) => Err(match dom::parse(body) {
                Err(e) => e.into(),
                Ok(_) => StarReadError::Encoding {
                    detail: "declared UTF-8 but not valid UTF-8".into(),
                },
            }),
        },
    }
}

/// Where the document proper starts (after an XML declaration, if any) and the encoding the
/// declaration names, if it names one.
fn declaration(bytes: &[u8]) -> Result<(usize, Option<Encoding>), StarReadError> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let rest = &bytes[start..];
    let is_decl = rest.starts_with(b"<?xml")
        && rest
            .get(5)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b'?');
    if !is_decl {
        return Ok((0, None));
    }
    let Some(end) = rest.windows(2).position(|w| w == b"?>") else {
        // An unterminated declaration: the parser says so.
        return Ok((0, None));
    };
    let decl = String::from_utf8_lossy(&rest[..end]);
    let Some(i) = decl.find("encoding") else {
        return Ok((start + end + 2, None));
    };
    let after = decl[i + "encoding".len()..].trim_start();
    let value = after
        .strip_prefix('=')
        .map(str::trim_start)
        .and_then(|v| {
            let q = v.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            v[1..].split(q).next()
        })
        .unwrap_or("");
    let encoding = match value.to_ascii_uppercase().as_str() {
        "ISO-8859-1" | "ISO8859-1" | "ISO_8859-1" | "LATIN1" | "LATIN-1" | "L1" => {
            Encoding::Latin1
        }
        "UTF-8" | "UTF8" | "US-ASCII" | "ASCII" => Encoding::Utf8,
        _ => {
            return Err(StarReadError::Encoding {
                detail: format!(
                    "the document declares encoding '{value}'; an event document is {EVENT_ENCODING} (or UTF-8)"
                ),
            })
        }
    };
    Ok((start + end + 2, Some(encoding)))
}
