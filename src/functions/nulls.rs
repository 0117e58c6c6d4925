//! `COALESCE` and `IFNULL`.
//!
//! DataFusion's `coalesce` only works after the expression simplifier has rewritten it into a `CASE` (invoking
//! it directly is an internal error), and Weir's streaming operators may build physical expressions without
//! that pass. These versions evaluate eagerly, which is also what ksqlDB does: its UDF arguments are all
//! evaluated before the call.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::compute::{is_not_null, kernels::zip::zip};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::binary::try_type_union_resolution;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature};

use super::util::{bad_args, cast_to, invoke, plan_err, udf_struct};

/// The first non-null value of each row; complex values count as non-null as a whole.
fn first_non_null(arrays: &[ArrayRef], to: &DataType) -> Result<ArrayRef> {
    let mut acc = cast_to(&arrays[0], to)?;
    for next in &arrays[1..] {
        if acc.null_count() == 0 {
            break;
        }
        let next = cast_to(next, to)?;
        acc = zip(&is_not_null(&acc)?, &acc, &next)?;
    }
    Ok(acc)
}

fn common_type(func: &str, types: &[DataType]) -> Result<Vec<DataType>> {
    try_type_union_resolution(types)
        .map_err(|_| plan_err(func, format!("all arguments must have a common type, got {types:?}")))
}

udf_struct!(
    /// `COALESCE(a, b, ...)`: the first argument that is not NULL.
    Coalesce
);

impl ScalarUDFImpl for Coalesce {
    fn name(&self) -> &str {
        "coalesce"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        if types.is_empty() {
            return Err(bad_args("COALESCE", types, "value, ..."));
        }
        common_type("COALESCE", types)
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        Ok(types[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let to = args.return_type().clone();
        invoke(args, |a, _| first_non_null(a, &to))
    }
}

udf_struct!(
    /// `IFNULL(expression, altValue)`: `altValue` when `expression` is NULL.
    IfNull
);

impl ScalarUDFImpl for IfNull {
    fn name(&self) -> &str {
        "ifnull"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        if types.len() != 2 {
            return Err(bad_args("IFNULL", types, "expression, altValue"));
        }
        common_type("IFNULL", types)
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        Ok(types[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let to = args.return_type().clone();
        invoke(args, |a, _| first_non_null(a, &to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::test_support::{eval, eval_type, rows};

    #[test]
    fn coalesce_returns_first_non_null() {
        assert_eq!(eval("COALESCE(NULL, 'b', 'c')"), "b");
        assert_eq!(eval("COALESCE('a')"), "a");
        assert_eq!(eval("COALESCE(NULL, NULL)"), "NULL");
        assert_eq!(eval("COALESCE(NULL, 1, 2.5)"), "1.0");
        assert_eq!(
            eval_type("COALESCE(CAST(NULL AS INT), CAST(1 AS INT))"),
            DataType::Int32
        );
        assert_eq!(eval("COALESCE(NULL, make_array(1, 2))"), "[1, 2]");
        let got = rows("SELECT COALESCE(a, b, 'z') FROM (VALUES ('a', 'b'), (NULL, 'b'), (NULL, NULL)) AS t(a, b)");
        assert_eq!(got, ["a", "b", "z"]);
    }

    #[test]
    fn ifnull_substitutes() {
        assert_eq!(eval("IFNULL(NULL, 'alt')"), "alt");
        assert_eq!(eval("IFNULL('v', 'alt')"), "v");
        assert_eq!(eval_type("IFNULL(CAST(NULL AS BIGINT), 0)"), DataType::Int64);
        assert_eq!(
            rows("SELECT IFNULL(a, 0) FROM (VALUES (1), (NULL)) AS t(a)"),
            ["1", "0"]
        );
    }
}

udf_struct!(
    /// `AS_VALUE(key)`: the value itself. ksqlDB uses it to copy a key column into the value: a select item that is
    /// not a plain key column reference becomes a value column.
    AsValue
);

impl ScalarUDFImpl for AsValue {
    fn name(&self) -> &str {
        "as_value"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        if types.len() != 1 {
            return Err(bad_args("AS_VALUE", types, "column"));
        }
        Ok(types.to_vec())
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        Ok(types[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let mut args = args.args;
        args.pop()
            .ok_or_else(|| datafusion::error::DataFusionError::Plan("AS_VALUE takes one argument".into()))
    }
}
