//! ksqlDB's expression rules where they differ from DataFusion's SQL semantics, applied to a resolved logical
//! expression before it is coerced and compiled:
//!
//! - **Comparisons are two-valued**: `=`, `<>`, `<`, `<=`, `>`, `>=`, `IN`, `BETWEEN` and `LIKE` are false (not
//!   NULL) when an operand is NULL, as in ksqlDB's generated Java. The negated forms (`NOT IN`, `NOT BETWEEN`,
//!   `NOT LIKE`) are the negation of that, so they are true.
//! - **`+` concatenates strings** when either side is a STRING (a NULL operand reads as `null`, as Java does).
//! - **Type errors ksqlDB raises at planning**: comparing a STRING column with a numeric one, comparing with a
//!   NULL literal, and CASE branches of different types.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, ExprSchema};
use datafusion::logical_expr::expr::{Between, BinaryExpr, Case, InList, Like};
use datafusion::logical_expr::{Expr, ExprSchemable, Operator};
use datafusion::scalar::ScalarValue;

use super::PlanError;
use crate::types::SqlType;

/// Applies the rules to every node of `expr`.
pub fn apply(expr: Expr, schema: &DFSchema) -> Result<Expr, PlanError> {
    let mut failure: Option<PlanError> = None;
    let out = expr
        .transform_up(|e| match rewrite(e, schema) {
            Ok(t) => Ok(t),
            Err(err) => {
                failure.get_or_insert(err);
                Ok(Transformed::no(Expr::Literal(ScalarValue::Null, None)))
            }
        })
        .map_err(|e| PlanError::Internal(e.to_string()))?
        .data;
    match failure {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn type_of(e: &Expr, schema: &DFSchema) -> Option<DataType> {
    let s: &dyn ExprSchema = schema;
    e.get_type(s).ok()
}

fn is_null_literal(e: &Expr) -> bool {
    matches!(e, Expr::Literal(v, _) if v.is_null())
}

fn is_literal(e: &Expr) -> bool {
    match e {
        Expr::Literal(..) => true,
        Expr::Negative(inner) => is_literal(inner),
        Expr::Cast(c) => is_literal(&c.expr),
        _ => false,
    }
}

/// Type families that ksqlDB compares with each other.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
enum Family {
    Numeric,
    String,
    Boolean,
    Time,
    Bytes,
    Other,
}

fn family(t: &DataType) -> Option<Family> {
    Some(match t {
        DataType::Null => return None,
        t if t.is_numeric() => Family::Numeric,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Family::String,
        DataType::Boolean => Family::Boolean,
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 | DataType::Time32(_) | DataType::Time64(_) => {
            Family::Time
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => Family::Bytes,
        _ => Family::Other,
    })
}

fn ksql_type_name(t: &DataType) -> String {
    SqlType::from_arrow(t)
        .map(|s| s.to_string())
        .unwrap_or_else(|_| t.to_string())
}

fn op_name(op: Operator) -> &'static str {
    match op {
        Operator::Eq => "EQUAL",
        Operator::NotEq => "NOT_EQUAL",
        Operator::Lt => "LESS_THAN",
        Operator::LtEq => "LESS_THAN_OR_EQUAL",
        Operator::Gt => "GREATER_THAN",
        Operator::GtEq => "GREATER_THAN_OR_EQUAL",
        _ => "COMPARISON",
    }
}

fn is_comparison(op: Operator) -> bool {
    matches!(
        op,
        Operator::Eq | Operator::NotEq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq
    )
}

fn null_is_false(e: Expr) -> Expr {
    Expr::IsTrue(Box::new(e))
}

fn rewrite(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>, PlanError> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) if is_comparison(op) => {
            let lt = type_of(&left, schema);
            let rt = type_of(&right, schema);
            if is_null_literal(&right) || is_null_literal(&left) {
                let other = if is_null_literal(&right) { &lt } else { &rt };
                let shown = other.as_ref().map(ksql_type_name).unwrap_or_else(|| "NULL".into());
                let symbol = op.to_string();
                return Err(PlanError::invalid(format!(
                    "Comparison with NULL not supported: {shown} {symbol} NULL. Use IS NULL or IS NOT NULL."
                )));
            }
            if let (Some(l), Some(r)) = (lt.as_ref().and_then(family), rt.as_ref().and_then(family)) {
                // Literals coerce (ksqlDB parses '10' as a number next to a number); columns must match.
                if l != r && !is_literal(&left) && !is_literal(&right) {
                    return Err(PlanError::invalid(format!(
                        "Cannot compare {} ({}) to {} ({}) with {}.",
                        shown(&left),
                        lt.as_ref().map(ksql_type_name).unwrap_or_default(),
                        shown(&right),
                        rt.as_ref().map(ksql_type_name).unwrap_or_default(),
                        op_name(op)
                    )));
                }
            }
            Ok(Transformed::yes(null_is_false(Expr::BinaryExpr(BinaryExpr {
                left,
                op,
                right,
            }))))
        }
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Plus,
            right,
        }) => {
            let stringy = |t: &Option<DataType>| matches!(t.as_ref().and_then(family), Some(Family::String));
            if stringy(&type_of(&left, schema)) || stringy(&type_of(&right, schema)) {
                return Ok(Transformed::yes(java_concat(*left, *right)?));
            }
            Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::Plus,
                right,
            })))
        }
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Divide,
            right,
        }) => match (
            type_of(&left, schema).and_then(|t| as_decimal(&t)),
            type_of(&right, schema).and_then(|t| as_decimal(&t)),
        ) {
            // At least one side is a DECIMAL and the other a DECIMAL or an integer: ksqlDB's decimal division.
            (Some((l, l_dec)), Some((r, r_dec))) if l_dec || r_dec => Ok(Transformed::yes(decimal_divide(
                to_decimal(*left, l),
                l,
                to_decimal(*right, r),
                r,
            ))),
            _ => Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::Divide,
                right,
            }))),
        },
        Expr::InList(InList { expr, list, negated }) => {
            let positive = null_is_false(Expr::InList(InList {
                expr,
                list,
                negated: false,
            }));
            Ok(Transformed::yes(if negated {
                Expr::Not(Box::new(positive))
            } else {
                positive
            }))
        }
        Expr::Between(Between {
            expr,
            negated,
            low,
            high,
        }) => {
            let positive = null_is_false(Expr::Between(Between {
                expr,
                negated: false,
                low,
                high,
            }));
            Ok(Transformed::yes(if negated {
                Expr::Not(Box::new(positive))
            } else {
                positive
            }))
        }
        Expr::Like(like) => {
            let negated = like.negated;
            let positive = null_is_false(Expr::Like(Like { negated: false, ..like }));
            Ok(Transformed::yes(if negated {
                Expr::Not(Box::new(positive))
            } else {
                positive
            }))
        }
        // CAST follows ksqlDB's conversion rules (Java narrowing, Double.toString, ...), not Arrow's.
        Expr::Cast(cast) => {
            let to = SqlType::from_arrow(cast.field.data_type())
                .map_err(|e| PlanError::invalid(format!("Unsupported CAST target {}: {e}", cast.field.data_type())))?;
            if let Some(from) = type_of(&cast.expr, schema)
                && from != DataType::Null
            {
                let from = SqlType::from_arrow(&from).map_err(|e| PlanError::invalid(e.to_string()))?;
                crate::functions::cast::check_cast(&from, &to).map_err(PlanError::invalid)?;
            }
            let udf = crate::functions::lookup(crate::functions::cast::NAME)
                .ok_or_else(|| PlanError::Internal("ksql_cast is not registered".into()))?;
            let target = Expr::Literal(ScalarValue::Utf8(Some(to.to_string())), None);
            Ok(Transformed::yes(udf.call(vec![*cast.expr, target])))
        }
        Expr::Case(case) => {
            check_case_branches(&case, schema)?;
            Ok(Transformed::no(Expr::Case(case)))
        }
        other => Ok(Transformed::no(other)),
    }
}

/// The decimal type of a DECIMAL or integer operand (INT is DECIMAL(10, 0), BIGINT DECIMAL(19, 0), as in ksqlDB),
/// and whether it already is a DECIMAL.
fn as_decimal(t: &DataType) -> Option<((u8, i8), bool)> {
    match t {
        DataType::Decimal128(p, s) => Some(((*p, *s), true)),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => Some(((10, 0), false)),
        DataType::Int64 => Some(((19, 0), false)),
        _ => None,
    }
}

fn to_decimal(e: Expr, (p, s): (u8, i8)) -> Expr {
    Expr::Cast(datafusion::logical_expr::Cast::new(
        Box::new(e),
        DataType::Decimal128(p, s),
    ))
}

/// `DECIMAL / DECIMAL` with ksqlDB's result type: scale `max(6, s1 + p2 + 1)`, precision `p1 - s1 + s2 + scale`
/// (capped at 38). Arrow's kernel gives scale `s1 + 4`, so the dividend is first widened to reach that scale.
fn decimal_divide(left: Expr, (p1, s1): (u8, i8), right: Expr, (p2, s2): (u8, i8)) -> Expr {
    const MAX: i16 = 38;
    let scale = (6i16).max(s1 as i16 + p2 as i16 + 1).min(MAX);
    let widened_scale = (scale - 4).max(s1 as i16);
    let widened_precision = (p1 as i16 + (widened_scale - s1 as i16)).min(MAX);
    let widened = Expr::Cast(datafusion::logical_expr::Cast::new(
        Box::new(left),
        DataType::Decimal128(widened_precision as u8, widened_scale as i8),
    ));
    let quotient = Expr::BinaryExpr(BinaryExpr::new(Box::new(widened), Operator::Divide, Box::new(right)));
    let precision = (p1 as i16 - s1 as i16 + s2 as i16 + scale).clamp(scale.max(1), MAX);
    Expr::Cast(datafusion::logical_expr::Cast::new(
        Box::new(quotient),
        DataType::Decimal128(precision as u8, scale as i8),
    ))
}

/// An expression as ksqlDB prints it in messages: columns without their qualifier.
fn shown(e: &Expr) -> String {
    match e {
        Expr::Column(c) => c.name.clone(),
        other => other.to_string(),
    }
}

/// `'a' + x`: Java string concatenation, where a NULL operand is the text `null`.
fn java_concat(left: Expr, right: Expr) -> Result<Expr, PlanError> {
    let function = |name: &str| {
        crate::functions::lookup(name).ok_or_else(|| PlanError::Internal(format!("function {name} is not registered")))
    };
    let coalesce = function("COALESCE")?;
    let concat = function("CONCAT")?;
    let as_text = |e: Expr| {
        let cast = Expr::Cast(datafusion::logical_expr::Cast::new(Box::new(e), DataType::Utf8));
        coalesce.call(vec![cast, Expr::Literal(ScalarValue::Utf8(Some("null".into())), None)])
    };
    Ok(concat.call(vec![as_text(left), as_text(right)]))
}

fn check_case_branches(case: &Case, schema: &DFSchema) -> Result<(), PlanError> {
    let mut families = case
        .when_then_expr
        .iter()
        .map(|(_, then)| then.as_ref())
        .chain(case.else_expr.as_deref())
        .filter_map(|e| type_of(e, schema).as_ref().and_then(family));
    if let Some(first) = families.next()
        && families.any(|f| f != first)
    {
        return Err(PlanError::invalid(
            "Invalid Case expression. Type for all 'THEN' clauses should be the same.",
        ));
    }
    Ok(())
}
