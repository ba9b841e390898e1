//! The CVR number: the Danish business register's 8-digit organisation number.

use std::fmt;
use std::str::FromStr;

/// A CVR number that is known to be exactly 8 ASCII digits.
///
/// Why a newtype: a certificate's CVR decides which organisation is calling, so a value that
/// slipped through unvalidated (a 7-digit typo, a stray space) would silently match nothing
/// or, worse, be compared as text against a differently formatted value. Holding only valid
/// values makes every comparison meaningful.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cvr(String);

/// A text that is not a CVR number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a CVR number is exactly 8 digits, got {0:?}")]
pub struct CvrError(pub String);

impl Cvr {
    /// Validates `text` as a CVR number (exactly 8 ASCII digits, nothing around them).
    pub fn new(text: &str) -> Result<Self, CvrError> {
        if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Cvr(text.to_owned()))
        } else {
            Err(CvrError(text.to_owned()))
        }
    }

    /// The 8 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Cvr {
    type Err = CvrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cvr::new(s)
    }
}

impl fmt::Display for Cvr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exactly_eight_digits() {
        assert_eq!(Cvr::new("19435075").unwrap().as_str(), "19435075");
        for bad in [
            "",
            "1943507",
            "194350750",
            "1943507a",
            " 19435075",
            "19435075 ",
            "１9435075",
        ] {
            assert!(Cvr::new(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
