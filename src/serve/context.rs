//! The DataFusion session pull queries are planned in, rebuilt when Weir's catalog changes.
//!
//! A [`Snapshot`] holds one `SessionContext` with catalog `weir`: schema `public` (also reachable as `PUBLIC`, its
//! upper-cased spelling) with a table per source, and schemas `pg_catalog` and `information_schema` built from the
//! same sources. Queries share the snapshot until the catalog's sources differ from the ones it was built from.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::catalog::{
    CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider, SchemaProvider, TableProvider,
};
use datafusion::common::Result as DfResult;
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::planner::TypePlanner;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::sqlparser::ast::{self, ObjectNamePart};

use super::error::ServeError;
use super::pg_catalog::{self, CatalogInput};
use super::pg_functions::{self, FunctionData};
use super::relations::{self, PG_CATALOG_NAMESPACE, PUBLIC_NAMESPACE, Relation};
use super::scan::ScanSpec;
use super::source_table::SourceTable;
use super::view::{ViewCatalog, ViewTable};
use crate::catalog::{Catalog, SourceDef};
use crate::engine::Engine;
use crate::plan::session::KsqlTypePlanner;

/// The catalog name DataFusion sees.
pub const CATALOG: &str = "weir";

/// One planning session over one version of the catalog.
pub struct Snapshot {
    /// The sources it was built from, to tell when it is stale.
    pub defs: Vec<SourceDef>,
    pub ctx: SessionContext,
    /// Weir's relations and the catalog's own tables.
    pub relations: Vec<Relation>,
    /// The sources read from their topics, which have pseudo-columns (for the wildcard rule).
    pub sources: HashSet<String>,
}

impl Snapshot {
    /// Builds the session for the engine's current catalog.
    pub fn build(engine: &Engine, views: Option<&Arc<dyn ViewCatalog>>) -> Result<Snapshot, ServeError> {
        let catalog = engine.catalog();
        let defs: Vec<SourceDef> = catalog.sources().cloned().collect();
        let oids = relations::assign_oids(defs.iter().map(|d| d.name.as_str()));
        let mut weir_relations: Vec<Relation> = Vec::with_capacity(defs.len());
        // Sources read from their topics, which have the pseudo-columns.
        let mut with_pseudo_columns = HashSet::new();
        let timestamp_planner = crate::plan::new_session_state();
        let weir_schema = Arc::new(MemorySchemaProvider::new());
        for def in &defs {
            let oid = oids.get(&def.name).copied().unwrap_or(0);
            let view = views.and_then(|v| v.view(def));
            weir_relations.push(match &view {
                Some(v) => Relation::of_view(def, oid, &v.schema()),
                None => {
                    with_pseudo_columns.insert(def.name.clone());
                    Relation::of_source(def, oid)
                }
            });
            let table: Arc<dyn TableProvider> = match view {
                Some(view) => Arc::new(ViewTable::new(view)),
                None => Arc::new(SourceTable::new(
                    ScanSpec {
                        source: def.clone(),
                        timestamp: event_time(&timestamp_planner, &catalog, def),
                        batch_size: engine.config().processing.batch_size,
                    },
                    engine.topics().clone(),
                )),
            };
            weir_schema.register_table(def.name.clone(), table)?;
        }
        drop(catalog);

        let mut all_relations = pg_catalog::catalog_relations();
        all_relations.append(&mut weir_relations);
        let settings: Vec<(&str, String)> = super::settings::DEFAULTS
            .iter()
            .map(|(n, v)| (*n, v.to_string()))
            .collect();
        let input = CatalogInput {
            relations: &all_relations,
            database: CATALOG,
            settings: &settings,
        };
        let pg_schema = Arc::new(MemorySchemaProvider::new());
        for (name, table) in pg_catalog::pg_catalog_tables(&input)? {
            pg_schema.register_table(name.to_string(), table)?;
        }
        let info_schema = Arc::new(MemorySchemaProvider::new());
        for (name, table) in pg_catalog::information_schema_tables(&input)? {
            info_schema.register_table(name.to_string(), table)?;
        }
        let weir_catalog = Arc::new(MemoryCatalogProvider::new());
        weir_catalog.register_schema("public", weir_schema.clone())?;
        weir_catalog.register_schema("PUBLIC", weir_schema)?;
        weir_catalog.register_schema("pg_catalog", pg_schema)?;
        weir_catalog.register_schema("information_schema", info_schema)?;

        let data = Arc::new(FunctionData {
            visible: all_relations
                .iter()
                .filter(|r| r.namespace == PUBLIC_NAMESPACE || r.namespace == PG_CATALOG_NAMESPACE)
                .map(|r| r.oid)
                .collect(),
            view_definitions: all_relations
                .iter()
                .filter_map(|r| r.definition.clone().map(|d| (r.oid, d)))
                .collect(),
            relations: all_relations
                .iter()
                .map(|r| (r.namespace, r.name.clone(), r.oid))
                .collect(),
        });
        let ctx = SessionContext::new_with_state(session_state(data));
        ctx.register_catalog(CATALOG, weir_catalog);
        Ok(Snapshot {
            sources: with_pseudo_columns,
            defs,
            ctx,
            relations: all_relations,
        })
    }

    /// Whether the engine's catalog still has exactly the sources this snapshot was built from.
    pub fn is_current(&self, catalog: &Catalog) -> bool {
        let mut count = 0;
        for (i, def) in catalog.sources().enumerate() {
            count += 1;
            if self.defs.get(i) != Some(def) {
                return false;
            }
        }
        count == self.defs.len()
    }

    /// The OID of the relation a `regclass` literal names: quoted parts match exactly, unquoted ones ignore case.
    pub fn relation_oid(&self, parts: &[(String, bool)]) -> Option<i64> {
        let (name, schema) = match parts {
            [name] => (name, None),
            [schema, name] => (name, Some(schema)),
            [_, schema, name] => (name, Some(schema)),
            _ => return None,
        };
        let namespace = match schema {
            None => None,
            Some((s, _)) => Some(match s.to_lowercase().as_str() {
                "pg_catalog" => PG_CATALOG_NAMESPACE,
                "public" => PUBLIC_NAMESPACE,
                "information_schema" => relations::INFORMATION_SCHEMA_NAMESPACE,
                _ => return None,
            }),
        };
        let matches = |r: &&Relation| {
            let name_ok = if name.1 {
                r.name == name.0
            } else {
                r.name.eq_ignore_ascii_case(&name.0)
            };
            let ns_ok = match namespace {
                Some(ns) => r.namespace == ns,
                None => r.namespace == PUBLIC_NAMESPACE || r.namespace == PG_CATALOG_NAMESPACE,
            };
            name_ok && ns_ok
        };
        // An exact match wins over a case-insensitive one.
        self.relations
            .iter()
            .filter(matches)
            .min_by_key(|r| r.name != name.0)
            .map(|r| r.oid)
    }
}

/// The source's event-time expression (its `TIMESTAMP` column), compiled the way push queries compile it.
fn event_time(
    state: &datafusion::execution::context::SessionState,
    catalog: &Catalog,
    def: &SourceDef,
) -> Option<Arc<dyn PhysicalExpr>> {
    def.timestamp.as_ref()?;
    if def.name.contains('`') {
        return None;
    }
    let sql = format!("SELECT * FROM `{}`;", def.name);
    let parsed = crate::sql::parse(&sql).ok()?;
    let crate::sql::ast::Statement::Select(query) = &parsed.first()?.statement else {
        return None;
    };
    match crate::plan::plan_transient(state, catalog, query) {
        Ok(plan) => plan.source_timestamp,
        Err(e) => {
            tracing::debug!(source = %def.name, "no event-time expression for pull scans: {e}");
            None
        }
    }
}

/// DataFusion configured as Weir plans expressions (no identifier folding, decimals for `1.5`, ksqlDB functions),
/// plus the Postgres catalog functions and types.
fn session_state(data: Arc<FunctionData>) -> datafusion::execution::context::SessionState {
    let mut config = SessionConfig::new()
        .with_default_catalog_and_schema(CATALOG, "public")
        .with_create_default_catalog_and_schema(false)
        .with_information_schema(false);
    {
        let options = config.options_mut();
        options.sql_parser.enable_ident_normalization = false;
        options.sql_parser.map_string_types_to_utf8view = false;
        options.sql_parser.parse_float_as_decimal = true;
        options.execution.time_zone = None;
        // Catalog tables and topic scans are small and in memory; one partition keeps plans simple and cheap.
        options.execution.target_partitions = 1;
    }
    let mut builder = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_type_planner(Arc::new(PgTypePlanner));
    builder = crate::functions::install(builder);
    builder
        .scalar_functions()
        .get_or_insert_with(Vec::new)
        .extend(pg_functions::all(data));
    builder.build()
}

/// Plans Postgres type names DataFusion does not know: OID aliases (`regclass`, `oid`, ...) as `BIGINT`, `name`,
/// `"char"` and JSON types as text, `pg_catalog.`-qualified names as their base type; everything else as ksqlDB or
/// DataFusion would.
#[derive(Debug, Default)]
struct PgTypePlanner;

impl TypePlanner for PgTypePlanner {
    fn plan_type_field(&self, sql_type: &ast::DataType) -> DfResult<Option<FieldRef>> {
        let field = |dt: DataType| Ok(Some(Arc::new(Field::new("", dt, true))));
        match sql_type {
            ast::DataType::Regclass => return field(DataType::Int64),
            ast::DataType::JSON | ast::DataType::JSONB => return field(DataType::Utf8),
            ast::DataType::Custom(name, modifiers) if modifiers.is_empty() => {
                let last = match name.0.last() {
                    Some(ObjectNamePart::Identifier(id)) => id.value.to_ascii_lowercase(),
                    _ => return Ok(None),
                };
                let dt = match last.as_str() {
                    "regclass" | "regtype" | "regproc" | "regprocedure" | "regnamespace" | "regrole" | "regoper"
                    | "regoperator" | "oid" | "xid" | "cid" => Some(DataType::Int64),
                    "name" | "char" | "bpchar" | "citext" | "json" | "jsonb" | "uuid" | "inet" | "text" | "varchar" => {
                        Some(DataType::Utf8)
                    }
                    "int2" => Some(DataType::Int16),
                    "int4" => Some(DataType::Int32),
                    "int8" => Some(DataType::Int64),
                    "float4" => Some(DataType::Float32),
                    "float8" => Some(DataType::Float64),
                    "bool" => Some(DataType::Boolean),
                    _ => None,
                };
                if let Some(dt) = dt {
                    return field(dt);
                }
            }
            _ => {}
        }
        KsqlTypePlanner.plan_type_field(sql_type)
    }
}

/// Settings `current_setting()` reads, by lower-case name.
pub fn settings_map(overrides: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = super::settings::DEFAULTS
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
        .collect();
    for (k, v) in overrides {
        m.insert(k.to_ascii_lowercase(), v.clone());
    }
    m
}
