//! `WITH (...)` properties: which ones a statement accepts, and what they mean for the source being defined.

use crate::catalog::{FormatSpec, TimestampSpec};
use crate::format::{self, FormatOptions};
use crate::sql::ast::{PropertyValue, WithProperties};
use crate::types::{LogicalSchema, SqlType};

use super::PlanError;

/// Properties `CREATE STREAM|TABLE` accepts.
pub const SOURCE_PROPERTIES: &[&str] = &[
    "KAFKA_TOPIC",
    "PARTITIONS",
    "REPLICAS",
    "FORMAT",
    "KEY_FORMAT",
    "VALUE_FORMAT",
    "TIMESTAMP",
    "TIMESTAMP_FORMAT",
    "VALUE_DELIMITER",
    "KEY_DELIMITER",
    "WRAP_SINGLE_VALUE",
];

/// Rejects properties outside `allowed`, naming them all at once.
pub fn check_allowed(props: &WithProperties, allowed: &[&str]) -> Result<(), PlanError> {
    let unknown: Vec<&str> = props
        .entries
        .iter()
        .map(|(k, _, _)| k.as_str())
        .filter(|k| !allowed.contains(k))
        .collect();
    if let Some(first) = props.entries.iter().find(|(k, _, _)| !allowed.contains(&k.as_str())) {
        return Err(PlanError::invalid_at(
            format!(
                "Invalid config variable(s) in the WITH clause: {}. Valid properties are: {}.",
                unknown.join(","),
                allowed.join(", ")
            ),
            first.2,
        ));
    }
    Ok(())
}

/// A string property (`'x'` or an unquoted word).
pub fn string_prop(props: &WithProperties, key: &str) -> Option<String> {
    props.get(key).map(|v| v.as_text())
}

/// A positive integer property such as `PARTITIONS`.
pub fn positive_int_prop(props: &WithProperties, key: &str) -> Result<Option<u32>, PlanError> {
    match props.get(key) {
        None => Ok(None),
        Some(v) => {
            let text = v.as_text();
            match text.trim().parse::<u32>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(PlanError::invalid(format!(
                    "Invalid value for {key}: '{text}'. It must be a positive integer."
                ))),
            }
        }
    }
}

/// A boolean property such as `WRAP_SINGLE_VALUE`.
pub fn bool_prop(props: &WithProperties, key: &str) -> Result<Option<bool>, PlanError> {
    match props.get(key) {
        None => Ok(None),
        Some(PropertyValue::Boolean(b)) => Ok(Some(*b)),
        Some(v) => match v.as_text().to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            other => Err(PlanError::invalid(format!(
                "Invalid value for {key}: '{other}'. It must be true or false."
            ))),
        },
    }
}

/// Key and value formats from `FORMAT` / `KEY_FORMAT` / `VALUE_FORMAT` and the delimiter/wrapping options, with
/// `inherited` filling what the statement leaves out (the source's formats, for `CREATE ... AS SELECT`).
pub fn formats(
    props: &WithProperties,
    inherited: Option<(&FormatSpec, &FormatSpec)>,
) -> Result<(FormatSpec, FormatSpec), PlanError> {
    let format = string_prop(props, "FORMAT");
    let key_format = string_prop(props, "KEY_FORMAT");
    let value_format = string_prop(props, "VALUE_FORMAT");
    if format.is_some() && key_format.is_some() {
        return Err(PlanError::invalid(
            "Cannot supply both 'KEY_FORMAT' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'.",
        ));
    }
    if format.is_some() && value_format.is_some() {
        return Err(PlanError::invalid(
            "Cannot supply both 'VALUE_FORMAT' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'.",
        ));
    }
    let key_name = key_format
        .or_else(|| format.clone())
        .or_else(|| inherited.map(|(k, _)| k.format.clone()))
        .unwrap_or_else(|| "KAFKA".to_string());
    let value_name = value_format
        .or(format)
        .or_else(|| inherited.map(|(_, v)| v.format.clone()))
        .ok_or_else(|| {
            PlanError::invalid(
                "Statement is missing the 'VALUE_FORMAT' property from the WITH clause. Add it, e.g. WITH (VALUE_FORMAT='JSON').",
            )
        })?;
    let mut key = FormatSpec::named(&key_name);
    let mut value = FormatSpec::named(&value_name);
    key.delimiter = string_prop(props, "KEY_DELIMITER").or_else(|| {
        inherited
            .filter(|(k, _)| k.format == key.format)
            .and_then(|(k, _)| k.delimiter.clone())
    });
    value.delimiter = string_prop(props, "VALUE_DELIMITER").or_else(|| {
        inherited
            .filter(|(_, v)| v.format == value.format)
            .and_then(|(_, v)| v.delimiter.clone())
    });
    value.wrap_single_value = bool_prop(props, "WRAP_SINGLE_VALUE")?;
    if key.delimiter.is_some() && key.format != "DELIMITED" {
        return Err(PlanError::invalid(format!(
            "KEY_DELIMITER is only valid with KEY_FORMAT='DELIMITED', not '{}'.",
            key.format
        )));
    }
    if value.delimiter.is_some() && value.format != "DELIMITED" {
        return Err(PlanError::invalid(format!(
            "VALUE_DELIMITER is only valid with VALUE_FORMAT='DELIMITED', not '{}'.",
            value.format
        )));
    }
    Ok((key, value))
}

/// The codec options for a declared format.
pub fn format_options(spec: &FormatSpec) -> Result<FormatOptions, PlanError> {
    FormatOptions::parse(&spec.format, spec.delimiter.as_deref(), spec.wrap_single_value)
        .map_err(|e| PlanError::invalid(e.to_string()))
}

/// Checks that the key and value columns can be serialized in their formats.
pub fn validate_formats(schema: &LogicalSchema, key: &FormatSpec, value: &FormatSpec) -> Result<(), PlanError> {
    let cols = |it: Vec<&crate::types::Column>| -> Vec<(String, SqlType)> {
        it.into_iter().map(|c| (c.name.clone(), c.ty.clone())).collect()
    };
    let key_cols = cols(schema.key_columns().collect());
    let value_cols = cols(schema.value_columns().collect());
    format::validate(&format_options(key)?, &key_cols, true).map_err(|e| PlanError::invalid(e.to_string()))?;
    format::validate(&format_options(value)?, &value_cols, false).map_err(|e| PlanError::invalid(e.to_string()))?;
    Ok(())
}

/// `TIMESTAMP` / `TIMESTAMP_FORMAT`: the column must exist and hold a time.
pub fn timestamp_spec(props: &WithProperties, schema: &LogicalSchema) -> Result<Option<TimestampSpec>, PlanError> {
    let format = string_prop(props, "TIMESTAMP_FORMAT");
    let Some(column) = string_prop(props, "TIMESTAMP") else {
        if format.is_some() {
            return Err(PlanError::invalid(
                "TIMESTAMP_FORMAT is only valid together with TIMESTAMP. Name the column that holds the event time, e.g. WITH (TIMESTAMP='ts', TIMESTAMP_FORMAT='yyyy-MM-dd HH:mm:ss').",
            ));
        }
        return Ok(None);
    };
    // The column name is an identifier inside a string: upper-case unless quoted.
    let name = normalize_quoted_identifier(&column);
    let col = schema.find(&name).ok_or_else(|| {
        PlanError::invalid(format!(
            "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{name}'"
        ))
    })?;
    match (&col.ty, &format) {
        (SqlType::BigInt | SqlType::Timestamp, None) => {}
        (SqlType::String, Some(_)) => {}
        (SqlType::String, None) => {
            return Err(PlanError::invalid(format!(
                "Timestamp column, `{name}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified. Add TIMESTAMP_FORMAT, e.g. TIMESTAMP_FORMAT='yyyy-MM-dd''T''HH:mm:ss'."
            )));
        }
        (SqlType::BigInt | SqlType::Timestamp, Some(_)) => {
            return Err(PlanError::invalid(format!(
                "TIMESTAMP_FORMAT applies only to STRING timestamp columns, but {name} is {}.",
                col.ty
            )));
        }
        (other, _) => {
            return Err(PlanError::invalid(format!(
                "Timestamp column, `{name}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified. It is {other}."
            )));
        }
    }
    Ok(Some(TimestampSpec { column: name, format }))
}

/// `ts` -> `TS`, `` `ts` `` -> `ts`, `"ts"` -> `ts`.
pub fn normalize_quoted_identifier(text: &str) -> String {
    let t = text.trim();
    if t.len() >= 2 && ((t.starts_with('`') && t.ends_with('`')) || (t.starts_with('"') && t.ends_with('"'))) {
        t[1..t.len() - 1].to_string()
    } else {
        t.to_ascii_uppercase()
    }
}
