//! The one error type of the crate: what is wrong with a scenario, and where.

use std::fmt;

/// A position in the scenario text (1-based; `0:0` when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pos {
    /// 1-based line; 0 when the problem has no single place (e.g. an empty file).
    pub line: u64,
    /// 1-based column (characters).
    pub column: u64,
}

impl Pos {
    /// Unknown position.
    pub const UNKNOWN: Pos = Pos { line: 0, column: 0 };

    pub(crate) fn of(loc: &serde_saphyr::Location) -> Pos {
        Pos {
            line: loc.line(),
            column: loc.column(),
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a scenario text was refused: YAML syntax, an unknown field, or a value that does not
/// make sense (an unknown fault kind, a CVR that is no municipality, a duration without
/// unit). Every error names the line and column of the offending node so an editor can jump
/// there; `line == 0` only when the text has no node to point at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ScenarioError {
    /// 1-based line of the offending node.
    pub line: u64,
    /// 1-based column of the offending node.
    pub column: u64,
    /// What is wrong, in plain words, without the position.
    pub message: String,
}

impl ScenarioError {
    /// An error at `pos`.
    pub fn at(pos: Pos, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    pub(crate) fn at_loc(loc: &serde_saphyr::Location, message: impl Into<String>) -> Self {
        ScenarioError::at(Pos::of(loc), message)
    }

    /// The position as a [`Pos`].
    pub fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    /// From a serde-saphyr error: its position, and its message without the position suffix
    /// and the source snippet (we print our own).
    pub(crate) fn from_yaml(e: &serde_saphyr::Error) -> ScenarioError {
        let pos = e.location().map(|l| Pos::of(&l)).unwrap_or(Pos::UNKNOWN);
        let mut message = e.without_snippet().to_string();
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        let message = message.trim_start_matches("error: ").to_string();
        ScenarioError::at(pos, message)
    }
}
