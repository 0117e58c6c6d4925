//! `INSERT INTO name [(columns)] VALUES (...)`: evaluate the values, coerce them to the column types, encode them
//! in the source's formats and append one record.

use std::sync::Arc;

use base64::Engine as _;
use datafusion::arrow::array::{
    Array, ArrayRef, BinaryArray, Int64Array, RecordBatch, RecordBatchOptions, StringArray, new_null_array,
};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::sql::sqlparser::ast::Expr;

use crate::catalog::SourceDef;
use crate::format::Encoder;
use crate::plan::expr::ExprCompiler;
use crate::plan::properties::format_options;
use crate::sql::ast::SourceKind;
use crate::topics::{Record, partition_for_key};
use crate::types::{ColumnKind, PseudoColumn, SqlType};

use super::{CommandStatus, Engine, EngineError, StatementResult};

impl Engine {
    pub(super) fn insert_values(
        &self,
        target: &str,
        columns: Option<&[String]>,
        values: &[Expr],
    ) -> Result<StatementResult, EngineError> {
        let source = self.catalog.read().source(target).cloned().ok_or_else(|| {
            EngineError::not_found(format!("Cannot insert values into an unknown stream/table: `{target}`"))
        })?;
        let fail = |m: String| EngineError::invalid(format!("Failed to insert values into '{target}'. {m}"));
        if source.name == self.processing_log.name {
            return Err(fail(format!(
                "Cannot insert values into read-only topic: {}",
                source.topic
            )));
        }
        if source.is_source {
            return Err(fail(format!(
                "Cannot insert values into read-only {}: {target}. It was created with CREATE SOURCE.",
                source.kind_name().to_lowercase()
            )));
        }
        let names: Vec<String> = match columns {
            Some(cols) => cols.to_vec(),
            None => source.schema.columns().iter().map(|c| c.name.clone()).collect(),
        };
        if names.len() != values.len() {
            return Err(fail(format!(
                "Failed to prepare statement: Expected number columns and values to match: {}, {}",
                names.len(),
                values.len()
            )));
        }

        // Values are evaluated once, on a one-row batch without columns.
        let empty = Arc::new(Schema::empty());
        let compiler = ExprCompiler::new(&self.session_state, empty.clone(), None)?;
        let one_row =
            RecordBatch::try_new_with_options(empty, vec![], &RecordBatchOptions::new().with_row_count(Some(1)))
                .map_err(|e| fail(e.to_string()))?;

        let mut provided: Vec<Option<ArrayRef>> = vec![None; source.schema.columns().len()];
        let mut timestamp: Option<i64> = None;
        for (name, expr) in names.iter().zip(values) {
            let (physical, _) = compiler.compile(expr).map_err(|e| fail(e.to_string()))?;
            let value = physical
                .evaluate(&one_row)
                .and_then(|v| v.into_array(1))
                .map_err(|e| fail(format!("Could not evaluate {expr}: {}", first_line(&e.to_string()))))?;
            if let Some(pseudo) = PseudoColumn::from_name(name) {
                if pseudo != PseudoColumn::RowTime {
                    return Err(fail(format!("Inserting into column `{name}` is not allowed.")));
                }
                let ts = coerce(&value, &SqlType::BigInt, name, expr).map_err(fail)?;
                let ts = ts.as_any().downcast_ref::<Int64Array>().filter(|a| !a.is_null(0));
                timestamp = Some(
                    ts.map(|a| a.value(0))
                        .ok_or_else(|| fail("ROWTIME must not be null.".into()))?,
                );
                continue;
            }
            let index = source
                .schema
                .index_of(name)
                .ok_or_else(|| fail(format!("Column name {name} does not exist.")))?;
            let ty = &source.schema.columns()[index].ty;
            provided[index] = Some(coerce(&value, ty, name, expr).map_err(fail)?);
        }

        if source.kind == SourceKind::Table {
            let missing: Vec<&str> = source
                .schema
                .columns()
                .iter()
                .zip(&provided)
                .filter(|(c, v)| c.kind == ColumnKind::Key && v.as_ref().is_none_or(|a| a.is_null(0)))
                .map(|(c, _)| c.name.as_str())
                .collect();
            if !missing.is_empty() {
                return Err(fail(format!(
                    "Value for primary key column(s) {} is required for tables",
                    missing.join(", ")
                )));
            }
        }

        let arrays: Vec<ArrayRef> = source
            .schema
            .columns()
            .iter()
            .zip(provided)
            .map(|(c, v)| v.unwrap_or_else(|| new_null_array(&c.ty.to_arrow(), 1)))
            .collect();
        let timestamp = timestamp.unwrap_or_else(|| (self.clock)());
        self.append_row(&source, &arrays, timestamp).map_err(|e| match e.kind {
            super::EngineErrorKind::Invalid(m) => fail(m),
            _ => e,
        })?;
        Ok(StatementResult::Status(CommandStatus {
            message: format!("Inserted 1 row into {target}."),
            command_seq: None,
            query_id: None,
            warnings: vec![],
        }))
    }
}

impl Engine {
    /// Encodes one row (all declared columns, keys first, one-element arrays) in the source's formats and appends
    /// it to the source's topic, partitioned by key as Kafka's default partitioner would.
    pub(super) fn append_row(
        &self,
        source: &SourceDef,
        arrays: &[ArrayRef],
        timestamp: i64,
    ) -> Result<(), EngineError> {
        let key_count = source.schema.key_count();
        let fields = |kind: ColumnKind| -> Vec<(String, SqlType)> {
            source
                .schema
                .columns()
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| (c.name.clone(), c.ty.clone()))
                .collect()
        };
        let invalid = |e: crate::format::FormatError| EngineError::invalid(e.to_string());
        let mut key_encoder =
            Encoder::new(&format_options(&source.key_format)?, &fields(ColumnKind::Key), true).map_err(invalid)?;
        let mut value_encoder = Encoder::new(
            &format_options(&source.value_format)?,
            &fields(ColumnKind::Value),
            false,
        )
        .map_err(invalid)?;
        let key = key_encoder
            .encode(&arrays[..key_count], 1)
            .map_err(invalid)?
            .pop()
            .flatten();
        let value = value_encoder
            .encode(&arrays[key_count..], 1)
            .map_err(invalid)?
            .pop()
            .flatten();
        let partitions = self
            .store
            .describe_topic(&source.topic)?
            .map(|t| t.partitions)
            .ok_or_else(|| EngineError::invalid(format!("its topic {} does not exist.", source.topic)))?;
        let partition = match &key {
            Some(k) => partition_for_key(k, partitions),
            None => 0,
        };
        let record = Record {
            timestamp,
            key,
            value,
            headers: vec![],
        };
        self.store
            .append(&source.topic, partition, std::slice::from_ref(&record), None)?;
        Ok(())
    }

    /// Inserts one row given as a JSON object (`/inserts-stream`): column names match case-insensitively,
    /// missing columns are null, values follow the JSON format's coercions.
    pub fn insert_json(&self, target: &str, row: &[u8]) -> Result<(), EngineError> {
        let source = self.catalog.read().source(target).cloned().ok_or_else(|| {
            EngineError::not_found(format!("Cannot insert values into an unknown stream/table: `{target}`"))
        })?;
        if source.kind != SourceKind::Stream {
            return Err(EngineError::invalid(format!(
                "Cannot insert into {target}: inserts-stream only accepts streams, and {target} is a table."
            )));
        }
        if source.is_source {
            return Err(EngineError::invalid(format!("{target} is read-only.")));
        }
        let fields: Vec<(String, SqlType)> = source
            .schema
            .columns()
            .iter()
            .map(|c| (c.name.clone(), c.ty.clone()))
            .collect();
        let options = crate::format::FormatOptions::new(crate::format::FormatKind::Json);
        let mut decoder =
            crate::format::Decoder::new(&options, &fields, false).map_err(|e| EngineError::invalid(e.to_string()))?;
        let decoded = decoder.decode(&[Some(row)]);
        if let Some((_, e)) = decoded.errors.first() {
            return Err(EngineError::invalid(e.to_string()));
        }
        if !decoded.null_rows.is_empty() {
            return Err(EngineError::invalid(
                "Expected a JSON object with column values, got null.",
            ));
        }
        self.append_row(&source, &decoded.arrays, (self.clock)())
    }
}

/// Coerces an evaluated value to a column type with ksqlDB's rules: widening only (INT to BIGINT/DOUBLE/DECIMAL,
/// BIGINT to DOUBLE/DECIMAL, DECIMAL to DOUBLE), integer literals that fit, and STRING to TIMESTAMP/DATE/TIME/BYTES.
fn coerce(value: &ArrayRef, to: &SqlType, column: &str, expr: &Expr) -> Result<ArrayRef, String> {
    let target = to.to_arrow();
    let from = value.data_type();
    if from == &target {
        return Ok(value.clone());
    }
    if from == &DataType::Null || value.is_null(0) {
        return Ok(new_null_array(&target, 1));
    }
    let mismatch = || {
        let found = SqlType::from_arrow(from)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| from.to_string());
        let hint = if matches!(to, SqlType::Timestamp) {
            ". Timestamp format must be yyyy-mm-ddThh:mm:ss[.S]"
        } else {
            ""
        };
        format!("Expected type {to} for field `{column}` but got {found}({expr}){hint}")
    };
    let allowed = match (from, to) {
        (f, SqlType::Int | SqlType::BigInt) => f.is_integer(),
        (f, SqlType::Double) => f.is_numeric(),
        (f, SqlType::Decimal { .. }) => f.is_integer() || matches!(f, DataType::Decimal128(..)),
        (
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View,
            SqlType::Timestamp | SqlType::Date | SqlType::Time,
        ) => true,
        (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, SqlType::String) => true,
        (DataType::Utf8, SqlType::Bytes) => {
            let s = value
                .as_any()
                .downcast_ref::<StringArray>()
                .map(|a| a.value(0))
                .unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|_| format!("Expected base64-encoded BYTES for field `{column}`"))?;
            return Ok(Arc::new(BinaryArray::from(vec![Some(bytes.as_slice())])));
        }
        (DataType::List(_), SqlType::Array(_))
        | (DataType::Struct(_), SqlType::Struct(_))
        | (DataType::Map(..), SqlType::Map(..)) => true,
        _ => false,
    };
    if !allowed {
        return Err(mismatch());
    }
    cast_with_options(
        value,
        &target,
        &CastOptions {
            safe: false,
            ..Default::default()
        },
    )
    .map_err(|_| mismatch())
}

fn first_line(m: &str) -> String {
    m.lines().next().unwrap_or(m).to_string()
}
