//! Pull queries over tables: `SELECT ... FROM table [WHERE ...] [LIMIT n]` answered from the table's current rows.
//!
//! The query is planned over the table's pull schema (key columns, `WINDOWSTART`/`WINDOWEND` for windowed
//! tables, value columns). A `WHERE` that fixes every key column to a literal (`id = 5`, possibly `AND`-ed with
//! other conditions) becomes a point lookup (or, for windowed tables, a scan of that key's windows); the whole
//! `WHERE` is still applied to the rows read, so the lookup is only an optimization.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::execution::context::SessionState;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::CastExpr;
use datafusion::scalar::ScalarValue;
use datafusion::sql::sqlparser::ast::{self, BinaryOperator, SelectItem};

use crate::catalog::{Catalog, SourceDef};
use crate::exec::OutputColumn;
use crate::exec::aggregate::functions::is_aggregate;
use crate::sql::ast::{Emit, Query, SourceKind};
use crate::types::{Column, LogicalSchema, SqlType};

use super::PlanError;
use super::expr::ExprCompiler;

/// A planned pull query over a table.
pub struct PullPlan {
    pub table: SourceDef,
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    pub columns: Vec<OutputColumn>,
    /// The result columns.
    pub schema: LogicalSchema,
    /// Key column values when `WHERE` pins the whole key.
    pub key: Option<Vec<ScalarValue>>,
    pub limit: Option<u64>,
}

/// Plans a pull query over `query.from`, which must be a table; `pull_schema` is the table's row layout.
pub fn plan_table_pull(
    state: &SessionState,
    catalog: &Catalog,
    query: &Query,
    pull_schema: SchemaRef,
) -> Result<PullPlan, PlanError> {
    let from = &query.from.source;
    let table = catalog
        .source(&from.name)
        .cloned()
        .ok_or_else(|| PlanError::invalid_at(format!("Source `{}` does not exist.", from.name), from.position))?;
    if table.kind != SourceKind::Table {
        return Err(PlanError::Internal(format!("{} is not a table", table.name)));
    }
    if let Some(join) = query.from.joins.first() {
        return Err(PlanError::not_supported(
            "JOIN in a pull query over REST (use the Postgres protocol)",
            Some(join.source.position),
        ));
    }
    if !query.group_by.is_empty() || query.window.is_some() || !query.partition_by.is_empty() {
        return Err(PlanError::invalid_at(
            "Pull queries don't support GROUP BY, WINDOW or PARTITION BY clauses. Add EMIT CHANGES for a push query.",
            query.position,
        ));
    }
    if query.emit == Some(Emit::Final) {
        return Err(PlanError::invalid_at(
            "EMIT FINAL is not supported in pull queries.",
            query.position,
        ));
    }
    let qualifier = from.alias.clone().unwrap_or_else(|| from.name.clone());
    let compiler = ExprCompiler::new(state, pull_schema.clone(), Some(&qualifier))?;

    let filter = match &query.selection {
        Some(e) => {
            let (expr, ty) = compiler.compile(e)?;
            if ty != DataType::Boolean {
                return Err(PlanError::invalid(format!(
                    "Type error in WHERE expression: Should evaluate to boolean but is {e}."
                )));
            }
            Some(expr)
        }
        None => None,
    };
    let key_names: Vec<String> = table.schema.key_columns().map(|c| c.name.clone()).collect();
    let key = query.selection.as_ref().and_then(|w| key_lookup(w, &key_names));

    let mut items: Vec<(String, ast::Expr)> = Vec::new();
    for item in &query.projection {
        match item {
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                for f in pull_schema.fields() {
                    items.push((
                        f.name().clone(),
                        ast::Expr::Identifier(ast::Ident::with_quote('`', f.name())),
                    ));
                }
            }
            SelectItem::UnnamedExpr(e) => {
                let name = super::persistent::implicit_name(e).unwrap_or_else(|| format!("KSQL_COL_{}", items.len()));
                items.push((name, e.clone()));
            }
            SelectItem::ExprWithAlias { expr, alias } => items.push((alias.value.clone(), expr.clone())),
            SelectItem::ExprWithAliases { expr, aliases } => items.push((
                aliases.first().map(|a| a.value.clone()).unwrap_or_default(),
                expr.clone(),
            )),
        }
    }
    let mut columns = Vec::with_capacity(items.len());
    let mut schema_columns = Vec::with_capacity(items.len());
    for (name, expr) in items {
        let (physical, ty) = compiler.compile(&expr)?;
        let sql_type = if ty == DataType::Null {
            SqlType::String
        } else {
            SqlType::from_arrow(&ty).map_err(|e| PlanError::invalid(e.to_string()))?
        };
        let arrow_type = sql_type.to_arrow();
        let physical: Arc<dyn PhysicalExpr> = if arrow_type == ty {
            physical
        } else {
            Arc::new(CastExpr::new(physical, arrow_type.clone(), None))
        };
        // Result columns keep the projection's order (LogicalSchema puts KEY columns first, so none is marked).
        schema_columns.push(Column::value(&name, sql_type));
        columns.push(OutputColumn {
            name,
            expr: physical,
            data_type: arrow_type,
            text: expr.to_string(),
        });
    }
    Ok(PullPlan {
        table,
        filter,
        columns,
        schema: LogicalSchema::new(schema_columns),
        key,
        limit: query.limit,
    })
}

/// Whether `query` is a pull query (no `EMIT`) that only a full SQL planner answers: a `JOIN`, a `GROUP BY`, or an
/// aggregate over all rows (`SELECT COUNT(*) FROM t`), without ksqlDB's streaming-only `WINDOW` and
/// `PARTITION BY`. Weir's own pull planner rejects these; callers that can, run them through DataFusion
/// ([`crate::serve`]) instead.
pub fn needs_full_sql(query: &Query) -> bool {
    query.emit.is_none()
        && query.window.is_none()
        && query.partition_by.is_empty()
        && (!query.from.joins.is_empty() || !query.group_by.is_empty() || has_aggregate(&query.projection))
}

fn has_aggregate(projection: &[SelectItem]) -> bool {
    use std::ops::ControlFlow;
    let is_aggregate_call = |e: &ast::Expr| match e {
        ast::Expr::Function(f) => f
            .name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .is_some_and(|id| is_aggregate(&id.value)),
        _ => false,
    };
    projection.iter().any(|item| {
        ast::visit_expressions(item, |e| {
            if is_aggregate_call(e) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .is_break()
    })
}

/// The key values a `WHERE` pins: every key column compared for equality with a literal, in conjuncts.
fn key_lookup(selection: &ast::Expr, keys: &[String]) -> Option<Vec<ScalarValue>> {
    let mut found: Vec<Option<ScalarValue>> = vec![None; keys.len()];
    let mut conjuncts = vec![selection];
    while let Some(e) = conjuncts.pop() {
        match e {
            ast::Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                conjuncts.push(left);
                conjuncts.push(right);
            }
            ast::Expr::Nested(inner) => conjuncts.push(inner),
            ast::Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => {
                let (column, value) = match (column_name(left), key_literal(right)) {
                    (Some(c), Some(v)) => (c, v),
                    _ => match (column_name(right), key_literal(left)) {
                        (Some(c), Some(v)) => (c, v),
                        _ => continue,
                    },
                };
                if let Some(i) = keys.iter().position(|k| *k == column) {
                    found[i] = Some(value);
                }
            }
            _ => {}
        }
    }
    found.into_iter().collect()
}

fn column_name(e: &ast::Expr) -> Option<String> {
    match e {
        ast::Expr::Identifier(id) => Some(id.value.clone()),
        ast::Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.clone()),
        _ => None,
    }
}

/// A literal a key column can be compared with (`NULL` never matches a key).
fn key_literal(e: &ast::Expr) -> Option<ScalarValue> {
    super::expr::literal_scalar(e).filter(|v| !v.is_null())
}
