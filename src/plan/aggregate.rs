//! `CREATE TABLE ... AS SELECT ... [WINDOW ...] GROUP BY ... [HAVING ...]`: from the query to an aggregation.
//!
//! Select items and HAVING are rewritten over an *aggregate schema*: each aggregate call becomes a column
//! `KSQL_AGG_VARIABLE_<n>` (ksqlDB's own internal naming), each GROUP BY expression a column `KSQL_GB_<n>`, plus
//! `WINDOWSTART` and `WINDOWEND`. Anything else left in a select item is a column that is neither grouped nor
//! aggregated, which is an error, as in ksqlDB.

use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::execution::context::SessionState;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::CastExpr;
use datafusion::sql::sqlparser::ast::{
    self, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, SelectItem, VisitMut, VisitorMut,
};

use crate::catalog::{Catalog, FormatSpec, SourceDef, WindowInfo};
use crate::exec::OutputColumn;
use crate::exec::aggregate::functions::{is_aggregate, resolve_aggregate};
use crate::exec::aggregate::{AggregateCall, AggregateInput, WindowDef};
use crate::sql::ast::{Emit, Query, SourceKind, WithProperties};
use crate::types::{Column, LogicalSchema, PseudoColumn, SqlType, WINDOWEND, WINDOWSTART};

use super::PlanError;
use super::expr::{ExprCompiler, expr_position};
use super::persistent::{implicit_name, plan_input, sink_definition};

/// A planned aggregation.
pub struct AggregatePlan {
    pub source: SourceDef,
    pub sink: SourceDef,
    pub source_timestamp: Option<Arc<dyn PhysicalExpr>>,
    pub filter: Option<(Arc<dyn PhysicalExpr>, String)>,
    pub group_by: Vec<(Arc<dyn PhysicalExpr>, DataType, String)>,
    pub aggregates: Vec<AggregateInput>,
    pub window: Option<WindowDef>,
    pub emit_final: bool,
    pub having: Option<(Arc<dyn PhysicalExpr>, String)>,
    /// The sink's value columns, over `aggregate_schema`.
    pub values: Vec<OutputColumn>,
    pub aggregate_schema: SchemaRef,
}

/// Where the aggregation writes.
pub struct AggregateSink<'a> {
    pub name: &'a str,
    pub properties: &'a WithProperties,
    pub sql: &'a str,
    pub query_id: &'a str,
}

fn gb_name(i: usize) -> String {
    format!("KSQL_GB_{i}")
}

fn agg_name(i: usize) -> String {
    format!("KSQL_AGG_VARIABLE_{i}")
}

/// An expression with qualifiers and quote styles removed, for comparing GROUP BY expressions with select items.
fn canonical(e: &ast::Expr) -> ast::Expr {
    struct Canon;
    impl VisitorMut for Canon {
        type Break = ();
        fn post_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
            match e {
                ast::Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                    let mut id = parts[1].clone();
                    id.quote_style = None;
                    *e = ast::Expr::Identifier(id);
                }
                ast::Expr::Identifier(id) => id.quote_style = None,
                ast::Expr::Nested(inner) => *e = (**inner).clone(),
                _ => {}
            }
            ControlFlow::Continue(())
        }
    }
    let mut out = e.clone();
    let _ = out.visit(&mut Canon);
    out
}

/// Replaces aggregate calls and GROUP BY expressions by aggregate-schema columns.
struct Rewriter<'a> {
    group_by: &'a [ast::Expr],
    /// Aggregate calls found so far (deduplicated), with their arguments.
    calls: &'a mut Vec<(String, Vec<FunctionArgExpr>, String)>,
    /// A window bound found inside an aggregate call.
    error: Option<ast::Expr>,
}

impl VisitorMut for Rewriter<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        if let ast::Expr::Function(f) = e {
            let name = function_name(f);
            if is_aggregate(&name) {
                let call = ast::Expr::Function(f.clone());
                if let Some(bound) = window_bound_in(&call, true) {
                    self.error = Some(ast::Expr::Identifier(Ident::new(bound)));
                    return ControlFlow::Continue(());
                }
                let args: Vec<FunctionArgExpr> = match &f.args {
                    FunctionArguments::List(list) => list
                        .args
                        .iter()
                        .map(|a| match a {
                            FunctionArg::Unnamed(x) => x.clone(),
                            FunctionArg::Named { arg, .. } | FunctionArg::ExprNamed { arg, .. } => arg.clone(),
                        })
                        .collect(),
                    _ => vec![],
                };
                let text = e.to_string();
                let key = canonical(e).to_string();
                let index = match self.calls.iter().position(|(_, _, t)| *t == key) {
                    Some(i) => i,
                    None => {
                        self.calls.push((name, args, key));
                        self.calls.len() - 1
                    }
                };
                let _ = text;
                *e = ast::Expr::Identifier(Ident::new(agg_name(index)));
                return ControlFlow::Continue(());
            }
        }
        let c = canonical(e);
        if let Some(i) = self.group_by.iter().position(|g| *g == c) {
            *e = ast::Expr::Identifier(Ident::new(gb_name(i)));
        }
        ControlFlow::Continue(())
    }
}

/// Plans a `GROUP BY` query.
pub fn plan_aggregate(
    state: &SessionState,
    catalog: &Catalog,
    query: &Query,
    sink: AggregateSink<'_>,
    default_grace_ms: u64,
) -> Result<AggregatePlan, PlanError> {
    if let Some(join) = query.from.joins.first() {
        return Err(PlanError::not_supported("JOIN", Some(join.source.position)));
    }
    if !query.partition_by.is_empty() {
        return Err(PlanError::invalid_at(
            "PARTITION BY is not supported with GROUP BY: the GROUP BY expressions are the new key.",
            query.position,
        ));
    }
    if query.limit.is_some() {
        return Err(PlanError::invalid_at(
            "LIMIT is not supported in persistent queries (CREATE ... AS SELECT, INSERT INTO).",
            query.position,
        ));
    }
    let input = plan_input(state, catalog, query)?;
    let table_source = input.source.kind == SourceKind::Table;
    let window = match &query.window {
        Some(spec) => {
            if table_source {
                return Err(PlanError::invalid_at(
                    "Windowing not supported for table aggregations.",
                    query.position,
                ));
            }
            Some(
                WindowDef::from_spec(spec, default_grace_ms)
                    .map_err(|e| PlanError::invalid_at(e.to_string(), query.position))?,
            )
        }
        None => None,
    };
    let emit_final = query.emit == Some(Emit::Final);
    if emit_final && window.is_none() {
        return Err(PlanError::invalid_at(
            "EMIT FINAL is only supported for windowed aggregations.",
            query.position,
        ));
    }
    // WINDOWSTART/WINDOWEND are results of the window, not inputs: only select items may use them.
    for e in query.group_by.iter().chain(query.having.iter()) {
        if let Some(bound) = window_bound_in(e, false) {
            return Err(window_bound_error(&bound));
        }
    }

    // GROUP BY expressions over the source.
    let group_exprs: Vec<ast::Expr> = query.group_by.iter().map(canonical).collect();
    let mut group_by = Vec::with_capacity(group_exprs.len());
    for e in &query.group_by {
        let (physical, ty) = input.compiler.compile(e)?;
        let sql_type = SqlType::from_arrow(&ty).map_err(|err| PlanError::invalid(err.to_string()))?;
        let canonical_ty = sql_type.to_arrow();
        let physical: Arc<dyn PhysicalExpr> = if canonical_ty == ty {
            physical
        } else {
            Arc::new(CastExpr::new(physical, canonical_ty.clone(), None))
        };
        group_by.push((physical, canonical_ty, sql_type, e.to_string()));
    }

    // Select items (`*` is every source column), rewritten over the aggregate schema.
    let mut calls: Vec<(String, Vec<FunctionArgExpr>, String)> = Vec::new();
    let mut items: Vec<(String, ast::Expr, String, Option<usize>)> = Vec::new();
    let mut names = super::persistent::NameGenerator::new(&input.source.schema);
    let mut projection: Vec<(ast::Expr, Option<String>)> = Vec::new();
    for item in &query.projection {
        match item {
            SelectItem::UnnamedExpr(e) => projection.push((e.clone(), None)),
            SelectItem::ExprWithAlias { expr, alias } => projection.push((expr.clone(), Some(alias.value.clone()))),
            SelectItem::ExprWithAliases { expr, aliases } => {
                projection.push((expr.clone(), aliases.first().map(|a| a.value.clone())))
            }
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                for c in input.source.schema.columns() {
                    projection.push((ast::Expr::Identifier(Ident::new(&c.name)), None));
                }
            }
        }
    }
    for (expr, alias) in projection {
        let name = alias.or_else(|| implicit_name(&expr)).unwrap_or_else(|| names.next());
        let mut rewritten = expr.clone();
        let mut rw = Rewriter {
            group_by: &group_exprs,
            calls: &mut calls,
            error: None,
        };
        let _ = rewritten.visit(&mut rw);
        if let Some(bound) = rw.error.take() {
            return Err(window_bound_error(&bound_name(&bound)));
        }
        let rewritten = strip_qualifiers(rewritten);
        let group_index = match &rewritten {
            ast::Expr::Identifier(id) => (0..group_exprs.len()).find(|i| id.value == gb_name(*i)),
            _ => None,
        };
        items.push((name, rewritten, expr.to_string(), group_index));
    }
    let having = match &query.having {
        Some(h) => {
            let mut rewritten = h.clone();
            let mut rw = Rewriter {
                group_by: &group_exprs,
                calls: &mut calls,
                error: None,
            };
            let _ = rewritten.visit(&mut rw);
            Some((strip_qualifiers(rewritten), h.to_string(), expr_position(h)))
        }
        None => None,
    };
    if let Some(name) = unknown_function(query, |name| input.compiler.knows_function(name)) {
        return Err(PlanError::invalid_at(
            format!("Can't find any functions with the name '{name}'"),
            query.position,
        ));
    }
    if query.group_by.is_empty() {
        let ungrouped: Vec<&str> = items
            .iter()
            .filter(|(_, rewritten, _, _)| references_source(rewritten))
            .map(|(_, _, text, _)| text.as_str())
            .collect();
        return Err(PlanError::invalid_at(
            if ungrouped.is_empty() {
                "Aggregate functions are not supported without a GROUP BY clause.".to_string()
            } else {
                format!(
                    "Non-aggregate SELECT expression(s) not part of GROUP BY: {}",
                    ungrouped.join(", ")
                )
            },
            query.position,
        ));
    }
    if calls.is_empty() {
        return Err(PlanError::invalid_at(
            "GROUP BY requires aggregate functions in either the SELECT or HAVING clause.",
            query.position,
        ));
    }

    // Resolve the aggregate functions over the source.
    let mut aggregates = Vec::with_capacity(calls.len());
    for (name, args, text) in &calls {
        let mut arg_exprs = Vec::new();
        let mut arg_types = Vec::new();
        let mut literals = Vec::new();
        for a in args {
            match a {
                FunctionArgExpr::Wildcard => {}
                FunctionArgExpr::Expr(e) => {
                    let (physical, ty) = input.compiler.compile(e)?;
                    let sql_type = if ty == DataType::Null {
                        SqlType::String
                    } else {
                        SqlType::from_arrow(&ty).map_err(|err| PlanError::invalid(err.to_string()))?
                    };
                    let canonical_ty = sql_type.to_arrow();
                    let physical: Arc<dyn PhysicalExpr> = if canonical_ty == ty {
                        physical
                    } else {
                        Arc::new(CastExpr::new(physical, canonical_ty.clone(), None))
                    };
                    literals.push(super::expr::literal_scalar(e));
                    arg_types.push(sql_type);
                    arg_exprs.push((physical, canonical_ty));
                }
                FunctionArgExpr::QualifiedWildcard(_) => {
                    return Err(PlanError::invalid(format!("{name}(alias.*) is not supported.")));
                }
                other => return Err(PlanError::invalid(format!("Unsupported argument {other} to {name}."))),
            }
        }
        let spec = resolve_aggregate(&AggregateCall {
            name,
            arg_types: &arg_types,
            literals: &literals,
        })
        .map_err(PlanError::invalid)?;
        aggregates.push(AggregateInput {
            spec: Arc::new(spec),
            args: arg_exprs,
            text: text.clone(),
        });
    }
    if table_source {
        let not_undoable: Vec<&str> = aggregates
            .iter()
            .filter(|a| !a.spec.supports_retract)
            .map(|a| a.spec.name.as_str())
            .collect();
        if !not_undoable.is_empty() {
            let mut names: Vec<&str> = Vec::new();
            for n in not_undoable {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            return Err(PlanError::invalid(format!(
                "The aggregation function{} {} cannot be applied to a table source, only to a stream source.",
                if names.len() > 1 { "s" } else { "" },
                english_list(&names)
            )));
        }
    }

    // The aggregate schema: group keys, aggregate results, window bounds.
    let mut fields: Vec<Field> = Vec::new();
    for (i, (_, ty, _, _)) in group_by.iter().enumerate() {
        fields.push(Field::new(gb_name(i), ty.clone(), true));
    }
    for (i, a) in aggregates.iter().enumerate() {
        fields.push(Field::new(agg_name(i), a.spec.return_type.to_arrow(), true));
    }
    fields.push(Field::new(WINDOWSTART, DataType::Int64, true));
    fields.push(Field::new(WINDOWEND, DataType::Int64, true));
    let aggregate_schema: SchemaRef = Arc::new(Schema::new(fields));
    let over_aggregates = ExprCompiler::new(state, aggregate_schema.clone(), None)?;
    let not_grouped = |e: PlanError| match e {
        PlanError::Invalid { message, position } if message.contains("cannot be resolved") => {
            let column = message.split('\'').nth(1).unwrap_or_default().to_string();
            PlanError::Invalid {
                message: format!(
                    "Non-aggregate SELECT expression(s) not part of GROUP BY: {column}. Add it to the GROUP BY clause or use it inside an aggregate function."
                ),
                position,
            }
        }
        other => other,
    };

    // Keys: every GROUP BY expression appears once in the projection; its item names the key column.
    let mut key_names: Vec<Option<String>> = vec![None; group_by.len()];
    for (name, _, _, gi) in &items {
        if let Some(i) = gi {
            if let Some(previous) = &key_names[*i] {
                return Err(PlanError::invalid(format!(
                    "The projection contains a key column more than once: `{previous}` and `{name}`."
                )));
            }
            key_names[*i] = Some(name.clone());
        }
    }
    let missing: Vec<String> = key_names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.is_none())
        .map(|(i, _)| group_by[i].3.clone())
        .collect();
    if !missing.is_empty() {
        return Err(PlanError::invalid(format!(
            "Key missing from projection (ie, SELECT).\nThe query used to build `{}` must include the grouping expression{} {} in its projection (eg, SELECT {}...).",
            sink.name,
            if missing.len() > 1 { "s" } else { "" },
            english_list(&missing),
            missing.join(", ")
        )));
    }

    let mut columns: Vec<Column> = Vec::new();
    for (i, (_, _, sql_type, _)) in group_by.iter().enumerate() {
        columns.push(Column::key(key_names[i].clone().unwrap_or_default(), sql_type.clone()));
    }
    let mut values = Vec::new();
    for (name, rewritten, text, gi) in &items {
        if gi.is_some() {
            continue;
        }
        if PseudoColumn::from_name(name).is_some() || name == WINDOWSTART || name == WINDOWEND {
            return Err(PlanError::invalid(format!(
                "Reserved column name in select: `{name}`. Please remove or alias the column."
            )));
        }
        if columns.iter().any(|c| &c.name == name) {
            return Err(PlanError::invalid(format!(
                "Duplicate value columns found in schema: `{name}`. Alias one of them with AS."
            )));
        }
        let (physical, ty) = over_aggregates.compile(rewritten).map_err(not_grouped)?;
        let sql_type = if ty == DataType::Null {
            SqlType::String
        } else {
            SqlType::from_arrow(&ty).map_err(|e| PlanError::invalid(e.to_string()))?
        };
        let arrow_type = sql_type.to_arrow();
        let expr: Arc<dyn PhysicalExpr> = if ty == arrow_type {
            physical
        } else {
            Arc::new(CastExpr::new(physical, arrow_type.clone(), None))
        };
        columns.push(Column::value(name, sql_type));
        values.push(OutputColumn {
            name: name.clone(),
            expr,
            data_type: arrow_type,
            text: text.clone(),
        });
    }
    if values.is_empty() {
        return Err(PlanError::invalid(format!(
            "The projection contains no value columns. The query used to build `{}` must select at least one aggregate or column besides the GROUP BY expressions.",
            sink.name
        )));
    }
    let having = match having {
        Some((rewritten, text, position)) => {
            let (physical, ty) = over_aggregates.compile(&rewritten).map_err(|e| match not_grouped(e) {
                PlanError::Invalid { message, position } => PlanError::Invalid {
                    message: message.replace("Non-aggregate SELECT expression(s)", "Non-aggregate HAVING expression"),
                    position,
                },
                other => other,
            })?;
            if ty != DataType::Boolean {
                return Err(PlanError::Invalid {
                    message: format!("Type error in HAVING expression: Should evaluate to boolean but is {text}."),
                    position,
                });
            }
            Some((physical, text))
        }
        None => None,
    };

    let schema = LogicalSchema::new(columns);
    let mut def = sink_definition(
        sink.name,
        SourceKind::Table,
        sink.properties,
        sink.sql,
        sink.query_id,
        &input.source,
        &schema,
        false,
    )?;
    if def.key_format.format == "NONE" {
        def.key_format = FormatSpec::named("KAFKA");
        super::properties::validate_formats(&schema, &def.key_format, &def.value_format)?;
    }
    def.window = window.map(|w| WindowInfo {
        kind: w.type_name().to_string(),
        size_ms: match w.kind {
            crate::exec::aggregate::WindowKind::Tumbling { size } => Some(size),
            crate::exec::aggregate::WindowKind::Hopping { size, .. } => Some(size),
            crate::exec::aggregate::WindowKind::Session { .. } => None,
        },
    });
    Ok(AggregatePlan {
        source: input.source,
        sink: def,
        source_timestamp: input.source_timestamp,
        filter: input.filter,
        group_by: group_by.into_iter().map(|(p, ty, _, text)| (p, ty, text)).collect(),
        aggregates,
        window,
        emit_final,
        having,
        values,
        aggregate_schema,
    })
}

/// A function call's name as the function registry knows it: unquoted, upper case.
fn function_name(f: &ast::Function) -> String {
    f.name
        .to_string()
        .trim_matches('"')
        .trim_matches('`')
        .to_ascii_uppercase()
}

/// Whether a query aggregates: a GROUP BY, or an aggregate function in its projection or HAVING.
pub fn uses_aggregates(query: &Query) -> bool {
    struct Find(bool);
    impl VisitorMut for Find {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
            if let ast::Expr::Function(f) = e {
                let name = function_name(f);
                if is_aggregate(&name) {
                    self.0 = true;
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    if !query.group_by.is_empty() {
        return true;
    }
    let mut find = Find(false);
    visit_select_and_having(query, &mut find);
    find.0
}

/// Runs `visitor` over every select expression and the HAVING clause (until it breaks).
fn visit_select_and_having<V: VisitorMut<Break = ()>>(query: &Query, visitor: &mut V) {
    let exprs = query
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::UnnamedExpr(e) => Some(e),
            SelectItem::ExprWithAlias { expr, .. } | SelectItem::ExprWithAliases { expr, .. } => Some(expr),
            _ => None,
        })
        .chain(query.having.iter());
    for e in exprs {
        if e.clone().visit(visitor).is_break() {
            return;
        }
    }
}

/// The first function named in the projection or HAVING that is neither an aggregate nor a known scalar function:
/// reported before the shape checks, since a misspelt aggregate otherwise reads as "GROUP BY requires aggregates".
fn unknown_function(query: &Query, knows: impl Fn(&str) -> bool) -> Option<String> {
    struct Find<F: Fn(&str) -> bool> {
        knows: F,
        unknown: Option<String>,
    }
    impl<F: Fn(&str) -> bool> VisitorMut for Find<F> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
            if let ast::Expr::Function(f) = e {
                let name = function_name(f);
                if !is_aggregate(&name) && !(self.knows)(&name) {
                    self.unknown = Some(name);
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut find = Find { knows, unknown: None };
    visit_select_and_having(query, &mut find);
    find.unknown
}

/// `A`, `A and B`, `A, B and C`.
fn english_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter().map(|s| s.as_ref()).collect::<Vec<_>>().join(", "),
            last.as_ref()
        ),
    }
}

fn window_bound_error(bound: &str) -> PlanError {
    PlanError::invalid(format!(
        "Window bounds column {bound} can only be used in the SELECT clause of windowed aggregations and can not be passed to aggregate functions."
    ))
}

fn bound_name(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Identifier(id) => id.value.clone(),
        other => other.to_string(),
    }
}

/// The first `WINDOWSTART`/`WINDOWEND` reference in `e` (when `inside_call`, `e` itself is not considered a bound).
fn window_bound_in(e: &ast::Expr, inside_call: bool) -> Option<String> {
    struct Find(Option<String>);
    impl VisitorMut for Find {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
            let name = match e {
                ast::Expr::Identifier(id) => Some(id.value.clone()),
                ast::Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.clone()),
                _ => None,
            };
            if let Some(n) = name.filter(|n| n == WINDOWSTART || n == WINDOWEND) {
                self.0 = Some(n);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    let _ = inside_call;
    let mut find = Find(None);
    let mut copy = e.clone();
    let _ = copy.visit(&mut find);
    find.0
}

/// `t.col` becomes `col`: the aggregate schema has no qualifiers (there is one source).
fn strip_qualifiers(e: ast::Expr) -> ast::Expr {
    struct Strip;
    impl VisitorMut for Strip {
        type Break = ();
        fn post_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
            if let ast::Expr::CompoundIdentifier(parts) = e
                && let Some(last) = parts.last()
            {
                *e = ast::Expr::Identifier(last.clone());
            }
            ControlFlow::Continue(())
        }
    }
    let mut e = e;
    let _ = e.visit(&mut Strip);
    e
}

/// Whether a rewritten select item still refers to a source column (neither grouped nor aggregated).
fn references_source(e: &ast::Expr) -> bool {
    struct Find(bool);
    impl VisitorMut for Find {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
            if let ast::Expr::Identifier(id) = e {
                let internal = id.value.starts_with("KSQL_GB_")
                    || id.value.starts_with("KSQL_AGG_VARIABLE_")
                    || id.value == WINDOWSTART
                    || id.value == WINDOWEND;
                if !internal {
                    self.0 = true;
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut find = Find(false);
    let mut copy = e.clone();
    let _ = copy.visit(&mut find);
    find.0
}
