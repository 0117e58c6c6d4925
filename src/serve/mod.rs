//! Pull queries: a `SELECT` over Weir's streams and tables (and the Postgres catalog), planned and run by
//! DataFusion, with full SQL — joins, aggregates, `ORDER BY`, `LIMIT`, subqueries.
//!
//! One statement goes through these steps, each a function you can call on its own:
//!
//! 1. parse with `sqlparser`'s Postgres dialect ([`Serving::prepare`]);
//! 2. fold identifiers — upper case as in ksqlDB, lower case for catalog-only statements ([`normalize`]);
//! 3. rewrite the Postgres-specific forms tools send ([`rewrite`]);
//! 4. plan with DataFusion against a [`context::Snapshot`] of the catalog: one table per source, read from its topic
//!    ([`scan`]) or from its materialized view ([`view`], with key lookups pushed down), and the `pg_catalog` /
//!    `information_schema` tables ([`pg_catalog`]);
//! 5. bind `$n` parameters and execute ([`Serving::execute`]).
//!
//! The Postgres wire server uses [`Serving`] directly; the REST API runs the pull queries ksqlDB's dialect cannot
//! express through [`Serving::ksql_pull`] ([`ksql`]); [`pull_query`] is the one-call form for other callers.
//!
//! # Example
//! ```no_run
//! # async fn demo(engine: std::sync::Arc<weir::engine::Engine>) -> Result<(), weir::serve::ServeError> {
//! let (schema, batches) = weir::serve::pull_query(&engine, "SELECT region, count(*) FROM pageviews GROUP BY region").await?;
//! # let _ = (schema, batches);
//! # Ok(())
//! # }
//! ```

pub mod context;
pub mod engine_view;
mod error;
pub mod ksql;
pub mod normalize;
pub mod pg_catalog;
pub mod pg_functions;
pub mod pg_types;
pub mod relations;
pub mod rewrite;
pub mod scan;
pub mod settings;
pub mod source_table;
pub mod view;

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::logical_expr::LogicalPlan;
use datafusion::scalar::ScalarValue;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use parking_lot::Mutex;

pub use context::Snapshot;
pub use error::{ServeError, ServeErrorClass};
pub use rewrite::{SessionInfo, version_string};
pub use view::{KeyLookup, ViewCatalog, ViewScan};

use crate::engine::Engine;
use normalize::Fold;

/// How output columns are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labels {
    /// As a Postgres client expects: `count` for `count(*)`, `?column?` for `1`, lower-cased unquoted aliases.
    Postgres,
    /// As DataFusion plans them, with ksqlDB's upper-cased aliases.
    Planned,
    /// As ksqlDB's REST API names them: [`Labels::Planned`], except that unaliased expressions are `KSQL_COL_<n>`.
    Ksql,
}

/// Options of one pull query.
#[derive(Debug, Clone)]
pub struct PullOptions {
    pub labels: Labels,
    pub session: SessionInfo,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            labels: Labels::Planned,
            session: SessionInfo::default(),
        }
    }
}

/// A planned pull query, ready to run (again) with parameter values.
#[derive(Clone)]
pub struct PreparedPull {
    plan: LogicalPlan,
    /// The output columns as the client sees them.
    pub schema: SchemaRef,
    /// The type DataFusion inferred for each `$n` (index `n - 1`), where it could.
    pub param_types: Vec<Option<DataType>>,
    snapshot: Arc<Snapshot>,
}

impl std::fmt::Debug for PreparedPull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedPull")
            .field("schema", &self.schema)
            .field("param_types", &self.param_types)
            .finish()
    }
}

/// The rows of a pull query.
#[derive(Debug, Clone)]
pub struct PullResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

/// Plans and runs pull queries for one engine, keeping the planning session until the catalog changes.
pub struct Serving {
    engine: Arc<Engine>,
    views: Option<Arc<dyn ViewCatalog>>,
    snapshot: Mutex<Option<Arc<Snapshot>>>,
}

impl Serving {
    /// Serves the engine's tables from their materialized views ([`engine_view`]) and its streams from their topics.
    pub fn new(engine: Arc<Engine>) -> Self {
        let views: Arc<dyn ViewCatalog> = Arc::new(engine_view::EngineViews::new(&engine));
        Serving {
            engine,
            views: Some(views),
            snapshot: Mutex::new(None),
        }
    }

    /// Serves tables from `views` (key lookups pushed down) instead.
    pub fn with_views(mut self, views: Arc<dyn ViewCatalog>) -> Self {
        self.views = Some(views);
        self
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The planning session for the current catalog (rebuilt when the catalog changed).
    pub fn snapshot(&self) -> Result<Arc<Snapshot>, ServeError> {
        if let Some(s) = self.snapshot.lock().as_ref()
            && s.is_current(&self.engine.catalog())
        {
            return Ok(s.clone());
        }
        let built = Arc::new(Snapshot::build(&self.engine, self.views.as_ref())?);
        *self.snapshot.lock() = Some(built.clone());
        Ok(built)
    }

    /// Whether `prepared` was planned against the current catalog.
    pub fn is_current(&self, prepared: &PreparedPull) -> bool {
        prepared.snapshot.is_current(&self.engine.catalog())
    }

    /// Parses `sql` (one statement, Postgres dialect) and plans it.
    pub async fn prepare(&self, sql: &str, options: &PullOptions) -> Result<PreparedPull, ServeError> {
        let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql)?;
        if statements.len() != 1 {
            return Err(ServeError::syntax(format!(
                "expected one statement, found {}",
                statements.len()
            )));
        }
        self.prepare_statement(statements.remove(0), options).await
    }

    /// Plans one parsed statement (a query, or `EXPLAIN` of one).
    pub async fn prepare_statement(
        &self,
        mut statement: Statement,
        options: &PullOptions,
    ) -> Result<PreparedPull, ServeError> {
        match &statement {
            Statement::Query(_) => {}
            Statement::Explain { statement: inner, .. } if matches!(inner.as_ref(), Statement::Query(_)) => {}
            other => {
                return Err(ServeError::not_supported(format!(
                    "{} is not a query; only SELECT runs as a pull query",
                    statement_kind(other)
                )));
            }
        }
        let snapshot = self.snapshot()?;
        let pg_tables: std::collections::HashSet<&str> = pg_catalog::pg_catalog_table_names().collect();
        let fold = normalize::fold_for(&statement, &|t: &str| pg_tables.contains(t));
        let labels = match options.labels {
            Labels::Postgres => normalize::output_labels(&statement, fold),
            Labels::Ksql => normalize::ksql_labels(&statement),
            Labels::Planned => None,
        };
        normalize::fold_identifiers(&mut statement, fold);
        if fold == Fold::Upper {
            normalize::exclude_pseudo_columns(&mut statement, &|t: &str| snapshot.sources.contains(t));
        }
        if fold == Fold::Lower {
            qualify_catalog_tables(&mut statement, &pg_tables);
        }
        let settings = context::settings_map(&options.session.settings);
        let session = SessionInfo {
            settings,
            ..options.session.clone()
        };
        let relation_oid = |parts: &[(String, bool)]| snapshot.relation_oid(parts);
        let always_empty = |t: &str| pg_catalog::ALWAYS_EMPTY.contains(&t);
        rewrite::rewrite(
            &mut statement,
            &rewrite::RewriteContext {
                session: &session,
                relation_oid: &relation_oid,
                always_empty: &always_empty,
                array_column: &pg_catalog::is_array_column,
            },
        )?;
        let state = snapshot.ctx.state();
        let plan = state
            .statement_to_plan(DfStatement::Statement(Box::new(statement)))
            .await?;
        let param_types = parameter_types(&plan)?;
        let planned: Vec<String> = plan.schema().fields().iter().map(|f| f.name().clone()).collect();
        let names = match &labels {
            Some(labels) => normalize::apply_labels(&planned, labels),
            None => planned,
        };
        let schema = Arc::new(Schema::new(
            plan.schema()
                .fields()
                .iter()
                .zip(names)
                .map(|(f, n)| f.as_ref().clone().with_name(n))
                .collect::<Vec<_>>(),
        ));
        Ok(PreparedPull {
            plan,
            schema,
            param_types,
            snapshot,
        })
    }

    /// Runs a prepared query with values for its parameters (each cast to the type the query expects).
    pub async fn execute(&self, prepared: &PreparedPull, params: Vec<ScalarValue>) -> Result<PullResult, ServeError> {
        let mut plan = prepared.plan.clone();
        if !params.is_empty() {
            let values = params
                .into_iter()
                .enumerate()
                .map(|(i, v)| match prepared.param_types.get(i) {
                    Some(Some(t)) if v.data_type() != *t => v.cast_to(t).map_err(|e| {
                        ServeError::new(
                            ServeErrorClass::InvalidText,
                            format!("invalid value for parameter ${}: {}", i + 1, first_line(&e.to_string())),
                        )
                    }),
                    _ => Ok(v),
                })
                .collect::<Result<Vec<_>, _>>()?;
            plan = plan.with_param_values(values)?;
        }
        let df = prepared.snapshot.ctx.execute_logical_plan(plan).await?;
        let batches = df.collect().await?;
        let batches = batches
            .into_iter()
            .map(|b| relabel(b, &prepared.schema))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PullResult {
            schema: prepared.schema.clone(),
            batches,
        })
    }

    /// Prepares and runs one statement without parameters.
    pub async fn query(&self, sql: &str, options: &PullOptions) -> Result<PullResult, ServeError> {
        let prepared = self.prepare(sql, options).await?;
        self.execute(&prepared, vec![]).await
    }
}

/// Runs one pull query (ksqlDB naming, no session) and returns its rows.
pub async fn pull_query(engine: &Arc<Engine>, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>), ServeError> {
    let result = Serving::new(engine.clone()).query(sql, &PullOptions::default()).await?;
    Ok((result.schema, result.batches))
}

/// Puts the client-facing names on a result batch (types and values unchanged).
fn relabel(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ServeError> {
    if batch.num_columns() != schema.fields().len() {
        return Err(ServeError::internal(
            "the result has a different number of columns than planned",
        ));
    }
    let fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .zip(schema.fields())
        .map(|(actual, named)| {
            actual
                .as_ref()
                .clone()
                .with_name(named.name())
                .with_metadata(named.metadata().clone())
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), batch.columns().to_vec())
        .map_err(|e| ServeError::internal(e.to_string()))
}

/// `$1..$n` types in order; gaps (unused numbers) are `None`.
fn parameter_types(plan: &LogicalPlan) -> Result<Vec<Option<DataType>>, ServeError> {
    let found: HashMap<String, Option<DataType>> = plan.get_parameter_types()?;
    let mut out = Vec::new();
    for (id, t) in found {
        let Some(n) = id.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) else {
            return Err(ServeError::syntax(format!("invalid parameter {id}: use $1, $2, ...")));
        };
        if n == 0 || n > 65_535 {
            return Err(ServeError::syntax(format!("invalid parameter {id}")));
        }
        if out.len() < n {
            out.resize(n, None);
        }
        out[n - 1] = t;
    }
    Ok(out)
}

/// Postgres finds `pg_catalog` tables without a schema; DataFusion looks in `public`, so name the schema.
fn qualify_catalog_tables(statement: &mut Statement, pg_tables: &std::collections::HashSet<&str>) {
    use datafusion::sql::sqlparser::ast::{Ident, ObjectNamePart, VisitMut, VisitorMut};
    use std::ops::ControlFlow;
    struct Q<'a> {
        tables: &'a std::collections::HashSet<&'a str>,
        ctes: std::collections::HashSet<String>,
    }
    impl VisitorMut for Q<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, q: &mut datafusion::sql::sqlparser::ast::Query) -> ControlFlow<()> {
            if let Some(with) = &q.with {
                for c in &with.cte_tables {
                    self.ctes.insert(c.alias.name.value.clone());
                }
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_relation(&mut self, name: &mut datafusion::sql::sqlparser::ast::ObjectName) -> ControlFlow<()> {
            if let [ObjectNamePart::Identifier(id)] = name.0.as_slice()
                && self.tables.contains(id.value.as_str())
                && !self.ctes.contains(&id.value)
            {
                name.0.insert(0, ObjectNamePart::Identifier(Ident::new("pg_catalog")));
            }
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Q {
        tables: pg_tables,
        ctes: Default::default(),
    });
}

fn statement_kind(s: &Statement) -> String {
    let text = s.to_string();
    text.split_whitespace()
        .next()
        .unwrap_or("this statement")
        .to_uppercase()
}

fn first_line(m: &str) -> String {
    m.lines().next().unwrap_or(m).to_string()
}
