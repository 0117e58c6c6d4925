//! ksqlDB's scalar functions as DataFusion scalar UDFs over Arrow arrays.
//!
//! The registry maps ksqlDB function names to [`ScalarUDF`]s: [`lookup`] (case-insensitive, as Weir's planner
//! calls it with the name as written, upper-cased) and [`all`]. Each UDF's own name is the lower-case ksqlDB
//! name, because DataFusion's SQL front end lower-cases unquoted function names; registering [`all`] in a
//! DataFusion session therefore makes `SELECT UCASE('a')` resolve, and replaces DataFusion's built-ins of the
//! same name (`substring`, `round`, `replace`, `coalesce`, ...) with ksqlDB's semantics. [`install`] does
//! that on a session builder and also puts [`KsqlExprPlanner`] first, because DataFusion plans the
//! `SUBSTRING(...)` syntax through an expression planner rather than by function name.
//!
//! Where DataFusion's built-in already has ksqlDB's exact semantics it is reused: `UCASE`/`LCASE` wrap
//! `upper`/`lower` under the ksqlDB name, and `CONCAT`, `CONCAT_WS`, `GREATEST`, `LEAST` are DataFusion's
//! (ignoring NULL arguments, as ksqlDB does). Everything else is Weir's own, in modules by family:
//! [`string`], [`regexp`], [`math`], [`nulls`], [`json`], [`collections`] and [`time`] (with the Java
//! pattern translation in [`java_time_format`]). [`cast`] holds `ksql_cast`, the planner's form of ksqlDB's
//! `CAST`, and [`cast::check_cast`], ksqlDB's table of supported casts.
//!
//! Errors raised while evaluating are `DataFusionError::Execution` messages that start with the function name
//! (`SUBSTRING: ...`); argument type mismatches are `DataFusionError::Plan` errors at planning time.
//!
//! # Example
//! ```
//! use datafusion::prelude::SessionContext;
//! use weir::functions;
//!
//! let udf = functions::lookup("UCASE").expect("UCASE is registered");
//! assert_eq!(udf.name(), "ucase");
//! assert!(functions::lookup("SubString").is_some());
//!
//! let ctx: SessionContext = functions::session_context();
//! # let _ = ctx;
//! ```

pub mod cast;
pub mod collections;
mod java_num;
pub mod java_time_format;
pub mod json;
pub mod math;
pub mod nulls;
pub mod regexp;
pub mod string;
pub mod time;
mod util;

#[cfg(test)]
pub(crate) mod test_support;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use datafusion::prelude::SessionContext;

/// A DataFusion built-in exposed under its ksqlDB name (`UCASE` for `upper`).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Renamed {
    name: &'static str,
    inner: Arc<ScalarUDF>,
}

impl ScalarUDFImpl for Renamed {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn is_strict(&self) -> bool {
        self.inner.is_strict()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.inner.invoke_with_args(args)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

fn udf(f: impl ScalarUDFImpl + 'static) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(f))
}

fn renamed(name: &'static str, inner: Arc<ScalarUDF>) -> Arc<ScalarUDF> {
    udf(Renamed { name, inner })
}

struct Registry {
    all: Vec<Arc<ScalarUDF>>,
    by_name: HashMap<String, Arc<ScalarUDF>>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    use datafusion::functions::{core, string as df_string};
    let all = vec![
        // Strings.
        renamed("ucase", df_string::upper()),
        renamed("lcase", df_string::lower()),
        df_string::concat(),
        df_string::concat_ws(),
        udf(string::Len::new()),
        udf(string::Substring::new()),
        udf(string::Replace::new()),
        udf(string::Trim::new(string::TrimSide::Both)),
        udf(string::Trim::new(string::TrimSide::Left)),
        udf(string::Trim::new(string::TrimSide::Right)),
        udf(string::Pad::new(true)),
        udf(string::Pad::new(false)),
        udf(string::Split::new()),
        udf(string::Instr::new()),
        udf(string::InitCap::new()),
        udf(string::Chr::new()),
        udf(string::Mask::new()),
        udf(regexp::RegexpExtract::new()),
        udf(regexp::RegexpReplace::new()),
        // Numbers.
        udf(math::Abs::new()),
        udf(math::CeilFloor::new(true)),
        udf(math::CeilFloor::new(false)),
        udf(math::Round::new()),
        udf(math::Sqrt::new()),
        core::greatest(),
        core::least(),
        // Nulls, JSON, collections.
        udf(nulls::Coalesce::new()),
        udf(nulls::IfNull::new()),
        udf(nulls::AsValue::new()),
        udf(json::ExtractJsonField::new()),
        udf(collections::ArrayLength::new()),
        udf(collections::ArrayContains::new()),
        udf(collections::MapKeys::new()),
        // Date and time.
        udf(time::TimestampToString::new()),
        udf(time::StringToTimestamp::new()),
        udf(time::FormatTimestamp::new()),
        udf(time::ParseTimestamp::new()),
        udf(time::UnixTimestamp::new()),
        udf(time::FromUnixTime::new()),
        // `CAST(x AS T)`, which the planner rewrites into `ksql_cast(x, 'T')`.
        udf(cast::KsqlCast::new()),
    ];
    let mut by_name = HashMap::new();
    for f in &all {
        for name in std::iter::once(f.name()).chain(f.aliases().iter().map(String::as_str)) {
            by_name.insert(name.to_ascii_lowercase(), Arc::clone(f));
        }
    }
    Registry { all, by_name }
});

/// The ksqlDB function called `name`, in any letter case (`UCASE`, `ucase`, `UCase`).
pub fn lookup(name: &str) -> Option<Arc<ScalarUDF>> {
    REGISTRY.by_name.get(&name.to_ascii_lowercase()).cloned()
}

/// Every ksqlDB scalar function Weir provides, each once, named in lower case.
pub fn all() -> Vec<Arc<ScalarUDF>> {
    REGISTRY.all.clone()
}

/// The upper-case names of all user-callable functions, sorted (for `SHOW FUNCTIONS`); `ksql_cast`, the
/// planner's form of `CAST`, is not listed (ksqlDB does not list `CAST` either).
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = REGISTRY
        .all
        .iter()
        .filter(|f| f.name() != cast::NAME)
        .map(|f| f.name().to_ascii_uppercase())
        .collect();
    names.sort();
    names
}

/// Plans the SQL `SUBSTRING(x, pos [, len])` / `SUBSTRING(x FROM pos [FOR len])` syntax as ksqlDB's
/// `SUBSTRING`. DataFusion routes that syntax through expression planners instead of the function registry,
/// so this planner must come before DataFusion's own (see [`install`]).
#[derive(Debug, Default)]
pub struct KsqlExprPlanner;

impl ExprPlanner for KsqlExprPlanner {
    fn plan_substring(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        match lookup("substring") {
            Some(f) => Ok(PlannerResult::Planned(Expr::ScalarFunction(ScalarFunction::new_udf(
                f, args,
            )))),
            None => Ok(PlannerResult::Original(args)),
        }
    }
}

/// Adds all functions (replacing DataFusion built-ins of the same name) and [`KsqlExprPlanner`] (ahead of
/// DataFusion's planners) to a session builder.
pub fn install(mut builder: SessionStateBuilder) -> SessionStateBuilder {
    builder.scalar_functions().get_or_insert_with(Vec::new).extend(all());
    builder
        .expr_planners()
        .get_or_insert_with(Vec::new)
        .insert(0, Arc::new(KsqlExprPlanner));
    builder
}

/// A DataFusion session with default features and ksqlDB's functions installed.
pub fn session_context() -> SessionContext {
    SessionContext::new_with_state(install(SessionStateBuilder::new_with_default_features()).build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::test_support::{eval, eval_err};

    const REQUIRED: &[&str] = &[
        "UCASE",
        "LCASE",
        "LEN",
        "SUBSTRING",
        "CONCAT",
        "CONCAT_WS",
        "REPLACE",
        "TRIM",
        "LTRIM",
        "RTRIM",
        "LPAD",
        "RPAD",
        "SPLIT",
        "INSTR",
        "INITCAP",
        "ABS",
        "CEIL",
        "FLOOR",
        "ROUND",
        "SQRT",
        "COALESCE",
        "IFNULL",
        "AS_VALUE",
        "GREATEST",
        "LEAST",
        "EXTRACTJSONFIELD",
        "TIMESTAMPTOSTRING",
        "STRINGTOTIMESTAMP",
        "FORMAT_TIMESTAMP",
        "PARSE_TIMESTAMP",
        "UNIX_TIMESTAMP",
        "FROM_UNIXTIME",
        "ARRAY_LENGTH",
        "ARRAY_CONTAINS",
        "MAP_KEYS",
        "MASK",
        "CHR",
        "REGEXP_EXTRACT",
        "REGEXP_REPLACE",
    ];

    #[test]
    fn registry_covers_the_required_functions_in_any_case() {
        for name in REQUIRED {
            let f = lookup(name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(f.name(), name.to_ascii_lowercase());
            assert!(lookup(&name.to_ascii_lowercase()).is_some());
        }
        assert!(lookup("Ucase").is_some());
        assert!(lookup("NO_SUCH_FUNCTION").is_none());
        assert_eq!(
            lookup("KSQL_CAST").map(|f| f.name().to_string()).as_deref(),
            Some("ksql_cast")
        );
        assert_eq!(all().len(), names().len() + 1);
        assert!(!names().contains(&"KSQL_CAST".to_string()));
        let mut unique = names();
        unique.dedup();
        assert_eq!(unique.len(), names().len(), "duplicate function names");
        assert_eq!(names().len(), REQUIRED.len());
    }

    #[test]
    fn wrapped_builtins_keep_their_semantics() {
        assert_eq!(eval("UCASE('straße')"), "STRASSE");
        assert_eq!(eval("LCASE('ÀB')"), "àb");
        assert_eq!(eval("UCASE(NULL)"), "NULL");
        assert_eq!(eval("CONCAT('a', NULL, 'c')"), "ac");
        assert_eq!(eval("CONCAT(NULL, NULL)"), "");
        assert_eq!(
            eval("CONCAT_WS(', ', 'apple', 'banana', NULL, 'date')"),
            "apple, banana, date"
        );
        assert_eq!(eval("CONCAT_WS(NULL, 'a', 'b')"), "NULL");
        assert_eq!(eval("GREATEST(1, NULL, 3)"), "3");
        assert_eq!(eval("LEAST('b', NULL, 'a')"), "a");
        assert_eq!(eval("GREATEST(NULL, NULL)"), "NULL");
        assert!(eval_err("UCASE(1, 2)").to_lowercase().contains("ucase") || !eval_err("UCASE(1, 2)").is_empty());
    }

    /// Invokes a function directly, as an operator would after planning: coerce, then call.
    fn invoke_direct(name: &str, args: Vec<ColumnarValue>, rows: usize) -> Result<ColumnarValue> {
        use datafusion::arrow::datatypes::Field;
        use datafusion::config::ConfigOptions;
        let f = lookup(name).expect("registered");
        let types: Vec<DataType> = args.iter().map(ColumnarValue::data_type).collect();
        let coerced = f.coerce_types(&types)?;
        let fields: Vec<FieldRef> = coerced
            .iter()
            .map(|t| Arc::new(Field::new("a", t.clone(), true)))
            .collect();
        let scalars = vec![None; fields.len()];
        let return_field = f.return_field_from_args(ReturnFieldArgs {
            arg_fields: &fields,
            scalar_arguments: &scalars,
        })?;
        let args = args
            .into_iter()
            .zip(&coerced)
            .map(|(a, t)| a.cast_to(t, None))
            .collect::<Result<Vec<_>>>()?;
        f.invoke_with_args(ScalarFunctionArgs {
            args,
            arg_fields: fields,
            number_rows: rows,
            return_field,
            config_options: Arc::new(ConfigOptions::default()),
        })
    }

    fn text(v: &str) -> ColumnarValue {
        ColumnarValue::Scalar(datafusion::common::ScalarValue::Utf8(Some(v.into())))
    }

    #[test]
    fn evaluation_errors_are_execution_errors_naming_the_function() {
        use datafusion::common::{DataFusionError, ScalarValue};
        let err = invoke_direct("STRINGTOTIMESTAMP", vec![text("x"), text("yyyy")], 1).unwrap_err();
        assert!(
            matches!(&err, DataFusionError::Execution(m) if m.starts_with("STRINGTOTIMESTAMP: ") && m.contains("'x'")),
            "{err}"
        );
        let min = ColumnarValue::Scalar(ScalarValue::Int64(Some(i64::MIN)));
        let err = invoke_direct("ABS", vec![min], 1).unwrap_err();
        assert!(
            matches!(&err, DataFusionError::Execution(m) if m.starts_with("ABS: ")),
            "{err}"
        );
        let err = invoke_direct("SUBSTRING", vec![text("x")], 1).unwrap_err();
        assert!(
            matches!(&err, DataFusionError::Plan(m) if m.starts_with("SUBSTRING: ")),
            "{err}"
        );
    }

    #[test]
    fn kernels_accept_uncoerced_arrays() {
        use datafusion::arrow::array::{Array, LargeStringArray};
        let f = lookup("len").expect("registered");
        let input = ColumnarValue::Array(Arc::new(LargeStringArray::from(vec![Some("héllo"), None])));
        let out = f
            .invoke_with_args(ScalarFunctionArgs {
                args: vec![input],
                arg_fields: vec![Arc::new(datafusion::arrow::datatypes::Field::new(
                    "a",
                    DataType::LargeUtf8,
                    true,
                ))],
                number_rows: 2,
                return_field: Arc::new(datafusion::arrow::datatypes::Field::new("r", DataType::Int32, true)),
                config_options: Arc::new(datafusion::config::ConfigOptions::default()),
            })
            .and_then(|v| v.to_array(2))
            .expect("LEN on LargeUtf8");
        assert_eq!(out.len(), 2);
        assert!(out.is_null(1));
    }

    /// Extreme inputs must produce a value or an error, never a panic.
    #[test]
    fn extreme_inputs_never_panic() {
        let max = i64::MAX;
        let min = i64::MIN;
        let deep = format!("'{}{}'", "[".repeat(5000), "]".repeat(5000));
        let exprs = [
            format!("SUBSTRING('abc', {min}, {min})"),
            format!("SUBSTRING('abc', {max}, {max})"),
            format!("SUBSTRING(CAST('abc' AS BYTEA), {min}, {max})"),
            format!("LPAD('a', {max}, 'x')"),
            format!("RPAD('', {min}, 'x')"),
            format!("INSTR('abc', 'b', {min}, {max})"),
            format!("INSTR('', '', {max}, {min})"),
            format!("ROUND(1.5, {min})"),
            format!("ROUND(1.5, {max})"),
            format!("ROUND(CAST(1.5 AS DECIMAL(38, 10)), {min})"),
            format!("ROUND(CAST(1.5 AS DECIMAL(38, 10)), {max})"),
            "ROUND(CAST(99999999999999999999999999999999999999 AS DECIMAL(38, 0)))".into(),
            "CEIL(CAST(-99999999999999999999999999999.999999999 AS DECIMAL(38, 9)))".into(),
            "ROUND(CAST('-Infinity' AS DOUBLE), 2)".into(),
            "ROUND(CAST('NaN' AS DOUBLE), 2)".into(),
            "SQRT(CAST('Infinity' AS DOUBLE))".into(),
            format!("CHR({max})"),
            format!("REGEXP_EXTRACT('(a)', 'a', {max})"),
            format!("TIMESTAMPTOSTRING({min}, 'yyyy')"),
            format!("FROM_UNIXTIME({max})"),
            "STRINGTOTIMESTAMP('+9999999999999999999', 'yyyy')".into(),
            "STRINGTOTIMESTAMP('99999999999999999999', 'nnnnnnnnnnnnnnnnnnn')".into(),
            "PARSE_TIMESTAMP('', '')".into(),
            "STRINGTOTIMESTAMP('x', '')".into(),
            format!("EXTRACTJSONFIELD({deep}, '$[0][0]')"),
            "EXTRACTJSONFIELD('{\"a\": \"\\ud800\"}', '$.a')".into(),
            "SPLIT('', '')".into(),
            "MASK('', NULL, NULL, NULL, NULL)".into(),
            "INITCAP(' ')".into(),
            "CHR('\\u')".into(),
            "TRIM(chr(0))".into(),
            "REPLACE('', '', '')".into(),
            "ARRAY_CONTAINS(make_array(), 1)".into(),
        ];
        for expr in exprs {
            // A panic in a spawned task comes back as an error mentioning it, so check both.
            match std::panic::catch_unwind(|| {
                crate::functions::test_support::try_eval(&expr).map_err(|e| e.to_string())
            }) {
                Err(_) => panic!("{expr} panicked"),
                Ok(Err(msg)) => assert!(!msg.to_lowercase().contains("panic"), "{expr}: {msg}"),
                Ok(Ok(_)) => {}
            }
        }
    }

    #[test]
    fn function_names_resolve_in_any_case_through_sql() {
        assert_eq!(eval("ucase('a')"), "A");
        assert_eq!(eval("UCase('a')"), "A");
        assert_eq!(eval("\"ucase\"('a')"), "A");
    }
}
