//! [`FormatError`]: everything that can go wrong between record bytes and Arrow arrays.
//!
//! The variants say who has to act: `Config` and `Schema` reject a statement (the user fixes the `WITH` clause
//! or the columns), `Deserialize` rejects one record (the caller sends it to the dead letters with its raw
//! bytes and carries on), `Serialize` rejects a batch handed to an encoder (the arrays do not match the
//! declared columns, which is a planner bug or an unsupported expression type).

/// Which part of a Kafka record a codec reads or writes; used in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// The record key (`KEY_FORMAT`).
    Key,
    /// The record value (`VALUE_FORMAT`).
    Value,
}

impl Target {
    pub(crate) fn from_is_key(is_key: bool) -> Self {
        if is_key { Target::Key } else { Target::Value }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Target::Key => "key",
            Target::Value => "value",
        })
    }
}

/// An error of the format layer. Messages follow ksqlDB's wording where ksqlDB has one, so users can search
/// for them, and add what the user should change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// A format name or format property in a statement is unknown or invalid. The statement is rejected.
    #[error("{0}")]
    Config(String),
    /// The declared columns cannot be stored in the chosen format (wrong count or type). The statement is
    /// rejected.
    #[error("{0}")]
    Schema(String),
    /// One record could not be decoded. Only that record is affected: the caller routes it to the dead
    /// letters together with its raw bytes.
    #[error("Failed to deserialize {target}. {message}")]
    Deserialize { target: Target, message: String },
    /// A batch could not be encoded because an array does not match its declared column.
    #[error("Failed to serialize {target}. {message}")]
    Serialize { target: Target, message: String },
}

impl FormatError {
    /// The message without the "Failed to deserialize value." prefix; handy in tests and for the
    /// processing log, which records the target separately.
    pub fn detail(&self) -> &str {
        match self {
            FormatError::Config(m) | FormatError::Schema(m) => m,
            FormatError::Deserialize { message, .. } | FormatError::Serialize { message, .. } => message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_target() {
        let e = FormatError::Deserialize {
            target: Target::Key,
            message: "boom".into(),
        };
        assert_eq!(e.to_string(), "Failed to deserialize key. boom");
        assert_eq!(e.detail(), "boom");
        let e = FormatError::Serialize {
            target: Target::Value,
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "Failed to serialize value. bad");
        assert_eq!(FormatError::Config("c".into()).detail(), "c");
    }
}
