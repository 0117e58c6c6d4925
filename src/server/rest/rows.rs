//! Result rows as JSON values, the way ksqlDB's REST API writes them (TIMESTAMP, DATE and TIME as ISO-8601
//! strings, BYTES as base64, DECIMAL as a number, MAP and STRUCT as objects).

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveTime};
use datafusion::arrow::array::Array;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::scalar::ScalarValue;
use serde_json::{Map, Value};

/// Every row of `batch` as a JSON array of column values.
pub fn rows_as_json(batch: &RecordBatch) -> Vec<Vec<Value>> {
    (0..batch.num_rows())
        .map(|row| {
            batch
                .columns()
                .iter()
                .map(|col| match ScalarValue::try_from_array(col, row) {
                    Ok(v) => scalar_to_json(&v),
                    Err(_) => Value::Null,
                })
                .collect()
        })
        .collect()
}

/// One value as JSON.
pub fn scalar_to_json(v: &ScalarValue) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    match v {
        ScalarValue::Boolean(Some(b)) => Value::Bool(*b),
        ScalarValue::Int8(Some(n)) => Value::from(*n),
        ScalarValue::Int16(Some(n)) => Value::from(*n),
        ScalarValue::Int32(Some(n)) => Value::from(*n),
        ScalarValue::Int64(Some(n)) => Value::from(*n),
        ScalarValue::UInt8(Some(n)) => Value::from(*n),
        ScalarValue::UInt16(Some(n)) => Value::from(*n),
        ScalarValue::UInt32(Some(n)) => Value::from(*n),
        ScalarValue::UInt64(Some(n)) => Value::from(*n),
        ScalarValue::Float32(Some(f)) => float(*f as f64),
        ScalarValue::Float64(Some(f)) => float(*f),
        ScalarValue::Decimal128(Some(_), _, _) => {
            let text = v.to_string();
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            Value::String(s.clone())
        }
        ScalarValue::Binary(Some(b)) | ScalarValue::LargeBinary(Some(b)) | ScalarValue::BinaryView(Some(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        ScalarValue::TimestampMillisecond(Some(ms), _) => DateTime::from_timestamp_millis(*ms)
            .map(|t| Value::String(t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string()))
            .unwrap_or(Value::from(*ms)),
        ScalarValue::Date32(Some(days)) => NaiveDate::from_num_days_from_ce_opt(*days + 719_163)
            .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
            .unwrap_or(Value::from(*days)),
        ScalarValue::Time32Millisecond(Some(ms)) => {
            NaiveTime::from_num_seconds_from_midnight_opt((*ms / 1000) as u32, ((*ms % 1000) * 1_000_000) as u32)
                .map(|t| Value::String(t.format("%H:%M:%S").to_string()))
                .unwrap_or(Value::from(*ms))
        }
        ScalarValue::List(list) => {
            let values = list.value(0);
            Value::Array(
                (0..values.len())
                    .map(|i| {
                        ScalarValue::try_from_array(&values, i)
                            .map(|s| scalar_to_json(&s))
                            .unwrap_or(Value::Null)
                    })
                    .collect(),
            )
        }
        ScalarValue::Struct(s) => {
            let mut map = Map::new();
            for (i, field) in s.fields().iter().enumerate() {
                let value = ScalarValue::try_from_array(s.column(i), 0)
                    .map(|v| scalar_to_json(&v))
                    .unwrap_or(Value::Null);
                map.insert(field.name().clone(), value);
            }
            Value::Object(map)
        }
        ScalarValue::Map(m) => {
            let mut map = Map::new();
            let entries = m.value(0);
            if entries.num_columns() == 2 {
                for i in 0..entries.len() {
                    let key = ScalarValue::try_from_array(entries.column(0), i)
                        .map(|k| match scalar_to_json(&k) {
                            Value::String(s) => s,
                            other => other.to_string(),
                        })
                        .unwrap_or_default();
                    let value = ScalarValue::try_from_array(entries.column(1), i)
                        .map(|v| scalar_to_json(&v))
                        .unwrap_or(Value::Null);
                    map.insert(key, value);
                }
            }
            Value::Object(map)
        }
        other => Value::String(other.to_string()),
    }
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(f.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray, TimestampMillisecondArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use std::sync::Arc;

    #[test]
    fn rows_render_like_ksqldb() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("A", DataType::Int64, true),
            Field::new("B", DataType::Utf8, true),
            Field::new("T", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None])),
                Arc::new(StringArray::from(vec![Some("x"), Some("y")])),
                Arc::new(TimestampMillisecondArray::from(vec![Some(10), None])),
            ],
        )
        .unwrap();
        let rows = rows_as_json(&batch);
        assert_eq!(
            rows[0],
            vec![Value::from(1), Value::from("x"), Value::from("1970-01-01T00:00:00.010")]
        );
        assert_eq!(rows[1], vec![Value::Null, Value::from("y"), Value::Null]);
    }
}
