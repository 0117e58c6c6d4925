//! [`FormatKind`] and [`FormatOptions`]: what a statement's `FORMAT`, `KEY_FORMAT`, `VALUE_FORMAT`,
//! `KEY_DELIMITER`/`VALUE_DELIMITER` and `WRAP_SINGLE_VALUE` properties select.

use std::fmt;
use std::str::FromStr;

use super::FormatError;

/// The serialization formats Weir implements. ksqlDB's Schema Registry formats are recognised only to give a
/// clear error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatKind {
    /// JSON objects, or anonymous JSON values for unwrapped single columns.
    Json,
    /// One CSV line per record (comma or another single-character delimiter).
    Delimited,
    /// A single primitive written by Kafka's standard serializers (big-endian integers, UTF-8 strings).
    Kafka,
    /// No data: the marker format of key-less streams.
    None,
}

/// The names listed in "unsupported format" errors.
pub const SUPPORTED_FORMATS: &str = "JSON, DELIMITED, KAFKA, NONE";

/// Formats ksqlDB has that need Schema Registry, which Weir does not provide.
const SCHEMA_REGISTRY_FORMATS: [&str; 5] = ["AVRO", "PROTOBUF", "PROTOBUF_NOSR", "JSON_SR", "JSON_SCHEMA"];

impl FormatKind {
    /// The canonical (upper-case) name, as ksqlDB prints it.
    pub fn name(self) -> &'static str {
        match self {
            FormatKind::Json => "JSON",
            FormatKind::Delimited => "DELIMITED",
            FormatKind::Kafka => "KAFKA",
            FormatKind::None => "NONE",
        }
    }
}

impl fmt::Display for FormatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FormatKind {
    type Err = FormatError;

    /// Parses a property value case-insensitively (`'json'` and `'JSON'` are the same format). Surrounding
    /// whitespace is ignored because some clients send `'JSON '`.
    fn from_str(s: &str) -> Result<Self, FormatError> {
        let name = s.trim().to_ascii_uppercase();
        match name.as_str() {
            "JSON" => Ok(FormatKind::Json),
            "DELIMITED" => Ok(FormatKind::Delimited),
            "KAFKA" => Ok(FormatKind::Kafka),
            "NONE" => Ok(FormatKind::None),
            other if SCHEMA_REGISTRY_FORMATS.contains(&other) => Err(FormatError::Config(format!(
                "The '{other}' format is not supported: it needs Schema Registry, which Weir does not \
                 provide. Supported formats: {SUPPORTED_FORMATS}."
            ))),
            _ => Err(FormatError::Config(format!(
                "Unknown format: '{}'. Supported formats: {SUPPORTED_FORMATS}.",
                s.trim()
            ))),
        }
    }
}

/// Everything a codec needs besides the columns. Built once per source or sink from its `WITH` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatOptions {
    /// The serialization format.
    pub kind: FormatKind,
    /// The DELIMITED field separator; `,` unless `KEY_DELIMITER`/`VALUE_DELIMITER` says otherwise. Ignored by
    /// the other formats.
    pub delimiter: char,
    /// `WRAP_SINGLE_VALUE`: `None` means "not set", which for JSON values means wrapped (ksqlDB's default for
    /// `ksql.persistence.wrap.single.values`). Only meaningful for value formats with one column.
    pub wrap_single_value: Option<bool>,
}

impl FormatOptions {
    /// Options with ksqlDB's defaults for `kind`.
    pub fn new(kind: FormatKind) -> Self {
        FormatOptions {
            kind,
            delimiter: ',',
            wrap_single_value: None,
        }
    }

    /// Builds options from the raw property strings of a `WITH` clause.
    ///
    /// # Example
    /// ```
    /// use weir::format::{FormatKind, FormatOptions};
    /// let opts = FormatOptions::parse("delimited", Some("TAB"), None).unwrap();
    /// assert_eq!(opts.kind, FormatKind::Delimited);
    /// assert_eq!(opts.delimiter, '\t');
    /// assert!(FormatOptions::parse("AVRO", None, None).is_err());
    /// ```
    pub fn parse(format: &str, delimiter: Option<&str>, wrap_single_value: Option<bool>) -> Result<Self, FormatError> {
        let kind: FormatKind = format.parse()?;
        let delimiter = match delimiter {
            None => ',',
            Some(d) if kind == FormatKind::Delimited => parse_delimiter(d)?,
            Some(_) => {
                return Err(FormatError::Config(format!(
                    "A delimiter can only be set for the DELIMITED format, not for '{kind}'. Remove \
                     KEY_DELIMITER/VALUE_DELIMITER or use FORMAT='DELIMITED'."
                )));
            }
        };
        Ok(FormatOptions {
            kind,
            delimiter,
            wrap_single_value,
        })
    }

    /// Sets `WRAP_SINGLE_VALUE`.
    pub fn with_wrap_single_value(mut self, wrap: Option<bool>) -> Self {
        self.wrap_single_value = wrap;
        self
    }

    /// Sets the DELIMITED separator.
    pub fn with_delimiter(mut self, delimiter: char) -> Self {
        self.delimiter = delimiter;
        self
    }
}

/// Parses a `KEY_DELIMITER`/`VALUE_DELIMITER` value the way ksqlDB does: any single character, or the names
/// `TAB` and `SPACE` (matched case-insensitively). A bare space or tab is rejected because it is
/// indistinguishable from an empty value in most shells and UIs.
pub fn parse_delimiter(s: &str) -> Result<char, FormatError> {
    if s.trim().is_empty() {
        return Err(FormatError::Config(
            "Delimiter cannot be empty, if you meant to have a tab or space for delimiter, please use the \
             special values 'TAB' or 'SPACE'. Example valid value: ';'"
                .into(),
        ));
    }
    let mut chars = s.chars();
    let delimiter = match (chars.next(), chars.next()) {
        (Some(c), None) => c,
        _ => match s.to_ascii_uppercase().as_str() {
            "TAB" => '\t',
            "SPACE" => ' ',
            _ => {
                return Err(FormatError::Config(format!(
                    "Invalid delimiter value: '{s}'. Delimiter must be a single character or TAB,SPACE. \
                     Example valid value: ';'"
                )));
            }
        },
    };
    if matches!(delimiter, '"' | '\r' | '\n') {
        return Err(FormatError::Config(format!(
            "Invalid delimiter value: {delimiter:?}. The delimiter cannot be the quote character or a line \
             break. Example valid value: ';'"
        )));
    }
    Ok(delimiter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_formats_case_insensitively() {
        assert_eq!("json".parse::<FormatKind>().unwrap(), FormatKind::Json);
        assert_eq!("Delimited".parse::<FormatKind>().unwrap(), FormatKind::Delimited);
        assert_eq!(" KAFKA ".parse::<FormatKind>().unwrap(), FormatKind::Kafka);
        assert_eq!("none".parse::<FormatKind>().unwrap(), FormatKind::None);
        for k in [
            FormatKind::Json,
            FormatKind::Delimited,
            FormatKind::Kafka,
            FormatKind::None,
        ] {
            assert_eq!(k.to_string().parse::<FormatKind>().unwrap(), k);
        }
    }

    #[test]
    fn rejects_unknown_and_schema_registry_formats_listing_supported_ones() {
        for f in ["avro", "PROTOBUF", "json_sr", "PROTOBUF_NOSR"] {
            let e = f.parse::<FormatKind>().unwrap_err().to_string();
            assert!(e.contains("Schema Registry"), "{e}");
            assert!(e.contains(SUPPORTED_FORMATS), "{e}");
        }
        let e = "XML".parse::<FormatKind>().unwrap_err().to_string();
        assert_eq!(
            e,
            "Unknown format: 'XML'. Supported formats: JSON, DELIMITED, KAFKA, NONE."
        );
    }

    #[test]
    fn delimiters() {
        assert_eq!(parse_delimiter(",").unwrap(), ',');
        assert_eq!(parse_delimiter("|").unwrap(), '|');
        assert_eq!(parse_delimiter("TAB").unwrap(), '\t');
        assert_eq!(parse_delimiter("tab").unwrap(), '\t');
        assert_eq!(parse_delimiter("SPACE").unwrap(), ' ');
        assert_eq!(parse_delimiter("§").unwrap(), '§');
        assert!(
            parse_delimiter(" ")
                .unwrap_err()
                .to_string()
                .contains("cannot be empty")
        );
        assert!(parse_delimiter("").is_err());
        assert!(
            parse_delimiter(";;")
                .unwrap_err()
                .to_string()
                .contains("Invalid delimiter value: ';;'")
        );
        assert!(parse_delimiter("\"").is_err());
        assert!(parse_delimiter("\n").is_err());
    }

    #[test]
    fn options_from_properties() {
        let o = FormatOptions::parse("JSON", None, Some(false)).unwrap();
        assert_eq!(o.kind, FormatKind::Json);
        assert_eq!(o.delimiter, ',');
        assert_eq!(o.wrap_single_value, Some(false));
        let e = FormatOptions::parse("JSON", Some("|"), None).unwrap_err();
        assert!(e.to_string().contains("only be set for the DELIMITED format"), "{e}");
        let o = FormatOptions::new(FormatKind::Delimited)
            .with_delimiter(';')
            .with_wrap_single_value(Some(true));
        assert_eq!(o.delimiter, ';');
        assert_eq!(o.wrap_single_value, Some(true));
    }
}
