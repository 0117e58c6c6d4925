//! [`SqlType`]: a ksqlDB column type and its Arrow representation.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};

/// A column type in the ksqlDB dialect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SqlType {
    Boolean,
    Int,
    BigInt,
    Double,
    /// `DECIMAL(precision, scale)`; precision 1..=38, scale 0..=precision.
    Decimal {
        precision: u8,
        scale: i8,
    },
    String,
    Bytes,
    /// Milliseconds since the epoch, no time zone (ksqlDB's `TIMESTAMP`).
    Timestamp,
    /// Days since the epoch.
    Date,
    /// Milliseconds since midnight.
    Time,
    Array(Box<SqlType>),
    /// ksqlDB maps always have nullable values; keys are usually `STRING`.
    Map(Box<SqlType>, Box<SqlType>),
    /// Ordered, named fields. Names keep the case they were declared with (upper-cased when unquoted).
    Struct(Vec<(String, SqlType)>),
}

/// A type that Weir cannot represent.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TypeError {
    #[error("unsupported Arrow type {0} has no ksqlDB equivalent")]
    UnsupportedArrow(String),
    #[error("DECIMAL precision must be between 1 and 38 and scale between 0 and the precision, got DECIMAL({0}, {1})")]
    BadDecimal(i64, i64),
}

impl SqlType {
    /// Builds a decimal type, checking ksqlDB's bounds.
    pub fn decimal(precision: i64, scale: i64) -> Result<Self, TypeError> {
        if !(1..=38).contains(&precision) || scale < 0 || scale > precision {
            return Err(TypeError::BadDecimal(precision, scale));
        }
        Ok(SqlType::Decimal {
            precision: precision as u8,
            scale: scale as i8,
        })
    }

    /// The Arrow type that holds values of this type in a `RecordBatch`.
    pub fn to_arrow(&self) -> DataType {
        match self {
            SqlType::Boolean => DataType::Boolean,
            SqlType::Int => DataType::Int32,
            SqlType::BigInt => DataType::Int64,
            SqlType::Double => DataType::Float64,
            SqlType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
            SqlType::String => DataType::Utf8,
            SqlType::Bytes => DataType::Binary,
            SqlType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
            SqlType::Date => DataType::Date32,
            SqlType::Time => DataType::Time32(TimeUnit::Millisecond),
            SqlType::Array(item) => DataType::List(Arc::new(Field::new("item", item.to_arrow(), true))),
            SqlType::Map(k, v) => DataType::Map(
                Arc::new(Field::new(
                    "entries",
                    DataType::Struct(Fields::from(vec![
                        Field::new("key", k.to_arrow(), false),
                        Field::new("value", v.to_arrow(), true),
                    ])),
                    false,
                )),
                false,
            ),
            SqlType::Struct(fields) => DataType::Struct(
                fields
                    .iter()
                    .map(|(name, ty)| Field::new(name, ty.to_arrow(), true))
                    .collect::<Fields>(),
            ),
        }
    }

    /// The ksqlDB type of an Arrow type, widening where ksqlDB has no narrower type
    /// (small integers become `INT`, `FLOAT` becomes `DOUBLE`, large strings become `STRING`).
    pub fn from_arrow(dt: &DataType) -> Result<Self, TypeError> {
        Ok(match dt {
            DataType::Boolean => SqlType::Boolean,
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => SqlType::Int,
            DataType::Int64 | DataType::UInt32 | DataType::UInt64 => SqlType::BigInt,
            DataType::Float16 | DataType::Float32 | DataType::Float64 => SqlType::Double,
            DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) => {
                SqlType::decimal(*p as i64, *s as i64)?
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => SqlType::String,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
                SqlType::Bytes
            }
            DataType::Timestamp(_, _) => SqlType::Timestamp,
            DataType::Date32 | DataType::Date64 => SqlType::Date,
            DataType::Time32(_) | DataType::Time64(_) => SqlType::Time,
            DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) | DataType::FixedSizeList(f, _) => {
                SqlType::Array(Box::new(SqlType::from_arrow(f.data_type())?))
            }
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => SqlType::Map(
                    Box::new(SqlType::from_arrow(kv[0].data_type())?),
                    Box::new(SqlType::from_arrow(kv[1].data_type())?),
                ),
                other => return Err(TypeError::UnsupportedArrow(other.to_string())),
            },
            DataType::Struct(fields) => SqlType::Struct(
                fields
                    .iter()
                    .map(|f| Ok((f.name().clone(), SqlType::from_arrow(f.data_type())?)))
                    .collect::<Result<_, TypeError>>()?,
            ),
            DataType::Null => SqlType::String,
            DataType::Dictionary(_, value) => SqlType::from_arrow(value)?,
            other => return Err(TypeError::UnsupportedArrow(other.to_string())),
        })
    }

    /// True for types that the KAFKA format can serialize (a single primitive).
    pub fn is_kafka_primitive(&self) -> bool {
        matches!(
            self,
            SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::String | SqlType::Bytes
        )
    }

    /// True for the numeric types (`INT`, `BIGINT`, `DOUBLE`, `DECIMAL`).
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::Decimal { .. }
        )
    }
}

impl fmt::Display for SqlType {
    /// Formats the type the way ksqlDB prints it in `DESCRIBE` and schemas (`STRUCT<`A` INT>`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => f.write_str("BOOLEAN"),
            SqlType::Int => f.write_str("INTEGER"),
            SqlType::BigInt => f.write_str("BIGINT"),
            SqlType::Double => f.write_str("DOUBLE"),
            SqlType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            SqlType::String => f.write_str("STRING"),
            SqlType::Bytes => f.write_str("BYTES"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Time => f.write_str("TIME"),
            SqlType::Array(item) => write!(f, "ARRAY<{item}>"),
            SqlType::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            SqlType::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{name}` {ty}")?;
                }
                f.write_str(">")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrow_round_trip_for_every_type() {
        let types = vec![
            SqlType::Boolean,
            SqlType::Int,
            SqlType::BigInt,
            SqlType::Double,
            SqlType::decimal(10, 2).unwrap(),
            SqlType::String,
            SqlType::Bytes,
            SqlType::Timestamp,
            SqlType::Date,
            SqlType::Time,
            SqlType::Array(Box::new(SqlType::Int)),
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Double)),
            SqlType::Struct(vec![
                ("A".into(), SqlType::String),
                ("B".into(), SqlType::Array(Box::new(SqlType::BigInt))),
            ]),
        ];
        for t in types {
            assert_eq!(SqlType::from_arrow(&t.to_arrow()).unwrap(), t, "{t}");
        }
    }

    #[test]
    fn display_matches_ksqldb() {
        let t = SqlType::Struct(vec![
            (
                "F1".into(),
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)),
            ),
            ("F2".into(), SqlType::decimal(5, 1).unwrap()),
        ]);
        assert_eq!(t.to_string(), "STRUCT<`F1` MAP<STRING, INTEGER>, `F2` DECIMAL(5, 1)>");
    }

    #[test]
    fn decimal_bounds() {
        assert!(SqlType::decimal(0, 0).is_err());
        assert!(SqlType::decimal(39, 0).is_err());
        assert!(SqlType::decimal(4, 5).is_err());
        assert!(SqlType::decimal(38, 38).is_ok());
    }
}
