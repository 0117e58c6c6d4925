//! [`validate`]: can these columns be stored in this format? Checked when a statement is planned, so that a
//! bad `WITH` clause fails the statement instead of every record.
//!
//! The rules are ksqlDB's (`KafkaSerdeFactory`, `NoneFormat`, `KsqlDelimitedDeserializer`,
//! `SerdeFeaturesFactory`): KAFKA holds exactly one INT/BIGINT/DOUBLE/STRING/BYTES column (or none, for
//! keys); NONE holds no columns and only as a key format; DELIMITED holds no ARRAY/MAP/STRUCT; JSON holds
//! anything but needs STRING map keys (a JSON object key is always text). `WRAP_SINGLE_VALUE` is a value
//! property; JSON supports both settings, KAFKA and DELIMITED only `false` (they never wrap), NONE neither, and
//! it needs exactly one value column.

use super::{FormatError, FormatKind, FormatOptions};
use crate::types::SqlType;

/// Checks that `columns` (in order) can be serialized with `options` as a key (`is_key`) or value format.
///
/// # Example
/// ```
/// use weir::format::{validate, FormatKind, FormatOptions};
/// use weir::types::SqlType;
/// let kafka = FormatOptions::new(FormatKind::Kafka);
/// assert!(validate(&kafka, &[("ID".into(), SqlType::BigInt)], true).is_ok());
/// let e = validate(&kafka, &[("A".into(), SqlType::Int), ("B".into(), SqlType::Int)], true).unwrap_err();
/// assert!(e.to_string().contains("only supports a single field"));
/// ```
pub fn validate(options: &FormatOptions, columns: &[(String, SqlType)], is_key: bool) -> Result<(), FormatError> {
    match options.kind {
        FormatKind::None => validate_none(columns, is_key)?,
        FormatKind::Kafka => validate_kafka(columns, is_key)?,
        FormatKind::Delimited => validate_delimited(columns)?,
        FormatKind::Json => validate_json(columns)?,
    }
    validate_wrapping(options, columns, is_key)
}

/// ksqlDB's rendering of a column list in format errors: ``[`A` INTEGER, `K` STRING KEY]``.
fn column_list(columns: &[(String, SqlType)], is_key: bool) -> String {
    let suffix = if is_key { " KEY" } else { "" };
    let items: Vec<String> = columns
        .iter()
        .map(|(name, ty)| format!("`{name}` {ty}{suffix}"))
        .collect();
    format!("[{}]", items.join(", "))
}

fn validate_none(columns: &[(String, SqlType)], is_key: bool) -> Result<(), FormatError> {
    if !columns.is_empty() {
        let fix = if is_key {
            "Remove the KEY columns or choose another KEY_FORMAT."
        } else {
            "Choose JSON, DELIMITED or KAFKA for the value."
        };
        return Err(FormatError::Schema(format!(
            "The 'NONE' format can only be used when no columns are defined. Got: {}. {fix}",
            column_list(columns, is_key)
        )));
    }
    Ok(())
}

fn validate_kafka(columns: &[(String, SqlType)], is_key: bool) -> Result<(), FormatError> {
    match columns {
        [] if is_key => Ok(()),
        [] => Err(FormatError::Schema(
            "The 'KAFKA' format needs exactly one value column; the value has none.".into(),
        )),
        [(name, ty)] => {
            if ty.is_kafka_primitive() {
                Ok(())
            } else {
                Err(FormatError::Schema(format!(
                    "The 'KAFKA' format does not support type '{}', column: `{name}`. Supported types: INT, \
                     BIGINT, DOUBLE, STRING, BYTES; use JSON or DELIMITED for other types.",
                    base_type_name(ty)
                )))
            }
        }
        _ => Err(FormatError::Schema(format!(
            "The 'KAFKA' format only supports a single field. Got: {}. Use JSON or DELIMITED for several \
             columns.",
            column_list(columns, is_key)
        ))),
    }
}

fn validate_delimited(columns: &[(String, SqlType)]) -> Result<(), FormatError> {
    for (name, ty) in columns {
        if matches!(ty, SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_)) {
            return Err(FormatError::Schema(format!(
                "The 'DELIMITED' format does not support type '{}', column: `{name}`. Use JSON for ARRAY, MAP \
                 and STRUCT columns.",
                base_type_name(ty)
            )));
        }
    }
    Ok(())
}

fn validate_json(columns: &[(String, SqlType)]) -> Result<(), FormatError> {
    fn check(name: &str, ty: &SqlType) -> Result<(), FormatError> {
        match ty {
            SqlType::Array(item) => check(name, item),
            SqlType::Map(key, value) => {
                if **key != SqlType::String {
                    return Err(FormatError::Schema(format!(
                        "The 'JSON' format only supports MAP types with STRING keys, column `{name}` has {ty}. \
                         Declare the map as MAP<STRING, {value}>."
                    )));
                }
                check(name, value)
            }
            SqlType::Struct(fields) => fields.iter().try_for_each(|(_, t)| check(name, t)),
            _ => Ok(()),
        }
    }
    columns.iter().try_for_each(|(name, ty)| check(name, ty))
}

fn validate_wrapping(options: &FormatOptions, columns: &[(String, SqlType)], is_key: bool) -> Result<(), FormatError> {
    let Some(wrap) = options.wrap_single_value else {
        return Ok(());
    };
    if is_key {
        return Err(FormatError::Config(
            "'WRAP_SINGLE_VALUE' only applies to values: a single key column is never wrapped and several key \
             columns always are."
                .into(),
        ));
    }
    let supported = match options.kind {
        FormatKind::Json => true,
        FormatKind::Delimited => !wrap,
        FormatKind::Kafka => false,
        FormatKind::None => false,
    };
    if !supported {
        return Err(FormatError::Config(format!(
            "Format '{}' does not support 'WRAP_SINGLE_VALUE' set to '{wrap}'.",
            options.kind
        )));
    }
    if columns.len() != 1 {
        return Err(FormatError::Config(format!(
            "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas; this value has {} columns. \
             Remove the property.",
            columns.len()
        )));
    }
    Ok(())
}

/// The type name without parameters, as ksqlDB prints it in "does not support type" messages.
fn base_type_name(ty: &SqlType) -> &'static str {
    match ty {
        SqlType::Boolean => "BOOLEAN",
        SqlType::Int => "INTEGER",
        SqlType::BigInt => "BIGINT",
        SqlType::Double => "DOUBLE",
        SqlType::Decimal { .. } => "DECIMAL",
        SqlType::String => "STRING",
        SqlType::Bytes => "BYTES",
        SqlType::Timestamp => "TIMESTAMP",
        SqlType::Date => "DATE",
        SqlType::Time => "TIME",
        SqlType::Array(_) => "ARRAY",
        SqlType::Map(..) => "MAP",
        SqlType::Struct(_) => "STRUCT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(types: &[SqlType]) -> Vec<(String, SqlType)> {
        types
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("C{i}"), t.clone()))
            .collect()
    }

    fn opts(kind: FormatKind) -> FormatOptions {
        FormatOptions::new(kind)
    }

    #[test]
    fn kafka_accepts_one_primitive_or_no_key() {
        for t in [
            SqlType::Int,
            SqlType::BigInt,
            SqlType::Double,
            SqlType::String,
            SqlType::Bytes,
        ] {
            validate(&opts(FormatKind::Kafka), &cols(std::slice::from_ref(&t)), true).unwrap();
            validate(&opts(FormatKind::Kafka), &cols(&[t]), false).unwrap();
        }
        validate(&opts(FormatKind::Kafka), &[], true).unwrap();
        let e = validate(&opts(FormatKind::Kafka), &[], false).unwrap_err();
        assert!(e.to_string().contains("exactly one value column"), "{e}");
    }

    #[test]
    fn kafka_rejects_other_types_and_several_columns() {
        for (t, name) in [
            (SqlType::Boolean, "BOOLEAN"),
            (SqlType::decimal(4, 2).unwrap(), "DECIMAL"),
            (SqlType::Timestamp, "TIMESTAMP"),
            (SqlType::Array(Box::new(SqlType::Int)), "ARRAY"),
        ] {
            let e = validate(&opts(FormatKind::Kafka), &cols(&[t]), false)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!("does not support type '{name}', column: `C0`")),
                "{e}"
            );
        }
        let e = validate(&opts(FormatKind::Kafka), &cols(&[SqlType::Int, SqlType::String]), true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "The 'KAFKA' format only supports a single field. Got: [`C0` INTEGER KEY, `C1` STRING KEY]. Use \
             JSON or DELIMITED for several columns."
        );
    }

    #[test]
    fn none_only_for_empty_keys() {
        validate(&opts(FormatKind::None), &[], true).unwrap();
        let e = validate(&opts(FormatKind::None), &cols(&[SqlType::Int]), true).unwrap_err();
        assert!(
            e.to_string().contains("no columns are defined. Got: [`C0` INTEGER"),
            "{e}"
        );
        let e = validate(&opts(FormatKind::None), &cols(&[SqlType::Int]), false).unwrap_err();
        assert!(e.to_string().contains("Got: [`C0` INTEGER]. Choose JSON"), "{e}");
    }

    #[test]
    fn delimited_rejects_nested_types() {
        validate(
            &opts(FormatKind::Delimited),
            &cols(&[
                SqlType::Int,
                SqlType::decimal(5, 1).unwrap(),
                SqlType::Bytes,
                SqlType::Time,
            ]),
            false,
        )
        .unwrap();
        for (t, n) in [
            (SqlType::Array(Box::new(SqlType::Int)), "ARRAY"),
            (SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)), "MAP"),
            (SqlType::Struct(vec![("F".into(), SqlType::Int)]), "STRUCT"),
        ] {
            let e = validate(&opts(FormatKind::Delimited), &cols(&[SqlType::Int, t]), false).unwrap_err();
            assert!(
                e.to_string().contains(&format!(
                    "The 'DELIMITED' format does not support type '{n}', column: `C1`"
                )),
                "{e}"
            );
        }
    }

    #[test]
    fn json_needs_string_map_keys_at_any_depth() {
        let ok = SqlType::Array(Box::new(SqlType::Map(
            Box::new(SqlType::String),
            Box::new(SqlType::Int),
        )));
        validate(&opts(FormatKind::Json), &cols(&[ok]), false).unwrap();
        let bad = SqlType::Struct(vec![(
            "M".into(),
            SqlType::Map(Box::new(SqlType::Int), Box::new(SqlType::Int)),
        )]);
        let e = validate(&opts(FormatKind::Json), &cols(&[bad]), false).unwrap_err();
        assert!(
            e.to_string().contains("only supports MAP types with STRING keys"),
            "{e}"
        );
    }

    #[test]
    fn wrap_single_value_rules() {
        let one = cols(&[SqlType::Int]);
        let two = cols(&[SqlType::Int, SqlType::Int]);
        let json = |w| opts(FormatKind::Json).with_wrap_single_value(Some(w));
        validate(&json(true), &one, false).unwrap();
        validate(&json(false), &one, false).unwrap();
        let e = validate(&json(false), &two, false).unwrap_err();
        assert!(
            e.to_string()
                .contains("'WRAP_SINGLE_VALUE' is only valid for single-field value schemas")
        );
        let e = validate(&json(true), &one, true).unwrap_err();
        assert!(e.to_string().contains("only applies to values"), "{e}");
        for kind in [FormatKind::Kafka, FormatKind::Delimited] {
            let e = validate(&opts(kind).with_wrap_single_value(Some(true)), &one, false).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("Format '{kind}' does not support 'WRAP_SINGLE_VALUE' set to 'true'.")
            );
        }
        // DELIMITED values are always unwrapped, so `false` only restates that; KAFKA rejects the property.
        validate(
            &opts(FormatKind::Delimited).with_wrap_single_value(Some(false)),
            &one,
            false,
        )
        .unwrap();
        let e = validate(
            &opts(FormatKind::Kafka).with_wrap_single_value(Some(false)),
            &one,
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Format 'KAFKA' does not support 'WRAP_SINGLE_VALUE' set to 'false'."
        );
    }
}
