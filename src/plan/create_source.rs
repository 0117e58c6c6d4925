//! `CREATE [SOURCE] STREAM|TABLE name (columns) WITH (...)`: from the statement to a [`SourceDef`].

use crate::catalog::SourceDef;
use crate::sql::ast::{ColumnConstraint, CreateSource, SourceKind};
use crate::types::{Column, LogicalSchema, PseudoColumn, WINDOWEND, WINDOWSTART};

use super::PlanError;
use super::properties::{
    SOURCE_PROPERTIES, check_allowed, formats, positive_int_prop, string_prop, timestamp_spec, validate_formats,
};

/// Builds the definition of a declared source. Topic existence is the engine's concern.
pub fn plan_create_source(stmt: &CreateSource, sql: &str, default_partitions: u32) -> Result<SourceDef, PlanError> {
    check_allowed(&stmt.properties, SOURCE_PROPERTIES)?;
    if stmt.columns.is_empty() {
        return Err(PlanError::invalid("The statement does not define any columns."));
    }
    let mut columns = Vec::with_capacity(stmt.columns.len());
    for def in &stmt.columns {
        if PseudoColumn::from_name(&def.name).is_some() || def.name == WINDOWSTART || def.name == WINDOWEND {
            return Err(PlanError::invalid(format!(
                "'{}' is a reserved column name. You cannot use it as a name for a column.",
                def.name
            )));
        }
        if columns.iter().any(|c: &Column| c.name == def.name) {
            return Err(PlanError::invalid(format!("Duplicate column names: `{}`", def.name)));
        }
        let column = match (&def.constraint, stmt.kind) {
            (ColumnConstraint::None, _) => Column::value(&def.name, def.ty.clone()),
            (ColumnConstraint::Key, SourceKind::Stream) | (ColumnConstraint::PrimaryKey, SourceKind::Table) => {
                Column::key(&def.name, def.ty.clone())
            }
            (ColumnConstraint::Key, SourceKind::Table) => {
                return Err(PlanError::invalid(format!(
                    "Column `{}` is a 'KEY' column: please use 'PRIMARY KEY' for tables.\nTables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints.",
                    def.name
                )));
            }
            (ColumnConstraint::PrimaryKey, SourceKind::Stream) => {
                return Err(PlanError::invalid(format!(
                    "Column `{}` is a 'PRIMARY KEY' column: please use 'KEY' for streams.\nTables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints.",
                    def.name
                )));
            }
            (ColumnConstraint::Headers | ColumnConstraint::Header(_), _) => {
                return Err(PlanError::not_supported(
                    format!("HEADER columns (`{}`)", def.name),
                    None,
                ));
            }
        };
        columns.push(column);
    }
    let schema = LogicalSchema::new(columns);
    if stmt.kind == SourceKind::Table && schema.key_count() == 0 {
        return Err(PlanError::invalid(
            "Tables require a PRIMARY KEY. Please define the PRIMARY KEY.",
        ));
    }
    if schema.value_columns().next().is_none() {
        return Err(PlanError::invalid(
            "The statement does not define any value columns. Add at least one column without KEY.",
        ));
    }
    let topic = string_prop(&stmt.properties, "KAFKA_TOPIC").ok_or_else(|| {
        PlanError::invalid(
            "Missing required property \"KAFKA_TOPIC\" which has no default value. Add it to the WITH clause, e.g. WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON').",
        )
    })?;
    let (mut key_format, value_format) = formats(&stmt.properties, None)?;
    if schema.key_count() == 0 {
        // A keyless stream ignores its record keys. A declared KEY_FORMAT (or FORMAT) is kept: queries that re-key
        // the stream (GROUP BY, PARTITION BY) inherit it, as in ksqlDB.
        crate::format::FormatOptions::parse(&key_format.format, key_format.delimiter.as_deref(), None)
            .map_err(|e| PlanError::invalid(e.to_string()))?;
        if stmt.properties.get("KEY_FORMAT").is_none() && stmt.properties.get("FORMAT").is_none() {
            key_format = crate::catalog::FormatSpec::named("NONE");
        }
    }
    validate_formats(&schema, &key_format, &value_format)?;
    let timestamp = timestamp_spec(&stmt.properties, &schema)?;
    let partitions = positive_int_prop(&stmt.properties, "PARTITIONS")?.unwrap_or(default_partitions);
    positive_int_prop(&stmt.properties, "REPLICAS")?;
    Ok(SourceDef {
        name: stmt.name.clone(),
        kind: stmt.kind,
        schema,
        topic,
        partitions,
        key_format,
        value_format,
        timestamp,
        is_source: stmt.is_source,
        sql: sql.to_string(),
        created_by: None,
        window: None,
    })
}
