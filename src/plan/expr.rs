//! Compiles dialect expressions into DataFusion physical expressions over a source batch's schema.
//!
//! The path is the same for every expression: rewrite the few ksqlDB-only forms into DataFusion's (`a->b` becomes
//! `get_field(a, 'B')`, function names are lower-cased), resolve and type it with DataFusion's SQL planner against
//! the batch schema, coerce, and compile to a `PhysicalExpr` that evaluates a whole `RecordBatch` at once.

use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::{DFSchema, DataFusionError, ExprSchema};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{Expr, ExprSchemable};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::scalar::ScalarValue;
use datafusion::sql::sqlparser::ast::{
    self, BinaryOperator, FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident, ObjectName,
    ObjectNamePart, Spanned, Value, visit_expressions_mut,
};

use super::PlanError;
use crate::sql::ast::Position;

/// Resolves and compiles expressions against one schema.
pub struct ExprCompiler<'a> {
    state: &'a SessionState,
    schema: DFSchema,
}

impl<'a> ExprCompiler<'a> {
    /// A compiler for expressions over `schema`, whose columns may be qualified with any of `qualifiers`
    /// (the source name, or its alias).
    pub fn new(state: &'a SessionState, schema: SchemaRef, qualifier: Option<&str>) -> Result<Self, PlanError> {
        // `bare`: the qualifier is already case-normalized; parsing it again would lower-case it.
        let schema = match qualifier {
            Some(q) => DFSchema::try_from_qualified_schema(datafusion::common::TableReference::bare(q), &schema),
            None => DFSchema::try_from(schema.as_ref().clone()),
        }
        .map_err(|e| PlanError::Internal(e.to_string()))?;
        Ok(ExprCompiler { state, schema })
    }

    /// A compiler over an already built DataFusion schema (joins qualify each side differently).
    pub fn with_df_schema(state: &'a SessionState, schema: DFSchema) -> Self {
        ExprCompiler { state, schema }
    }

    pub fn df_schema(&self) -> &DFSchema {
        &self.schema
    }

    /// Resolves a dialect expression into a typed logical expression.
    pub fn logical(&self, sql: &ast::Expr) -> Result<Expr, PlanError> {
        let position = expr_position(sql);
        let mut rewritten = sql.clone();
        rewrite_dialect(&mut rewritten);
        let with_alias = ast::ExprWithAlias {
            expr: rewritten,
            alias: None,
        };
        let expr = match self.state.create_logical_expr_from_sql_expr(with_alias, &self.schema) {
            Ok(e) => e,
            Err(e) => return Err(self.explain_function_error(sql, e, position)),
        };
        let expr = narrow_integer_literals(expr).map_err(|e| PlanError::Internal(e.to_string()))?;
        let expr = super::ksql_rules::apply(expr, &self.schema).map_err(|e| with_position(e, position))?;
        // Type-check now (coercion happens at compilation), so argument errors name the function call.
        if let Err(e) = self.state.create_physical_expr(expr.clone(), &self.schema) {
            return Err(self.explain_function_error(sql, e, position));
        }
        Ok(expr)
    }

    /// Rephrases DataFusion's function errors the way ksqlDB words them: an unknown name, or arguments the
    /// function does not take (listing their types).
    fn explain_function_error(&self, expr: &ast::Expr, e: DataFusionError, position: Option<Position>) -> PlanError {
        let text = e.to_string();
        let named = |prefix: &str| {
            text.split(prefix)
                .nth(1)
                .and_then(|rest| rest.split('\'').next())
                .map(|n| n.to_ascii_uppercase())
        };
        if let Some(name) = named("Invalid function '") {
            return PlanError::Invalid {
                message: format!("Can't find any functions with the name '{name}'"),
                position,
            };
        }
        if let Some(name) = named("Function '")
            && let Some(args) = self.argument_types(expr, &name)
        {
            return PlanError::Invalid {
                message: format!("Function '{name}' does not accept parameters ({}).", args.join(", ")),
                position,
            };
        }
        user_error(e, position)
    }

    /// The ksqlDB types of the arguments of the first call to `function` inside `expr`.
    fn argument_types(&self, expr: &ast::Expr, function: &str) -> Option<Vec<String>> {
        let mut found: Option<Vec<ast::Expr>> = None;
        let mut copy = expr.clone();
        let _ = visit_expressions_mut(&mut copy, |e| {
            if let ast::Expr::Function(f) = e {
                let matches = f
                    .name
                    .0
                    .last()
                    .is_some_and(|p| p.to_string().eq_ignore_ascii_case(function));
                if matches
                    && found.is_none()
                    && let FunctionArguments::List(list) = &f.args
                {
                    found = Some(
                        list.args
                            .iter()
                            .filter_map(|a| match a {
                                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x.clone()),
                                _ => None,
                            })
                            .collect(),
                    );
                }
            }
            ControlFlow::<()>::Continue(())
        });
        let args = found?;
        args.iter()
            .map(|a| {
                let logical = self.logical(a).ok()?;
                let ty = self.data_type(&logical).ok()?;
                Some(
                    crate::types::SqlType::from_arrow(&ty)
                        .map(|t| t.to_string())
                        .unwrap_or_else(|_| ty.to_string()),
                )
            })
            .collect()
    }

    /// Whether a scalar function of this name (any case) is registered with the session.
    pub fn knows_function(&self, name: &str) -> bool {
        self.state.scalar_functions().contains_key(&name.to_ascii_lowercase())
    }

    /// The Arrow type a logical expression produces.
    pub fn data_type(&self, expr: &Expr) -> Result<DataType, PlanError> {
        let schema: &dyn ExprSchema = &self.schema;
        expr.get_type(schema).map_err(|e| user_error(e, None))
    }

    /// Coerces and compiles a logical expression.
    pub fn physical(&self, expr: Expr) -> Result<Arc<dyn PhysicalExpr>, PlanError> {
        self.state
            .create_physical_expr(expr, &self.schema)
            .map_err(|e| user_error(e, None))
    }

    /// `logical` then `physical`, returning the compiled expression and its type.
    pub fn compile(&self, expr: &ast::Expr) -> Result<(Arc<dyn PhysicalExpr>, DataType), PlanError> {
        let position = expr_position(expr);
        let logical = self.logical(expr)?;
        let physical = self
            .state
            .create_physical_expr(logical, &self.schema)
            .map_err(|e| self.explain_function_error(expr, e, position))?;
        let ty = physical
            .data_type(self.schema.as_arrow())
            .map_err(|e| user_error(e, position))?;
        Ok((physical, ty))
    }
}

/// ksqlDB types an integer literal that fits in 32 bits as `INT` (DataFusion would say `BIGINT`), so `int_col * 2`
/// stays `INT` and `4294967296` is `BIGINT`.
fn narrow_integer_literals(expr: Expr) -> datafusion::common::Result<Expr> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::scalar::ScalarValue;
    expr.transform(|e| match e {
        Expr::Literal(ScalarValue::Int64(Some(n)), meta) if i32::try_from(n).is_ok() => Ok(Transformed::yes(
            Expr::Literal(ScalarValue::Int32(Some(n as i32)), meta),
        )),
        other => Ok(Transformed::no(other)),
    })
    .map(|t| t.data)
}

/// Where an expression starts, when the parser recorded it.
pub fn expr_position(expr: &ast::Expr) -> Option<Position> {
    let span = expr.span();
    (span.start.line > 0).then_some(Position {
        line: span.start.line,
        column: span.start.column,
    })
}

fn with_position(e: PlanError, position: Option<Position>) -> PlanError {
    match e {
        PlanError::Invalid {
            message,
            position: None,
        } => PlanError::Invalid { message, position },
        other => other,
    }
}

/// Turns a DataFusion planning error into a message in ksqlDB's terms.
fn user_error(e: DataFusionError, position: Option<Position>) -> PlanError {
    let message = match e.find_root() {
        DataFusionError::SchemaError(err, _) => match err.as_ref() {
            datafusion::common::SchemaError::FieldNotFound { field, .. } => {
                format!("Column '{}' cannot be resolved.", field.name())
            }
            other => other.to_string(),
        },
        DataFusionError::Plan(m) | DataFusionError::Execution(m) => strip_df_noise(m),
        DataFusionError::NotImplemented(m) => {
            return PlanError::NotSupported {
                feature: strip_df_noise(m),
                position,
                hint: None,
            };
        }
        other => strip_df_noise(&other.to_string()),
    };
    PlanError::Invalid { message, position }
}

fn strip_df_noise(m: &str) -> String {
    m.lines().next().unwrap_or(m).trim().to_string()
}

/// Rewrites the ksqlDB-only expression forms into ones DataFusion plans.
pub fn rewrite_dialect(expr: &mut ast::Expr) {
    let _ = visit_expressions_mut(expr, |e| {
        match e {
            // `a->b`: struct field access by (already case-normalized) name.
            ast::Expr::BinaryOp {
                left,
                op: BinaryOperator::Arrow,
                right,
            } => {
                if let Some(field) = field_name(right) {
                    let base = std::mem::replace(left.as_mut(), ast::Expr::value(Value::Null));
                    *e = call(
                        "get_field",
                        vec![base, ast::Expr::value(Value::SingleQuotedString(field))],
                    );
                }
            }
            ast::Expr::Function(f) => {
                if let Some(ObjectNamePart::Identifier(id)) = f.name.0.last_mut()
                    && id.quote_style.is_none()
                {
                    id.value = id.value.to_ascii_lowercase();
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
}

fn field_name(e: &ast::Expr) -> Option<String> {
    match e {
        ast::Expr::Identifier(id) => Some(id.value.clone()),
        ast::Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

pub fn call(name: &str, args: Vec<ast::Expr>) -> ast::Expr {
    ast::Expr::Function(ast::Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// The value of a constant: a number (BIGINT, else DOUBLE), a string, a boolean or `NULL`, possibly negated. Used
/// where planning needs the value itself (TOPK's `k`, the key of a pull-query lookup).
pub fn literal_scalar(e: &ast::Expr) -> Option<ScalarValue> {
    use ast::Value;
    match e {
        ast::Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n
                .parse::<i64>()
                .ok()
                .map(|i| ScalarValue::Int64(Some(i)))
                .or_else(|| n.parse::<f64>().ok().map(|f| ScalarValue::Float64(Some(f)))),
            Value::SingleQuotedString(s) => Some(ScalarValue::Utf8(Some(s.clone()))),
            Value::Boolean(b) => Some(ScalarValue::Boolean(Some(*b))),
            Value::Null => Some(ScalarValue::Null),
            _ => None,
        },
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => match literal_scalar(expr)? {
            ScalarValue::Int64(Some(i)) => Some(ScalarValue::Int64(Some(-i))),
            ScalarValue::Float64(Some(f)) => Some(ScalarValue::Float64(Some(-f))),
            _ => None,
        },
        _ => None,
    }
}
