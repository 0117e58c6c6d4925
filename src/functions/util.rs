//! Shared plumbing for the ksqlDB scalar functions: argument coercion classes, evaluation over scalars and
//! arrays, and error constructors.
//!
//! Every function in this module tree coerces its arguments to a small set of canonical Arrow types (`Utf8`,
//! `Int64` for integral positions and lengths, `Binary`, `Float64`, ...), so the kernels only ever see those.
//! Invocation re-casts defensively as well, so a caller that skipped DataFusion's type-coercion pass still gets a
//! correct answer instead of a downcast error.

use std::fmt::Display;
use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

/// An execution error that names the function, e.g. `SUBSTRING: ...`.
pub(crate) fn exec_err(func: &str, msg: impl Display) -> DataFusionError {
    DataFusionError::Execution(format!("{func}: {msg}"))
}

/// A planning error (wrong argument count or types) that names the function.
pub(crate) fn plan_err(func: &str, msg: impl Display) -> DataFusionError {
    DataFusionError::Plan(format!("{func}: {msg}"))
}

/// Planning error for arguments that match none of a function's forms.
pub(crate) fn bad_args(func: &str, args: &[DataType], expected: &str) -> DataFusionError {
    let got = args.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ");
    plan_err(
        func,
        format!("cannot be called with ({got}); expected {func}({expected})"),
    )
}

/// The canonical string type for a string-like argument (`NULL` counts as a string).
pub(crate) fn string_type(dt: &DataType) -> Option<DataType> {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => Some(DataType::Utf8),
        DataType::Dictionary(_, v) if string_type(v).is_some() => Some(DataType::Utf8),
        _ => None,
    }
}

/// The canonical bytes type for a binary argument.
pub(crate) fn bytes_type(dt: &DataType) -> Option<DataType> {
    match dt {
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            Some(DataType::Binary)
        }
        _ => None,
    }
}

/// Integral arguments (positions, lengths, counts) are all evaluated as `Int64`, so no value a user can write
/// overflows on the way in; `NULL` is accepted too.
pub(crate) fn int_type(dt: &DataType) -> Option<DataType> {
    match dt {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Null => Some(DataType::Int64),
        _ => None,
    }
}

/// ksqlDB's numeric types: small integers widen to `INT`, `BIGINT` stays, floats become `DOUBLE`, decimals stay
/// decimals. `NULL` becomes `INT`.
pub(crate) fn numeric_type(dt: &DataType) -> Option<DataType> {
    match dt {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 | DataType::Null => {
            Some(DataType::Int32)
        }
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => Some(DataType::Int64),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => Some(DataType::Float64),
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) => {
            Some(DataType::Decimal128(*p, *s))
        }
        _ => None,
    }
}

/// Casts `array` to `to` unless it already has that type.
pub(crate) fn cast_to(array: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    if array.data_type() == to {
        Ok(Arc::clone(array))
    } else {
        Ok(cast(array, to)?)
    }
}

/// Evaluates a function row-wise over its arguments.
///
/// When every argument is a scalar (constant folding, or a call with literals only) the kernel runs on one-row
/// arrays and the result is returned as a scalar; otherwise scalars are broadcast to the batch length. `kernel`
/// receives the argument arrays and the row count.
pub(crate) fn invoke(
    args: ScalarFunctionArgs,
    kernel: impl FnOnce(&[ArrayRef], usize) -> Result<ArrayRef>,
) -> Result<ColumnarValue> {
    let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let rows = if all_scalar { 1 } else { args.number_rows };
    let arrays = args.args.iter().map(|a| a.to_array(rows)).collect::<Result<Vec<_>>>()?;
    let out = kernel(&arrays, rows)?;
    if all_scalar {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
    } else {
        Ok(ColumnarValue::Array(out))
    }
}

/// True when any of the given arrays is null at `row`: `any_null!(row; a, b, c)`.
macro_rules! any_null {
    ($row:expr; $($array:expr),+ $(,)?) => {
        false $(|| datafusion::arrow::array::Array::is_null($array, $row))+
    };
}
pub(crate) use any_null;

/// A one-entry cache for a value derived from a per-row string argument (a compiled regex or date pattern).
/// Rows usually share the same pattern, so remembering the last one avoids recompiling per row.
pub(crate) struct LastCache<T> {
    last: Option<(String, T)>,
}

impl<T> LastCache<T> {
    pub(crate) fn new() -> Self {
        Self { last: None }
    }

    /// The value for `key`, built with `make` if it differs from the previous key.
    pub(crate) fn get(&mut self, key: &str, make: impl FnOnce(&str) -> Result<T>) -> Result<&T> {
        let hit = matches!(&self.last, Some((k, _)) if k == key);
        if !hit {
            self.last = Some((key.to_string(), make(key)?));
        }
        match &self.last {
            Some((_, v)) => Ok(v),
            None => Err(DataFusionError::Internal("LastCache lost its entry".into())),
        }
    }
}

/// Declares a unit-like ksqlDB UDF struct holding only its signature, with `new()`.
macro_rules! udf_struct {
    ($(#[$meta:meta])* $name:ident, $volatility:expr) => {
        $(#[$meta])*
        #[derive(Debug, PartialEq, Eq, Hash)]
        pub(crate) struct $name {
            signature: datafusion::logical_expr::Signature,
        }

        impl $name {
            pub(crate) fn new() -> Self {
                Self { signature: datafusion::logical_expr::Signature::user_defined($volatility) }
            }
        }
    };
    ($(#[$meta:meta])* $name:ident) => {
        udf_struct!($(#[$meta])* $name, datafusion::logical_expr::Volatility::Immutable);
    };
}
pub(crate) use udf_struct;
