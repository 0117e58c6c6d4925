//! `CREATE STREAM ... AS SELECT` and `INSERT INTO ... SELECT`: from a query to a stateless pipeline over one source
//! and the definition of its sink.
//!
//! Naming, key and timestamp rules follow ksqlDB: unaliased expressions are named `KSQL_COL_<n>`, every key column
//! of the result must be selected exactly once, `PARTITION BY` re-keys by expressions over the input, and the sink's
//! `TIMESTAMP` column, when declared, becomes the output record time.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::Expr as LogicalExpr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::CastExpr;
use datafusion::sql::sqlparser::ast::{self, SelectItem, Value};

use crate::catalog::{Catalog, FormatSpec, SourceDef, TimestampSpec};
use crate::exec::OutputColumn;
use crate::sql::ast::{Emit, Query, SourceKind, WithProperties};
use crate::types::{Column, LogicalSchema, PseudoColumn, SqlType, WINDOWEND, WINDOWSTART};

use super::PlanError;
use super::expr::{ExprCompiler, expr_position};
use super::properties::{check_allowed, formats, positive_int_prop, string_prop, timestamp_spec, validate_formats};

/// Properties `CREATE ... AS SELECT` accepts.
const SINK_PROPERTIES: &[&str] = &[
    "KAFKA_TOPIC",
    "PARTITIONS",
    "REPLICAS",
    "FORMAT",
    "KEY_FORMAT",
    "VALUE_FORMAT",
    "TIMESTAMP",
    "TIMESTAMP_FORMAT",
    "VALUE_DELIMITER",
    "KEY_DELIMITER",
    "WRAP_SINGLE_VALUE",
];

/// A planned stateless persistent query.
pub struct PersistentPlan {
    pub source: SourceDef,
    pub sink: SourceDef,
    pub filter: Option<(Arc<dyn PhysicalExpr>, String)>,
    pub columns: Vec<OutputColumn>,
    pub key_columns: usize,
    pub result_schema: SchemaRef,
    pub source_timestamp: Option<Arc<dyn PhysicalExpr>>,
    pub sink_timestamp: Option<usize>,
}

/// Where a query's results go.
pub enum SinkTarget<'a> {
    /// A new stream created by the query.
    Create {
        name: &'a str,
        kind: SourceKind,
        properties: &'a WithProperties,
        sql: &'a str,
        query_id: &'a str,
    },
    /// An existing stream (`INSERT INTO`).
    Existing(&'a SourceDef),
}

/// Plans a persistent query.
pub fn plan_persistent(
    state: &SessionState,
    catalog: &Catalog,
    query: &Query,
    target: SinkTarget<'_>,
) -> Result<PersistentPlan, PlanError> {
    reject_unsupported(query, false)?;
    let input = plan_input(state, catalog, query)?;
    if input.source.kind == SourceKind::Table && !query.partition_by.is_empty() {
        return Err(PlanError::invalid_at(
            "PARTITION BY is not supported on tables: a table is re-keyed with GROUP BY.",
            query.position,
        ));
    }
    let compiler = &input.compiler;
    let source = input.source.clone();
    let source_timestamp = input.source_timestamp.clone();
    let filter = input.filter.clone();
    let qualifier = input.qualifier.as_str();

    let sink_name = match &target {
        SinkTarget::Create { name, .. } => name.to_string(),
        SinkTarget::Existing(def) => def.name.clone(),
    };
    let mut projection = expand_projection(query, &source, qualifier)?;
    let keys = resolve_keys(compiler, query, &source, &mut projection, &sink_name)?;
    let items = &projection.items;

    // Output columns: keys in key order, then values in projection order.
    let mut columns: Vec<(String, LogicalExpr, String, bool)> = Vec::new();
    for k in &keys.columns {
        columns.push((k.name.clone(), k.expr.clone(), k.text.clone(), true));
    }
    for (i, item) in items.iter().enumerate() {
        if keys.projection_items.contains(&i) {
            continue;
        }
        let logical = compiler.logical(&item.expr)?;
        columns.push((item.name.clone(), logical, item.expr.to_string(), false));
    }
    let mut seen = std::collections::HashSet::new();
    for (name, _, _, _) in &columns {
        if !seen.insert(name.clone()) {
            return Err(PlanError::invalid(format!(
                "Duplicate value columns found in schema: `{name}`. Alias one of them with AS."
            )));
        }
        if PseudoColumn::from_name(name).is_some() || name == WINDOWSTART || name == WINDOWEND {
            return Err(PlanError::invalid(format!(
                "Reserved column name in select: `{name}`. Please remove or alias the column."
            )));
        }
    }

    let (output_columns, schema_columns) = compile_columns(compiler, columns)?;
    let result_logical = LogicalSchema::new(schema_columns);
    if result_logical.value_columns().next().is_none() {
        return Err(PlanError::invalid(format!(
            "The result of the query used to build `{sink_name}` has no value columns. Select at least one column that is not part of the key."
        )));
    }
    let key_count = result_logical.key_count();
    let result_schema = result_batch_schema(&result_logical);

    let (sink, sink_timestamp) = match target {
        SinkTarget::Create {
            name,
            kind,
            properties,
            sql,
            query_id,
        } => {
            let mut def = sink_definition(
                name,
                kind,
                properties,
                sql,
                query_id,
                &source,
                &result_logical,
                keys.partitioned_by_null,
            )?;
            // A transform of a windowed table is windowed the same way.
            if kind == SourceKind::Table {
                def.window = source.window.clone();
            }
            let ts = sink_timestamp_index(&def, &output_columns)?;
            (def, ts)
        }
        SinkTarget::Existing(def) => {
            if def.kind != SourceKind::Stream {
                return Err(PlanError::invalid(format!(
                    "INSERT INTO can only be used to insert into a stream. {} is a table.",
                    def.name
                )));
            }
            if def.schema != result_logical {
                return Err(PlanError::invalid(format!(
                    "Incompatible schema between results and sink.\nResult schema is {}\nSink schema is {}",
                    result_logical.to_ksql_string(),
                    def.schema.to_ksql_string()
                )));
            }
            let ts = sink_timestamp_index(def, &output_columns)?;
            (def.clone(), ts)
        }
    };

    Ok(PersistentPlan {
        source,
        sink,
        filter,
        columns: output_columns,
        key_columns: key_count,
        result_schema,
        source_timestamp,
        sink_timestamp,
    })
}

/// The source side of a query: the source, the expression compiler over its batches, event time and WHERE.
pub(super) struct Input<'a> {
    pub source: SourceDef,
    pub qualifier: String,
    pub compiler: ExprCompiler<'a>,
    pub source_timestamp: Option<Arc<dyn PhysicalExpr>>,
    pub filter: Option<(Arc<dyn PhysicalExpr>, String)>,
}

pub(super) fn plan_input<'a>(
    state: &'a SessionState,
    catalog: &Catalog,
    query: &Query,
) -> Result<Input<'a>, PlanError> {
    let from = &query.from.source;
    let source = catalog
        .source(&from.name)
        .cloned()
        .ok_or_else(|| PlanError::invalid_at(format!("Source `{}` does not exist.", from.name), from.position))?;
    let qualifier = from.alias.clone().unwrap_or_else(|| from.name.clone());
    let compiler = ExprCompiler::new(state, source.schema.source_batch_schema(), Some(&qualifier))?;
    let source_timestamp = source
        .timestamp
        .as_ref()
        .map(|ts| timestamp_expr(&compiler, ts))
        .transpose()?;
    let filter = match &query.selection {
        None => None,
        Some(e) => {
            let (expr, ty) = compiler.compile(e)?;
            if ty != DataType::Boolean && ty != DataType::Null {
                return Err(PlanError::invalid(format!(
                    "Type error in WHERE expression: Should evaluate to boolean but is {} ({}) instead.",
                    e,
                    sql_type_name(&ty)
                )));
            }
            Some((expr, e.to_string()))
        }
    };
    Ok(Input {
        source,
        qualifier,
        compiler,
        source_timestamp,
        filter,
    })
}

/// Compiles result columns, casting each to the Arrow type of its ksqlDB type.
fn compile_columns(
    compiler: &ExprCompiler<'_>,
    columns: Vec<(String, LogicalExpr, String, bool)>,
) -> Result<(Vec<OutputColumn>, Vec<Column>), PlanError> {
    let mut output_columns = Vec::with_capacity(columns.len());
    let mut schema_columns = Vec::with_capacity(columns.len());
    for (name, logical, text, is_key) in columns {
        let physical = compiler.physical(logical)?;
        let df_type = physical
            .data_type(compiler.df_schema().as_arrow())
            .map_err(|e| PlanError::invalid(e.to_string()))?;
        let sql_type = if df_type == DataType::Null {
            SqlType::String
        } else {
            SqlType::from_arrow(&df_type)
                .map_err(|e| PlanError::invalid(format!("Column {name} ({text}) has a type Weir cannot store: {e}")))?
        };
        let arrow_type = sql_type.to_arrow();
        let expr: Arc<dyn PhysicalExpr> = if df_type == arrow_type {
            physical
        } else {
            Arc::new(CastExpr::new(physical, arrow_type.clone(), None))
        };
        if is_key && matches!(sql_type, SqlType::Map(..)) {
            return Err(PlanError::invalid(format!(
                "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{name}`. Column type: {sql_type}."
            )));
        }
        schema_columns.push(if is_key {
            Column::key(&name, sql_type)
        } else {
            Column::value(&name, sql_type)
        });
        output_columns.push(OutputColumn {
            name,
            expr,
            data_type: arrow_type,
            text,
        });
    }
    Ok((output_columns, schema_columns))
}

/// A planned transient query (`SELECT ... [EMIT CHANGES]` over a stream).
pub struct TransientPlan {
    pub source: SourceDef,
    pub filter: Option<(Arc<dyn PhysicalExpr>, String)>,
    pub columns: Vec<OutputColumn>,
    /// The result columns as ksqlDB reports them in a push query's header.
    pub schema: LogicalSchema,
    pub result_schema: SchemaRef,
    pub source_timestamp: Option<Arc<dyn PhysicalExpr>>,
    pub limit: Option<u64>,
    /// `EMIT CHANGES`: follow new data; otherwise a bounded scan of what is there now.
    pub push: bool,
}

/// Plans a transient query over a stream: every select item is a result column (no key rules apply).
pub fn plan_transient(state: &SessionState, catalog: &Catalog, query: &Query) -> Result<TransientPlan, PlanError> {
    reject_unsupported(query, true)?;
    if !query.partition_by.is_empty() {
        return Err(PlanError::invalid_at(
            "PARTITION BY is only supported in persistent queries (CREATE STREAM ... AS SELECT).",
            query.position,
        ));
    }
    let input = plan_input(state, catalog, query)?;
    let items = expand_projection(query, &input.source, &input.qualifier)?.items;
    let mut columns = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::new();
    for item in &items {
        if !seen.insert(item.name.clone()) {
            return Err(PlanError::invalid(format!(
                "Duplicate column names in the result of the query: `{}`. Alias one of them with AS.",
                item.name
            )));
        }
        let logical = input.compiler.logical(&item.expr)?;
        columns.push((item.name.clone(), logical, item.expr.to_string(), false));
    }
    let (output_columns, schema_columns) = compile_columns(&input.compiler, columns)?;
    let schema = LogicalSchema::new(schema_columns);
    Ok(TransientPlan {
        result_schema: result_batch_schema(&schema),
        schema,
        source: input.source,
        filter: input.filter,
        columns: output_columns,
        source_timestamp: input.source_timestamp,
        limit: query.limit,
        push: query.emit == Some(Emit::Changes),
    })
}

/// The clauses later releases execute: a clear error now, never a parse error.
fn reject_unsupported(query: &Query, transient: bool) -> Result<(), PlanError> {
    if let Some(join) = query.from.joins.first() {
        return Err(PlanError::not_supported("JOIN", Some(join.source.position)));
    }
    if query.window.is_some() {
        return Err(PlanError::invalid_at(
            "WINDOW requires a GROUP BY: windows group records into aggregates (CREATE TABLE ... AS SELECT ... WINDOW ... GROUP BY ...).",
            query.position,
        ));
    }
    if !query.group_by.is_empty() {
        return Err(PlanError::not_supported(
            "GROUP BY",
            expr_position(&query.group_by[0]).or(Some(query.position)),
        ));
    }
    if let Some(h) = &query.having {
        return Err(PlanError::invalid_at(
            "HAVING requires a GROUP BY clause.",
            expr_position(h).unwrap_or(query.position),
        ));
    }
    if query.emit == Some(Emit::Final) {
        return Err(PlanError::invalid_at(
            "EMIT FINAL is only supported for windowed aggregations.",
            query.position,
        ));
    }
    if query.limit.is_some() && !transient {
        return Err(PlanError::invalid_at(
            "LIMIT is not supported in persistent queries (CREATE ... AS SELECT, INSERT INTO).",
            query.position,
        ));
    }
    Ok(())
}

/// A projection item after `*` expansion, with its output name.
struct Item {
    name: String,
    expr: ast::Expr,
}

/// The projection after `*` expansion, whether it had a `*`, and the name generator (PARTITION BY keys added for
/// a `*` projection continue its numbering).
struct Projection {
    items: Vec<Item>,
    has_wildcard: bool,
    names: NameGenerator,
}

fn expand_projection(query: &Query, source: &SourceDef, qualifier: &str) -> Result<Projection, PlanError> {
    let mut items = Vec::new();
    let mut has_wildcard = false;
    let mut generated = NameGenerator::new(&source.schema);
    let star = |items: &mut Vec<Item>| {
        // With PARTITION BY, ksqlDB puts the old key columns after the value columns.
        let ordered: Vec<&Column> = if query.partition_by.is_empty() {
            source.schema.columns().iter().collect()
        } else {
            source
                .schema
                .value_columns()
                .chain(source.schema.key_columns())
                .collect()
        };
        for c in ordered {
            items.push(Item {
                name: c.name.clone(),
                expr: ast::Expr::Identifier(ast::Ident::with_quote('`', &c.name)),
            });
        }
    };
    for item in &query.projection {
        match item {
            SelectItem::Wildcard(_) => {
                has_wildcard = true;
                star(&mut items)
            }
            SelectItem::QualifiedWildcard(kind, _) => {
                let name = kind.to_string();
                let name = name.trim_end_matches(".*").trim_matches('`').trim_matches('"');
                if name != qualifier && name != source.name {
                    return Err(PlanError::invalid(format!(
                        "'{name}' is not a valid stream/table name or alias."
                    )));
                }
                star(&mut items);
            }
            SelectItem::UnnamedExpr(e) => {
                let name = implicit_name(e).unwrap_or_else(|| generated.next());
                items.push(Item { name, expr: e.clone() });
            }
            SelectItem::ExprWithAlias { expr, alias } => items.push(Item {
                name: alias.value.clone(),
                expr: expr.clone(),
            }),
            SelectItem::ExprWithAliases { expr, aliases } => items.push(Item {
                name: aliases
                    .first()
                    .map(|a| a.value.clone())
                    .unwrap_or_else(|| generated.next()),
                expr: expr.clone(),
            }),
        }
    }
    Ok(Projection {
        items,
        has_wildcard,
        names: generated,
    })
}

/// ksqlDB's name for an unaliased select item: a column's own name, a struct field's name, or none.
pub(super) fn implicit_name(e: &ast::Expr) -> Option<String> {
    match e {
        ast::Expr::Identifier(id) => Some(id.value.clone()),
        ast::Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.clone()),
        ast::Expr::BinaryOp {
            op: ast::BinaryOperator::Arrow,
            right,
            ..
        } => match right.as_ref() {
            ast::Expr::Identifier(id) => Some(id.value.clone()),
            _ => None,
        },
        ast::Expr::Nested(inner) => implicit_name(inner),
        _ => None,
    }
}

/// `KSQL_COL_<n>`, skipping numbers the source already uses.
pub(super) struct NameGenerator {
    next: usize,
    taken: Vec<String>,
}

impl NameGenerator {
    pub(super) fn new(schema: &LogicalSchema) -> Self {
        NameGenerator {
            next: 0,
            taken: schema.columns().iter().map(|c| c.name.clone()).collect(),
        }
    }

    pub(super) fn next(&mut self) -> String {
        loop {
            let name = format!("KSQL_COL_{}", self.next);
            self.next += 1;
            if !self.taken.contains(&name) {
                self.taken.push(name.clone());
                return name;
            }
        }
    }
}

struct KeyColumn {
    name: String,
    expr: LogicalExpr,
    text: String,
}

struct Keys {
    columns: Vec<KeyColumn>,
    /// Indexes of projection items that are key columns (they are not values).
    projection_items: Vec<usize>,
    partitioned_by_null: bool,
}

fn is_null_literal(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Value(v) if matches!(v.value, Value::Null))
}

fn resolve_keys(
    compiler: &ExprCompiler<'_>,
    query: &Query,
    source: &SourceDef,
    projection: &mut Projection,
    sink: &str,
) -> Result<Keys, PlanError> {
    let items = &projection.items;
    let item_exprs: Vec<LogicalExpr> = items
        .iter()
        .map(|i| compiler.logical(&i.expr))
        .collect::<Result<_, _>>()?;

    if query.partition_by.iter().any(is_null_literal) {
        if query.partition_by.len() > 1 {
            return Err(PlanError::invalid(
                "Cannot PARTITION BY multiple columns including NULL",
            ));
        }
        return Ok(Keys {
            columns: vec![],
            projection_items: vec![],
            partitioned_by_null: true,
        });
    }

    let wanted: Vec<(LogicalExpr, String, Option<String>)> = if query.partition_by.is_empty() {
        source
            .schema
            .key_columns()
            .map(|c| {
                let e = ast::Expr::Identifier(ast::Ident::with_quote('`', &c.name));
                compiler.logical(&e).map(|l| (l, c.name.clone(), Some(c.name.clone())))
            })
            .collect::<Result<_, _>>()?
    } else {
        query
            .partition_by
            .iter()
            .map(|e| {
                compiler
                    .logical(e)
                    .map(|l| (l, e.to_string(), implicit_name(e)))
                    .map_err(|err| match err {
                        PlanError::Invalid { message, position } if message.contains("cannot be resolved") => {
                            PlanError::Invalid {
                                message: format!(
                                    "PARTITION BY {message} It must be a column in the source schema since PARTITION BY is applied on the input."
                                ),
                                position,
                            }
                        }
                        other => other,
                    })
            })
            .collect::<Result<_, _>>()?
    };

    let mut columns = Vec::new();
    let mut projection_items = Vec::new();
    let mut missing = Vec::new();
    for (expr, text, implicit) in wanted {
        let matches: Vec<usize> = item_exprs
            .iter()
            .enumerate()
            .filter(|(_, e)| strip_alias(e) == strip_alias(&expr))
            .map(|(i, _)| i)
            .collect();
        match matches.as_slice() {
            // With `SELECT *` and PARTITION BY, ksqlDB adds the new key column itself.
            [] if projection.has_wildcard && !query.partition_by.is_empty() => {
                let name = implicit.unwrap_or_else(|| projection.names.next());
                columns.push(KeyColumn { name, expr, text });
            }
            [] => missing.push(text),
            [i] => {
                projection_items.push(*i);
                columns.push(KeyColumn {
                    name: items[*i].name.clone(),
                    expr,
                    text: items[*i].expr.to_string(),
                });
            }
            many => {
                let names: Vec<&str> = many.iter().map(|i| items[*i].name.as_str()).collect();
                return Err(PlanError::invalid(format!(
                    "The projection contains a key column (`{text}`) more than once, aliased as: {}.",
                    names.join(" and ")
                )));
            }
        }
    }
    if !missing.is_empty() {
        let what = if query.partition_by.is_empty() {
            if missing.len() == 1 {
                "the key column"
            } else {
                "the key columns"
            }
        } else if missing.len() == 1 {
            "the partitioning expression"
        } else {
            "the partitioning expressions"
        };
        return Err(PlanError::invalid(format!(
            "Key missing from projection (ie, SELECT).\nThe query used to build `{sink}` must include {what} {} in its projection (eg, SELECT {}...).",
            missing.join(" and "),
            missing.join(", ")
        )));
    }
    Ok(Keys {
        columns,
        projection_items,
        partitioned_by_null: false,
    })
}

fn strip_alias(e: &LogicalExpr) -> &LogicalExpr {
    match e {
        LogicalExpr::Alias(a) => strip_alias(&a.expr),
        other => other,
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn sink_definition(
    name: &str,
    kind: SourceKind,
    props: &WithProperties,
    sql: &str,
    query_id: &str,
    source: &SourceDef,
    schema: &LogicalSchema,
    partitioned_by_null: bool,
) -> Result<SourceDef, PlanError> {
    check_allowed(props, SINK_PROPERTIES)?;
    let (mut key_format, value_format) = formats(props, Some((&source.key_format, &source.value_format)))?;
    let explicit_key_format = props.get("KEY_FORMAT").is_some() || props.get("FORMAT").is_some();
    if schema.key_count() == 0 {
        if partitioned_by_null && explicit_key_format && key_format.format != "NONE" {
            return Err(PlanError::invalid(format!(
                "Key format specified for stream without key columns. PARTITION BY NULL leaves no key: remove KEY_FORMAT='{}' or use 'NONE'.",
                key_format.format
            )));
        }
        key_format = FormatSpec::named("NONE");
    } else if key_format.format == "NONE" && !explicit_key_format {
        // A keyless source re-keyed by PARTITION BY gets ksqlDB's default key format.
        key_format = FormatSpec::named("KAFKA");
    }
    validate_formats(schema, &key_format, &value_format)?;
    let timestamp: Option<TimestampSpec> = timestamp_spec(props, schema)?;
    let partitions = positive_int_prop(props, "PARTITIONS")?.unwrap_or(source.partitions);
    positive_int_prop(props, "REPLICAS")?;
    Ok(SourceDef {
        name: name.to_string(),
        kind,
        schema: schema.clone(),
        topic: string_prop(props, "KAFKA_TOPIC").unwrap_or_else(|| name.to_string()),
        partitions,
        key_format,
        value_format,
        timestamp,
        is_source: false,
        sql: sql.to_string(),
        created_by: Some(query_id.to_string()),
        window: None,
    })
}

fn sink_timestamp_index(sink: &SourceDef, columns: &[OutputColumn]) -> Result<Option<usize>, PlanError> {
    let Some(ts) = &sink.timestamp else { return Ok(None) };
    if ts.format.is_some() {
        return Err(PlanError::not_supported(
            "TIMESTAMP_FORMAT on the sink of a persistent query",
            None,
        ));
    }
    Ok(columns.iter().position(|c| c.name == ts.column))
}

/// Event time of a source declared with `TIMESTAMP`: the column as epoch milliseconds.
fn timestamp_expr(compiler: &ExprCompiler<'_>, ts: &TimestampSpec) -> Result<Arc<dyn PhysicalExpr>, PlanError> {
    let column = ast::Expr::Identifier(ast::Ident::with_quote('`', &ts.column));
    let expr = match &ts.format {
        None => column,
        Some(format) => super::expr::call(
            "stringtotimestamp",
            vec![column, ast::Expr::value(Value::SingleQuotedString(format.clone()))],
        ),
    };
    let (physical, ty) = compiler.compile(&expr)?;
    Ok(if ty == DataType::Int64 {
        physical
    } else {
        Arc::new(CastExpr::new(physical, DataType::Int64, None))
    })
}

/// The schema of result batches: the sink's columns then the three pseudo-columns.
pub fn result_batch_schema(schema: &LogicalSchema) -> SchemaRef {
    let mut fields: Vec<Field> = schema
        .columns()
        .iter()
        .map(|c| Field::new(&c.name, c.ty.to_arrow(), true))
        .collect();
    for p in PseudoColumn::ALL {
        fields.push(Field::new(p.name(), p.sql_type().to_arrow(), false));
    }
    Arc::new(Schema::new(fields))
}

fn sql_type_name(t: &DataType) -> String {
    SqlType::from_arrow(t)
        .map(|s| s.to_string())
        .unwrap_or_else(|_| t.to_string())
}
