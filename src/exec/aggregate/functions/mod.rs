//! ksqlDB's aggregate functions as columnar group accumulators ([`GroupsAccumulator`]).
//!
//! | function | arguments | returns | undo (tables) |
//! | --- | --- | --- | --- |
//! | `COUNT(*)`, `COUNT(col)` | none, any | BIGINT | yes |
//! | `SUM` | INT, BIGINT, DOUBLE, DECIMAL(p,s) | same type | yes |
//! | `AVG` | INT, BIGINT, DOUBLE, DECIMAL | DOUBLE | yes |
//! | `MIN`, `MAX` | INT, BIGINT, DOUBLE, DECIMAL, DATE, TIME, TIMESTAMP, STRING, BYTES | same type | no |
//! | `COUNT_DISTINCT` | any scalar | BIGINT | no |
//! | `COLLECT_LIST` | any scalar | ARRAY | yes |
//! | `COLLECT_SET` | any scalar | ARRAY | no |
//! | `EARLIEST_BY_OFFSET`, `LATEST_BY_OFFSET` | scalar `[, n] [, ignoreNulls]` | type, or ARRAY with `n` | no |
//! | `TOPK`, `TOPKDISTINCT` | ordered scalar, `k` | ARRAY | no |
//! | `STDDEV_SAMP`, `STDDEV_SAMPLE` | INT, BIGINT, DOUBLE, DECIMAL | DOUBLE | yes |
//! | `HISTOGRAM` | STRING | MAP<STRING, BIGINT> | yes |
//!
//! Every function merges (session windows). "Undo" follows ksqlDB exactly: a function is retractable where its
//! ksqlDB UDAF implements `undo` (`TableUdaf` / `TableAggregationFunction`). Each module documents the ksqlDB
//! source it follows. "Scalar" is every type but ARRAY, MAP and STRUCT.

mod collect;
mod common;
mod count;
mod distinct;
mod histogram;
mod minmax;
mod offset;
mod stddev;
mod sum;
mod topk;
mod value;

#[cfg(test)]
mod tests;

use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType,
    TimestampMillisecondType,
};
use datafusion::scalar::ScalarValue;

pub use collect::COLLECT_LIMIT;
pub use histogram::HISTOGRAM_LIMIT;

use super::accumulator::{AggregateCall, AggregateSpec, GroupsAccumulator};
use crate::types::SqlType;
use value::ValueType;

/// The aggregate functions' names, upper-case.
pub const AGGREGATE_NAMES: &[&str] = &[
    "AVG",
    "COLLECT_LIST",
    "COLLECT_SET",
    "COUNT",
    "COUNT_DISTINCT",
    "EARLIEST_BY_OFFSET",
    "HISTOGRAM",
    "LATEST_BY_OFFSET",
    "MAX",
    "MIN",
    "STDDEV_SAMP",
    "STDDEV_SAMPLE",
    "SUM",
    "TOPK",
    "TOPKDISTINCT",
];

/// Whether `name` (any case) is an aggregate function.
pub fn is_aggregate(name: &str) -> bool {
    AGGREGATE_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

fn spec(
    name: &str,
    return_type: SqlType,
    supports_retract: bool,
    create: impl Fn() -> Box<dyn GroupsAccumulator> + Send + Sync + 'static,
) -> Result<AggregateSpec, String> {
    Ok(AggregateSpec {
        name: name.to_string(),
        return_type,
        supports_retract,
        create: Box::new(create),
    })
}

/// The value of literal argument `i` as an integer; an error naming the parameter when it is not a literal.
fn int_literal(call: &AggregateCall<'_>, name: &str, i: usize) -> Result<i64, String> {
    match call.literals.get(i).and_then(Option::as_ref) {
        Some(ScalarValue::Int8(Some(v))) => Ok(*v as i64),
        Some(ScalarValue::Int16(Some(v))) => Ok(*v as i64),
        Some(ScalarValue::Int32(Some(v))) => Ok(*v as i64),
        Some(ScalarValue::Int64(Some(v))) => Ok(*v),
        Some(ScalarValue::UInt8(Some(v))) => Ok(*v as i64),
        Some(ScalarValue::UInt16(Some(v))) => Ok(*v as i64),
        Some(ScalarValue::UInt32(Some(v))) => Ok(*v as i64),
        Some(ScalarValue::UInt64(Some(v))) => i64::try_from(*v).map_err(|_| format!("{name}: value {v} is too large")),
        _ => Err(format!(
            "Parameter {} passed to function {name} must be a literal constant.",
            i + 1
        )),
    }
}

fn bool_literal(call: &AggregateCall<'_>, name: &str, i: usize) -> Result<bool, String> {
    match call.literals.get(i).and_then(Option::as_ref) {
        Some(ScalarValue::Boolean(Some(v))) => Ok(*v),
        _ => Err(format!(
            "Parameter {} passed to function {name} must be a literal constant.",
            i + 1
        )),
    }
}

fn is_int(t: &SqlType) -> bool {
    matches!(t, SqlType::Int | SqlType::BigInt)
}

/// Resolves a call to an aggregate function: its return type, whether it can aggregate a table, and how to
/// make its state. The error is the message for the user, worded as ksqlDB words it.
pub fn resolve_aggregate(call: &AggregateCall<'_>) -> Result<AggregateSpec, String> {
    let name = call.name.to_ascii_uppercase();
    let args = call.arg_types;
    let not_accepted = || {
        format!(
            "Function '{name}' does not accept parameters ({}).",
            args.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        )
    };
    let n = name.as_str();
    match (n, args) {
        ("COUNT", []) => spec(n, SqlType::BigInt, true, || Box::new(count::Count::new(true))),
        ("COUNT", [_]) => spec(n, SqlType::BigInt, true, || Box::new(count::Count::new(false))),
        ("SUM", [t]) => sum_spec(t).ok_or_else(not_accepted)?,
        ("AVG", [t]) => avg_spec(t).ok_or_else(not_accepted)?,
        ("MIN" | "MAX", [t]) => min_max_spec(n, t).ok_or_else(not_accepted)?,
        ("STDDEV_SAMP" | "STDDEV_SAMPLE", [t]) => stddev_spec(n, t).ok_or_else(not_accepted)?,
        ("COUNT_DISTINCT", [t]) => {
            let vt = ValueType::scalar(t).ok_or_else(not_accepted)?;
            spec(n, SqlType::BigInt, false, move || {
                Box::new(distinct::CountDistinct::new(vt.clone()))
            })
        }
        ("COLLECT_LIST" | "COLLECT_SET", [t]) => {
            let vt = ValueType::scalar(t).ok_or_else(not_accepted)?;
            let distinct = n == "COLLECT_SET";
            spec(n, SqlType::Array(Box::new(t.clone())), !distinct, move || {
                Box::new(collect::Collect::new(vt.clone(), distinct, COLLECT_LIMIT))
            })
        }
        ("HISTOGRAM", [SqlType::String]) => spec(
            n,
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::BigInt)),
            true,
            || Box::new(histogram::Histogram::new()),
        ),
        ("EARLIEST_BY_OFFSET" | "LATEST_BY_OFFSET", [t, rest @ ..]) => {
            let vt = ValueType::scalar(t).ok_or_else(not_accepted)?;
            let (count, ignore_nulls) = match rest {
                [] => (None, true),
                [SqlType::Boolean] => (None, bool_literal(call, n, 1)?),
                [c] if is_int(c) => (Some(int_literal(call, n, 1)?), true),
                [c, SqlType::Boolean] if is_int(c) => (Some(int_literal(call, n, 1)?), bool_literal(call, n, 2)?),
                _ => return Err(not_accepted()),
            };
            let latest = n == "LATEST_BY_OFFSET";
            if let Some(c) = count
                && c < 1
            {
                let which = if latest { "latestN" } else { "earliestN" };
                return Err(format!("{which} must be 1 or greater"));
            }
            let count = count.map(|c| c.min(i32::MAX as i64) as usize);
            let return_type = match count {
                Some(_) => SqlType::Array(Box::new(t.clone())),
                None => t.clone(),
            };
            spec(n, return_type, false, move || match count {
                Some(_) => Box::new(offset::ByOffset::new(vt.clone(), latest, count, ignore_nulls)),
                None => Box::new(offset::SingleByOffset::new(vt.clone(), latest, ignore_nulls)),
            })
        }
        ("TOPK" | "TOPKDISTINCT", [t, k]) if is_int(k) => {
            if !matches!(
                t,
                SqlType::Int
                    | SqlType::BigInt
                    | SqlType::Double
                    | SqlType::String
                    | SqlType::Decimal { .. }
                    | SqlType::Date
                    | SqlType::Time
                    | SqlType::Timestamp
                    | SqlType::Bytes
            ) {
                return Err(not_accepted());
            }
            let vt = ValueType::scalar(t).ok_or_else(not_accepted)?;
            let k = int_literal(call, n, 1)?;
            if k < 1 {
                return Err(format!("{n} k must be 1 or greater"));
            }
            let k = k.min(i32::MAX as i64) as usize;
            let distinct = n == "TOPKDISTINCT";
            spec(n, SqlType::Array(Box::new(t.clone())), false, move || {
                Box::new(topk::TopK::new(vt.clone(), k, distinct))
            })
        }
        _ if is_aggregate(n) => Err(not_accepted()),
        _ => Err(format!("Can't find any functions with the name '{name}'")),
    }
}

fn sum_spec(t: &SqlType) -> Option<Result<AggregateSpec, String>> {
    let dt = t.to_arrow();
    Some(match t {
        SqlType::Int => spec("SUM", t.clone(), true, move || {
            Box::new(sum::Sum::<Int32Type>::new(dt.clone()))
        }),
        SqlType::BigInt => spec("SUM", t.clone(), true, move || {
            Box::new(sum::Sum::<Int64Type>::new(dt.clone()))
        }),
        SqlType::Double => spec("SUM", t.clone(), true, move || {
            Box::new(sum::Sum::<Float64Type>::new(dt.clone()))
        }),
        SqlType::Decimal { .. } => spec("SUM", t.clone(), true, move || {
            Box::new(sum::Sum::<Decimal128Type>::new(dt.clone()))
        }),
        _ => return None,
    })
}

fn avg_spec(t: &SqlType) -> Option<Result<AggregateSpec, String>> {
    let dt = t.to_arrow();
    Some(match t {
        SqlType::Int => spec("AVG", SqlType::Double, true, move || {
            Box::new(sum::Avg::<Int32Type>::new(dt.clone(), false))
        }),
        SqlType::BigInt => spec("AVG", SqlType::Double, true, move || {
            Box::new(sum::Avg::<Int64Type>::new(dt.clone(), false))
        }),
        SqlType::Double => spec("AVG", SqlType::Double, true, move || {
            Box::new(sum::Avg::<Float64Type>::new(dt.clone(), false))
        }),
        SqlType::Decimal { .. } => spec("AVG", SqlType::Double, true, || {
            Box::new(sum::Avg::<Float64Type>::new(DataType::Float64, true))
        }),
        _ => return None,
    })
}

fn stddev_spec(name: &str, t: &SqlType) -> Option<Result<AggregateSpec, String>> {
    let dt = t.to_arrow();
    let sqrt = name == "STDDEV_SAMPLE";
    Some(match t {
        SqlType::Int => spec(name, SqlType::Double, true, move || {
            Box::new(stddev::StdDev::<Int32Type>::new(dt.clone(), false, sqrt))
        }),
        SqlType::BigInt => spec(name, SqlType::Double, true, move || {
            Box::new(stddev::StdDev::<Int64Type>::new(dt.clone(), false, sqrt))
        }),
        SqlType::Double => spec(name, SqlType::Double, true, move || {
            Box::new(stddev::StdDev::<Float64Type>::new(dt.clone(), false, sqrt))
        }),
        SqlType::Decimal { .. } => spec(name, SqlType::Double, true, move || {
            Box::new(stddev::StdDev::<Float64Type>::new(DataType::Float64, true, sqrt))
        }),
        _ => return None,
    })
}

fn min_max_spec(name: &str, t: &SqlType) -> Option<Result<AggregateSpec, String>> {
    let dt = t.to_arrow();
    let max = name == "MAX";
    fn prim<T>(name: &str, t: &SqlType, dt: DataType, max: bool) -> Result<AggregateSpec, String>
    where
        T: datafusion::arrow::array::ArrowPrimitiveType,
        T::Native: minmax::Fixed,
    {
        spec(name, t.clone(), false, move || {
            Box::new(minmax::MinMaxPrimitive::<T>::new(dt.clone(), max))
        })
    }
    Some(match t {
        SqlType::Int => prim::<Int32Type>(name, t, dt, max),
        SqlType::BigInt => prim::<Int64Type>(name, t, dt, max),
        SqlType::Double => prim::<Float64Type>(name, t, dt, max),
        SqlType::Decimal { .. } => prim::<Decimal128Type>(name, t, dt, max),
        SqlType::Date => prim::<Date32Type>(name, t, dt, max),
        SqlType::Time => prim::<Time32MillisecondType>(name, t, dt, max),
        SqlType::Timestamp => prim::<TimestampMillisecondType>(name, t, dt, max),
        SqlType::String | SqlType::Bytes => {
            let vt = ValueType::scalar(t)?;
            spec(name, t.clone(), false, move || {
                Box::new(minmax::MinMaxBytes::new(vt.clone(), max))
            })
        }
        _ => return None,
    })
}
