//! Base64 (RFC 4648, the standard alphabet with `=` padding) and ISO-8859-1, the two encodings
//! of `Beskeddata/Base64` (SP-11: the STAR event as ISO-8859-1 text, then base64).
//!
//! Written here rather than taken from a crate: it is forty lines, it must never panic on
//! input (a receiver decodes what any sender wrote), and `sim-wire` keeps its dependencies to
//! the XML parser.

/// The standard alphabet.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `bytes` as base64 text with padding, on one line.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Why a text is not base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base64Error {
    /// A character outside the alphabet (whitespace is allowed anywhere and skipped).
    #[error("character {0:?} is not base64")]
    Character(char),
    /// The length (without whitespace) is not a multiple of 4, or padding is misplaced.
    #[error("the text is not whole base64 quanta (length {0} without whitespace, or '=' inside)")]
    Length(usize),
}

fn value(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// The bytes of base64 `text`. Whitespace (line breaks a sender or an XML pretty-printer put
/// in) is skipped; anything else outside the alphabet, or broken padding, is an error.
pub fn decode(text: &str) -> Result<Vec<u8>, Base64Error> {
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !clean.len().is_multiple_of(4) {
        return Err(Base64Error::Length(clean.len()));
    }
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    let quanta = clean.len() / 4;
    for (q, chunk) in clean.chunks(4).enumerate() {
        let pad = chunk.iter().rev().take_while(|b| **b == b'=').count();
        if pad > 2 || (pad > 0 && q + 1 != quanta) {
            return Err(Base64Error::Length(clean.len()));
        }
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = if i >= 4 - pad {
                0
            } else {
                value(*c).ok_or(Base64Error::Character(char::from(*c)))?
            };
            n = (n << 6) | v;
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Ok(out)
}

/// `text` in ISO-8859-1 (Latin-1: one byte per character), or `None` if it holds a character
/// Latin-1 cannot write (outside U+0000..U+00FF). Danish æøå are in it.
pub fn iso_8859_1_encode(text: &str) -> Option<Vec<u8>> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect()
}

/// ISO-8859-1 bytes as text: every byte is the character of the same number, so this never
/// fails.
pub fn iso_8859_1_decode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(*b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_test_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn whitespace_is_skipped_and_garbage_refused() {
        assert_eq!(decode("Zm9v\n  YmFy\r\n").unwrap(), b"foobar");
        assert_eq!(decode("Zm9v!mFy"), Err(Base64Error::Character('!')));
        assert!(matches!(decode("Zm9"), Err(Base64Error::Length(3))));
        assert!(matches!(decode("Zg==Zm9v"), Err(Base64Error::Length(8))));
        assert!(matches!(decode("Z==="), Err(Base64Error::Length(4))));
    }

    #[test]
    fn every_byte_round_trips() {
        let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for n in 0..all.len() {
            assert_eq!(decode(&encode(&all[..n])).unwrap(), &all[..n]);
        }
    }

    #[test]
    fn danish_letters_are_one_byte_each_in_iso_8859_1() {
        let bytes = iso_8859_1_encode("Ærø Æble Ødis Århus æøå").unwrap();
        assert_eq!(bytes.len(), "Ærø Æble Ødis Århus æøå".chars().count());
        assert_eq!(&iso_8859_1_encode("æøå").unwrap(), &[0xE6, 0xF8, 0xE5]);
        assert_eq!(iso_8859_1_decode(&bytes), "Ærø Æble Ødis Århus æøå");
        assert_eq!(iso_8859_1_encode("€"), None);
    }
}
